"""Watch it learn: the training replay's slider re-reads the drawing with the network as it was
at each snapshot of its training, and the whole page follows (mouse, keyboard, touch, play, reset)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from harness.browser import PHONE_390, LiveServer, get_json, serious_violations
from harness.ci import skip_or_fail
from harness.page_predictions import TALL
from harness.replay_page import (
    SLIDER,
    ReplayLog,
    as_page_writes,
    ask_again,
    drag_slider,
    open_replay,
    shown_weights,
    tiny_replay_weights,
    touch_slider,
    wait_for_snapshot,
)
from harness.strokes import SEVEN
from model import checkpoint

LAST = 3  # the tiny replay has four snapshots
# The backward pass's lesson is on screen (it dims the last one while the next is on its way).
BACKWARD_SHOWN = "() => document.querySelector('[data-testid=\"backward\"]').dataset.state === 'shown'"


@pytest.fixture(scope="module")
def replay_server(tmp_path_factory, tiny_weights, tiny_network) -> Iterator[LiveServer]:
    """The tiny model with a training replay of four snapshots (no training run needed)."""
    server = LiveServer(tiny_replay_weights(tmp_path_factory.mktemp("replay"), tiny_weights, tiny_network))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def trained_replay_server() -> Iterator[LiveServer]:
    """The committed weights, whose training replay is committed beside them."""
    card = checkpoint.load_card(checkpoint.DEFAULT_WEIGHTS) if checkpoint.DEFAULT_WEIGHTS.is_file() else {}
    if not card.get("replay"):
        skip_or_fail("the committed weights have no training replay (python -m model.train writes it)")
    server = LiveServer(checkpoint.DEFAULT_WEIGHTS)
    yield server
    server.stop()


def open_and_draw(digit_page, server) -> ReplayLog:
    """The page on a viewport showing every part, a 7 drawn and answered; the log of /predict."""
    digit_page.page.set_viewport_size(TALL)
    log = ReplayLog(digit_page.page)
    digit_page.open(server)
    digit_page.read(SEVEN)
    wait_for_snapshot(digit_page, LAST)
    return log


def shown_probabilities(digit_page) -> list[float]:
    bars = sorted(digit_page.probabilities().items())
    return [float(text.split()[-1].strip("<>%")) / 100 for _, text in bars]


def assert_page_shows(digit_page, result: dict) -> None:
    """The answer card shows ``result``: its digit and each probability (to the page's rounding)."""
    assert digit_page.prediction() == str(result["digit"])
    for shown, sent in zip(shown_probabilities(digit_page), result["probabilities"], strict=True):
        assert math.isclose(shown, sent, rel_tol=0.05, abs_tol=1e-6), (shown, sent)


def test_the_slider_lists_every_snapshot_and_starts_on_the_trained_network(digit_page, replay_server):
    digit_page.open(replay_server)
    replay = get_json(replay_server, "/api/model")["replay"]
    slider = digit_page.page.locator(SLIDER)
    assert digit_page.by_test_id("replay").is_visible()
    assert (slider.get_attribute("min"), slider.get_attribute("max")) == ("0", str(len(replay) - 1))
    assert slider.input_value() == str(LAST)
    label = digit_page.by_test_id("replay-position").text_content()
    last = replay[-1]
    assert f"step {last['step']}" in label and f"{last['test_accuracy'] * 100:.1f}% on test digits" in label
    assert slider.get_attribute("aria-valuetext") == label
    assert digit_page.by_test_id("replay-reset").is_disabled()


def test_dragging_the_slider_rereads_the_drawing_with_each_snapshot(digit_page, replay_server):
    page = digit_page.page
    log = open_and_draw(digit_page, replay_server)
    served = log.newest()["result"]

    drag_slider(page, LAST, 0)
    wait_for_snapshot(digit_page, 0)
    newest = log.newest()
    assert newest["query"]["snapshot"] == ["0"]
    again = ask_again(replay_server, newest, "snapshot=0&include=filters")
    assert newest["result"]["probabilities"] == again["probabilities"]
    assert_page_shows(digit_page, again)
    # At the random start every digit is about as likely as any other.
    assert max(again["probabilities"]) < 0.3
    assert max(shown_probabilities(digit_page)) < 0.3
    assert again["probabilities"] != served["probabilities"]
    label = digit_page.by_test_id("replay-position").text_content()
    assert label.startswith("step 0 (random start) · epoch 0")
    # The network's input stays: only the network changed.
    assert newest["result"]["input"] == served["input"]
    # The filters are the snapshot's: the zoom's weights table shows filter 1 at that moment.
    weights = again["filters"]["weights"][0]
    assert shown_weights(page) == [[as_page_writes(w) for w in row] for row in weights]
    # The last answer on screen belongs to the last position dragged to: the newest request won.
    assert log.snapshots_asked()[-1] == 0


def test_arrow_keys_step_through_the_snapshots(digit_page, replay_server):
    page = digit_page.page
    log = open_and_draw(digit_page, replay_server)
    page.locator(SLIDER).focus()
    page.keyboard.press("Home")
    wait_for_snapshot(digit_page, 0)
    before = shown_weights(page)
    page.keyboard.press("ArrowRight")
    wait_for_snapshot(digit_page, 1)
    entry = log.newest()
    assert entry["query"]["snapshot"] == ["1"]
    again = ask_again(replay_server, entry, "snapshot=1&include=filters")
    assert_page_shows(digit_page, again)
    assert shown_weights(page) != before  # the filters moved with training
    page.keyboard.press("End")
    wait_for_snapshot(digit_page, LAST)
    assert "snapshot" not in log.newest()["query"]  # the served network, as without the replay
    assert digit_page.by_test_id("replay-reset").is_disabled()


def test_reset_brings_back_the_trained_network(digit_page, replay_server):
    page = digit_page.page
    log = open_and_draw(digit_page, replay_server)
    served = log.newest()["result"]
    page.locator(SLIDER).focus()
    page.keyboard.press("Home")
    wait_for_snapshot(digit_page, 0)

    digit_page.by_test_id("replay-reset").click()
    wait_for_snapshot(digit_page, LAST)
    assert page.locator(SLIDER).input_value() == str(LAST)
    assert log.newest()["result"]["probabilities"] == served["probabilities"]
    assert_page_shows(digit_page, served)
    weights = get_json(replay_server, "/api/model")["filters"]["after"][0]
    assert shown_weights(page) == [[as_page_writes(w) for w in row] for row in weights]


def test_play_runs_from_the_random_start_to_the_trained_network(digit_page, replay_server):
    page = digit_page.page
    log = open_and_draw(digit_page, replay_server)
    served = log.newest()["result"]
    play = digit_page.by_test_id("replay-play")
    play.click()
    assert play.get_attribute("aria-pressed") == "true"
    digit_page.wait_until("() => document.querySelector('[data-testid=\"replay-play\"]')"
                          ".getAttribute('aria-pressed') === 'false'", timeout=30_000)
    wait_for_snapshot(digit_page, LAST)
    asked = log.snapshots_asked()
    # Every snapshot in order from the random start, and the served network last.
    assert asked[asked.index(0):] == [0, 1, 2, None]
    assert log.newest()["result"]["probabilities"] == served["probabilities"]
    assert_page_shows(digit_page, served)
    assert page.locator(SLIDER).input_value() == str(LAST)


def test_play_can_be_stopped(digit_page, replay_server):
    open_and_draw(digit_page, replay_server)
    play = digit_page.by_test_id("replay-play")
    play.click()
    wait_for_snapshot(digit_page, 0)
    play.click()
    assert play.get_attribute("aria-pressed") == "false"
    stopped_at = digit_page.page.locator(SLIDER).input_value()
    digit_page.page.wait_for_timeout(2500)  # longer than a step of play
    assert digit_page.page.locator(SLIDER).input_value() == stopped_at == "0"


def test_the_backward_pass_learns_with_the_network_of_the_chosen_moment(digit_page, replay_server):
    page = digit_page.page
    asked = []
    page.on("request", lambda request: "include=gradients" in request.url and asked.append(request.url))
    open_and_draw(digit_page, replay_server)
    digit_page.wait_until(BACKWARD_SHOWN)
    served = len(asked)
    assert served and all("snapshot=" not in url for url in asked)
    page.locator(SLIDER).focus()
    page.keyboard.press("Home")
    wait_for_snapshot(digit_page, 0)  # the backward pass is asked again for the answer on screen
    digit_page.wait_until(BACKWARD_SHOWN)
    assert asked[served:] and all("snapshot=0" in url for url in asked[served:])


@pytest.mark.browser_context_args(**PHONE_390)
def test_a_finger_moves_the_slider_on_a_phone(digit_page, replay_server):
    page = digit_page.page
    log = ReplayLog(page)
    digit_page.open(replay_server)
    digit_page.draw_by_touch(SEVEN)
    assert digit_page.wait_for_answer() == "answer"
    open_replay(page)  # closed at first on a phone, like the page's other parts

    touch_slider(page, LAST, 0)
    wait_for_snapshot(digit_page, 0)
    again = ask_again(replay_server, log.newest(), "snapshot=0")
    assert_page_shows(digit_page, again)
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    box = page.locator(SLIDER).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 32
    assert serious_violations(page) == []


def test_the_replay_has_no_serious_accessibility_violations(digit_page, replay_server):
    page = digit_page.page
    open_and_draw(digit_page, replay_server)
    page.locator(SLIDER).focus()
    page.keyboard.press("Home")
    wait_for_snapshot(digit_page, 0)
    # The backward pass dims its lesson while the new moment's is on its way: checked once shown.
    digit_page.wait_until(BACKWARD_SHOWN)
    assert serious_violations(page) == []


def test_without_a_replay_the_part_is_hidden(digit_page, tiny_server):
    digit_page.open(tiny_server)
    assert not digit_page.by_test_id("replay").is_visible()
    digit_page.read(SEVEN)
    assert digit_page.predict_requests  # the page reads drawings as before


def test_the_trained_network_learned_to_read_the_seven_from_a_random_start(digit_page, trained_replay_server):
    page = digit_page.page
    log = ReplayLog(page)
    digit_page.open(trained_replay_server)
    assert digit_page.read(SEVEN) == "7"
    page.locator(SLIDER).focus()
    page.keyboard.press("Home")
    wait_for_snapshot(digit_page, 0)
    start = log.newest()["result"]
    assert max(start["probabilities"]) < 0.3  # random weights: every digit about alike
    assert start["verdict"] in ("digit", "unsure") and start["verdict_scores"]["novelty"] is None
    assert_page_shows(digit_page, start)
    page.keyboard.press("End")
    last = int(page.locator(SLIDER).get_attribute("max"))
    wait_for_snapshot(digit_page, last)
    assert digit_page.prediction() == "7"


def screenshot_at_snapshot_two(digit_page, server, name: str) -> None:
    """Draw a 7, step back to the third snapshot and capture the replay and the whole page."""
    page = digit_page.page
    digit_page.open(server)
    digit_page.read(SEVEN)
    open_replay(page)
    page.locator(SLIDER).focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_for_snapshot(digit_page, 2)
    digit_page.by_test_id("replay").scroll_into_view_if_needed()
    digit_page.screenshot(name, full_page=False)
    digit_page.screenshot(f"{name}-page")


def test_screenshots_of_the_replay_at_1280_px(digit_page, trained_replay_server):
    screenshot_at_snapshot_two(digit_page, trained_replay_server, "replay-1280")


@pytest.mark.browser_context_args(**PHONE_390)
def test_screenshots_of_the_replay_at_390_px(digit_page, trained_replay_server):
    screenshot_at_snapshot_two(digit_page, trained_replay_server, "replay-390")
