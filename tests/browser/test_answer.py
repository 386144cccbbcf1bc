"""The answer card: the three verdicts, provisional answers while drawing, final answers after,
the probability bars' real values, and the prompts before the first drawing.

Screenshots of each state at 1280 and 390 px go to artifacts/screenshots/answer-*.png.
"""

from __future__ import annotations

import math
import re

import pytest

from harness.browser import PHONE_390, ZIGZAG
from harness.strokes import SEVEN

STATE = "document.querySelector('[data-testid=\"prediction\"]').dataset.state"


def state(digit_page) -> str | None:
    return digit_page.page.evaluate(STATE)


def announced(digit_page) -> str:
    return digit_page.page.inner_text("#announcer")


def hold_predictions(page) -> list:
    """Route /predict so that, once ``holding[0]`` is set, requests wait until released."""
    held: list = []
    holding = [False]

    def handle(route):
        if holding[0]:
            held.append(route)
        else:
            route.continue_()

    page.route("**/predict*", handle)
    return held, holding


def test_answer_is_provisional_while_the_mouse_is_down_and_final_once_the_strokes_answer_arrives(
    digit_page, trained_server
):
    page = digit_page.page
    held, holding = hold_predictions(page)
    digit_page.open(trained_server)

    digit_page.draw(SEVEN, lift=False)
    digit_page.wait_until("() => document.querySelector('[data-testid=\"prediction\"]').textContent !== ''")
    assert state(digit_page) == "provisional"
    assert page.locator(".reading").is_visible()
    assert announced(digit_page) == ""  # screen readers hear nothing while the pointer is down
    digit_page.screenshot("answer-provisional-1280", full_page=False)

    # The stroke ends; until ITS answer arrives, the answer on screen stays provisional.
    holding[0] = True
    page.mouse.up()
    page.wait_for_timeout(300)
    assert held, "the end of the stroke sent no request"
    assert state(digit_page) == "provisional"
    assert announced(digit_page) == ""

    holding[0] = False
    for route in held:
        route.continue_()
    assert digit_page.wait_for_answer() == "answer"
    assert state(digit_page) == "final"
    assert page.locator(".reading").is_hidden()
    assert digit_page.prediction() == "7"
    assert "reads 7" in announced(digit_page)


@pytest.mark.browser_context_args(**PHONE_390)
def test_answer_is_provisional_while_the_finger_is_down_on_a_phone(digit_page, trained_server):
    page = digit_page.page
    digit_page.open(trained_server)

    digit_page.draw_by_touch(SEVEN, lift=False)
    digit_page.wait_until("() => document.getElementById('pad-badge').textContent !== ''")
    assert state(digit_page) == "provisional"
    assert page.get_attribute("#pad-badge", "data-state") == "provisional"
    assert announced(digit_page) == ""
    digit_page.screenshot("answer-provisional-390", full_page=False)

    digit_page.lift_finger()
    assert digit_page.wait_for_answer() == "answer"
    assert state(digit_page) == "final"
    assert page.get_attribute("#pad-badge", "data-state") == "final"
    assert page.inner_text("#pad-badge").startswith("7")
    assert "reads 7" in announced(digit_page)


def test_a_second_stroke_makes_the_first_strokes_answer_provisional_again(digit_page, tiny_server):
    digit_page.open(tiny_server)
    digit_page.draw([SEVEN[0][:2]])
    assert digit_page.wait_for_answer() == "answer"
    assert state(digit_page) == "final"
    first = announced(digit_page)

    digit_page.draw([SEVEN[0][1:]], lift=False)

    assert state(digit_page) == "provisional"
    assert announced(digit_page) == first
    digit_page.page.mouse.up()
    assert digit_page.wait_for_answer() == "answer"
    assert state(digit_page) == "final"


def test_undo_and_redo_by_keyboard_give_final_answers(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)
    digit_page.draw([SEVEN[0][:2]])
    digit_page.draw([SEVEN[0][1:]])
    digit_page.wait_for_answer()

    for keys in ("Control+z", "Control+Shift+Z"):
        page.keyboard.press(keys)
        assert digit_page.wait_for_answer() == "answer"
        assert state(digit_page) == "final"


@pytest.mark.parametrize(
    ("strokes", "expected"), [(SEVEN, "digit"), (ZIGZAG, "not_a_digit")], ids=["seven", "zigzag"]
)
def test_verdict_on_the_page_is_the_apis_verdict(digit_page, trained_server, strokes, expected):
    page = digit_page.page
    digit_page.record_predictions()
    digit_page.open(trained_server)

    digit_page.draw(strokes)
    assert digit_page.wait_for_answer() == "answer"

    api = digit_page.newest_prediction()["result"]
    verdict = digit_page.by_test_id("verdict")
    assert api["verdict"] == expected
    assert verdict.get_attribute("data-verdict") == api["verdict"]
    assert digit_page.prediction() == str(api["digit"])
    headline = page.locator("#verdict-headline")
    if expected == "not_a_digit":
        assert headline.inner_text() == "Not a digit?"
        assert "best guess" in verdict.inner_text()
        # The best guess is muted: smaller and grey, not the accent colour of a real answer.
        size = page.locator(".verdict-digit").evaluate(
            "(digit) => parseFloat(getComputedStyle(digit).fontSize)"
        )
        assert size < 30
        assert page.inner_text("#pad-badge") == "not a digit?"
    else:
        assert headline.is_hidden()
        assert "best guess" not in verdict.inner_text()
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.locator("#answer").screenshot(path=str(digit_page.screenshot_path(f"answer-{expected}-{width}")))


def unsure_result(first: int, second: int) -> dict:
    probabilities = [0.0004] * 10
    probabilities[first], probabilities[second] = 0.5, 0.4968
    return {
        "digit": first,
        "probabilities": probabilities,
        "verdict": "unsure",
        "verdict_scores": {"novelty": 0.4, "margin": 0.0032},
    }


@pytest.mark.parametrize("width", [1280, 390])
def test_unsure_answer_reads_as_two_digits_with_a_question(digit_page, tiny_server, width):
    """The committed rule rarely says "unsure" for a drawing, so the card's class is given one."""
    page = digit_page.page
    page.set_viewport_size({"width": width, "height": 900})
    digit_page.open(tiny_server)

    page.evaluate(
        """async (result) => {
            const { AnswerCard } = await import("/static/js/answer.js");
            const $ = (s) => document.querySelector(s);
            new AnswerCard({
                card: $("#answer"), verdict: $('[data-testid="verdict"]'),
                digit: $('[data-testid="prediction"]'),
                headline: $("#verdict-headline"), alternative: $("#verdict-alternative"),
                confidence: $("#confidence"), note: $("#verdict-note"), emptyHint: $("#empty-hint"),
                error: $("#error"), announcer: $("#announcer"), badge: $("#pad-badge"),
                bars: [...document.querySelectorAll('[data-testid="probabilities"] > li')],
            }).show(result, { final: true });
        }""",
        unsure_result(7, 1),
    )

    verdict = digit_page.by_test_id("verdict")
    assert verdict.get_attribute("data-verdict") == "unsure"
    assert re.sub(r"\s+", " ", page.inner_text(".verdict-main")).strip() == "7 or 1?"
    assert "hesitates between 7 and 1" in verdict.inner_text()
    assert page.inner_text("#pad-badge") == "7 or 1?"
    assert "7 or 1?" in announced(digit_page)
    page.locator("#answer").screenshot(path=str(digit_page.screenshot_path(f"answer-unsure-{width}")))


def shown_percent(text: str) -> float:
    return float(text.split()[-1].strip("<>%"))


def test_bars_show_every_digits_real_probability(digit_page, trained_server):
    page = digit_page.page
    digit_page.record_predictions()
    digit_page.open(trained_server)
    digit_page.draw(SEVEN)
    digit_page.wait_for_answer()
    probabilities = digit_page.newest_prediction()["result"]["probabilities"]

    bars = digit_page.probabilities()
    widths = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="probabilities"] .bar-fill')]
                  .map((fill) => fill.getBoundingClientRect().width)"""
    )
    ranked = sorted(range(10), key=lambda d: probabilities[d], reverse=True)
    for d, p in enumerate(probabilities):
        text = bars[d].split()[-1]
        assert text != "100%"
        if p >= 0.9995:
            assert text == ">99.9%"
        elif p >= 1e-6:  # a real value, to two significant digits
            assert math.isclose(shown_percent(text), p * 100, rel_tol=0.05), (d, text, p)
        else:
            assert text == "<0.0001%"
    # The runner-up is marked and its bar is visible (a log scale), between the top and the rest.
    runner_up = page.locator('[data-testid="probabilities"] > li.second')
    assert runner_up.get_attribute("data-digit") == str(ranked[1])
    if probabilities[ranked[1]] >= 1e-5:
        assert widths[ranked[1]] > 5
    for a, b in zip(ranked, ranked[1:], strict=False):
        assert widths[a] >= widths[b]


def test_before_the_first_drawing_the_page_prompts_instead_of_showing_black_boxes(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)
    background = "getComputedStyle(document.querySelector('[data-testid=\"network-input\"]')).backgroundColor"

    assert page.locator(".pad-prompt").is_visible()
    assert page.locator("#input-placeholder").is_visible()
    assert page.evaluate(background) != "rgb(0, 0, 0)"
    assert page.locator("#empty-hint").is_visible()

    digit_page.draw(SEVEN)
    digit_page.wait_for_answer()
    assert page.locator(".pad-prompt").is_hidden()
    assert page.locator("#input-placeholder").is_hidden()
    assert page.evaluate(background) == "rgb(0, 0, 0)"

    page.keyboard.press("Escape")
    digit_page.wait_for_answer()
    assert page.locator(".pad-prompt").is_visible()
    assert page.locator("#input-placeholder").is_visible()


def test_a_failed_live_request_neither_alerts_nor_announces_while_drawing(digit_page, trained_server):
    page = digit_page.page
    digit_page.allow_errors(r"422")
    failing = [True]

    def handle(route):
        if failing[0]:
            route.fulfill(
                status=422,
                json={"error": {"code": "no_digit_found", "message": "No digit was found in the image."}},
            )
        else:
            route.continue_()

    page.route("**/predict*", handle)
    digit_page.open(trained_server)

    digit_page.draw(SEVEN, lift=False)
    page.wait_for_timeout(300)
    assert any(status.startswith("422") for status in digit_page.failed_responses)
    assert page.locator("#error").is_hidden()
    assert announced(digit_page) == ""

    failing[0] = False
    page.mouse.up()
    assert digit_page.wait_for_answer() == "answer"
    assert state(digit_page) == "final"
    assert "reads 7" in announced(digit_page)
