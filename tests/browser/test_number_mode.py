"""Number mode: the choice between one digit and a number, the wide pad, the number read, a box
over each digit found, and the chosen digit explained by the rest of the page — with the mouse,
the keyboard, a finger on a phone, and an upload.

Screenshots in number mode at 1280 and 390 px go to artifacts/screenshots/number-*.png.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from playwright.sync_api import Error as PlaywrightError

from harness.browser import PHONE_390, PHONE_CONTEXT, serious_violations, tap_until
from harness.number_pictures import number_on_paper, written_number
from harness.page_predictions import TALL, PredictionLog

FORTY_TWO = [4, 2]
NUMBER = '[data-testid="number"]'


def number_mode(digit_page, server, *, record: bool = True):
    """Open the page (recording the API's answers) and choose "A number" with the mouse."""
    if record:
        digit_page.record_predictions()
    digit_page.open(server)
    digit_page.page.get_by_role("radio", name="A number").check()
    assert digit_page.page.evaluate("document.getElementById('main').dataset.mode") == "number"


def pad_aspect(digit_page) -> float:
    box = digit_page.canvas_box()
    return box["width"] / box["height"]


def wait_for_number(digit_page, timeout: float = 10_000) -> str:
    """Wait until the number on screen belongs to the newest picture; return its state."""
    digit_page.wait_until(
        """() => {
            const n = document.querySelector('[data-testid="number"]').dataset;
            return n.requestedVersion !== undefined && n.requestedVersion === n.renderedVersion;
        }""",
        timeout=timeout,
    )
    digit_page.wait_for_answer()
    return digit_page.page.get_attribute(NUMBER, "data-state")


def number_read(digit_page) -> str:
    return digit_page.page.inner_text(f"{NUMBER} .number-digits")


def boxes(digit_page):
    return digit_page.by_test_id("digit-box")


def box_rects(digit_page) -> list[dict]:
    return [boxes(digit_page).nth(i).bounding_box() for i in range(boxes(digit_page).count())]


def stroke_rect(digit_page, strokes) -> dict:
    """The page-pixel box around the centre lines of ``strokes`` (fractions of the pad)."""
    box = digit_page.canvas_box()
    points = [digit_page.to_page(box, point) for stroke in strokes for point in stroke]
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return {"left": min(xs), "right": max(xs), "top": min(ys), "bottom": max(ys)}


def encloses(rect: dict, inner: dict, slack: float = 2.0) -> bool:
    return (
        rect["x"] - slack <= inner["left"]
        and inner["right"] <= rect["x"] + rect["width"] + slack
        and rect["y"] - slack <= inner["top"]
        and inner["bottom"] <= rect["y"] + rect["height"] + slack
    )


def write_forty_two(digit_page, *, touch: bool = False) -> list:
    """Write 4 then 2 (two separate strokes sets) on the pad; returns each digit's strokes."""
    aspect = pad_aspect(digit_page)
    strokes = written_number(FORTY_TWO, aspect)
    four, two = strokes[:2], strokes[2:]  # the 4 has two strokes, the 2 one
    for digit in (four, two):
        if touch:
            digit_page.draw_by_touch(digit)
        else:
            digit_page.draw(digit)
    return [four, two]


NEWEST_NUMBER = "window.__predictions.findLast((entry) => entry.url.includes('/predict/number'))"


def newest_number(digit_page) -> dict:
    """The newest /predict/number request the page sent ({url, result}), once answered (the
    backward pass's own requests to /predict are passed over)."""
    digit_page.wait_until(f"() => {NEWEST_NUMBER}?.result != null")
    return digit_page.page.evaluate(NEWEST_NUMBER)


def shown_digit(digit_page) -> dict:
    """The chosen digit's entry in the newest /predict/number answer."""
    answer = newest_number(digit_page)
    index = int(digit_page.page.get_attribute('[data-testid="digit-box"][aria-pressed="true"]', "data-index"))
    return answer["result"]["digits"][index]


# --- the choice and the pad ---------------------------------------------------------------------


def test_the_page_opens_in_one_digit_mode_with_its_square_pad(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)

    assert page.get_by_role("radio", name="One digit").is_checked()
    assert not page.get_by_role("radio", name="A number").is_checked()
    box = digit_page.canvas_box()
    assert box["width"] == pytest.approx(box["height"], abs=1)
    assert page.locator(NUMBER).is_hidden()
    assert boxes(digit_page).count() == 0


def test_arrow_keys_switch_the_mode_and_the_pad_widens_and_clears(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)
    digit_page.draw([[(0.3, 0.3), (0.7, 0.7)]])
    digit_page.wait_for_answer()

    page.get_by_role("radio", name="One digit").focus()
    page.keyboard.press("ArrowRight")

    assert page.get_by_role("radio", name="A number").is_checked()
    assert page.evaluate("document.activeElement.value") == "number"
    assert pad_aspect(digit_page) == pytest.approx(2.5, abs=0.05)
    assert page.locator(NUMBER).is_visible()
    assert digit_page.wait_for_answer() == "empty"  # a new, blank pad
    assert page.evaluate("document.querySelector('[data-testid=\"draw-canvas\"]').width") > 2 * page.evaluate(
        "document.querySelector('[data-testid=\"draw-canvas\"]').height"
    )
    page.keyboard.press("ArrowLeft")
    assert page.get_by_role("radio", name="One digit").is_checked()
    assert pad_aspect(digit_page) == pytest.approx(1, abs=0.02)


# --- mouse --------------------------------------------------------------------------------------


def test_mouse_written_42_is_read_with_a_box_over_each_digit(digit_page, trained_server):
    page = digit_page.page
    number_mode(digit_page, trained_server)

    four, two = write_forty_two(digit_page)

    assert wait_for_number(digit_page) == "answer"
    assert number_read(digit_page) == "42"
    assert page.get_attribute(NUMBER, "data-verdict") in {"digit", "unsure", "not_a_digit"}
    assert page.inner_text(f"{NUMBER} .number-verdict") != ""
    assert boxes(digit_page).count() == 2
    labels = [boxes(digit_page).nth(i).inner_text() for i in range(2)]
    assert [label.rstrip("?") for label in labels] == ["4", "2"]
    assert boxes(digit_page).nth(0).get_attribute("aria-label").startswith("Digit 1 of 2: 4")
    assert boxes(digit_page).nth(1).get_attribute("aria-label").startswith("Digit 2 of 2: 2")
    # Each box lies over its own digit: the 4 in the left half, the 2 in the right.
    pad = digit_page.canvas_box()
    middle = pad["x"] + pad["width"] / 2
    left, right = box_rects(digit_page)
    assert left["x"] + left["width"] <= middle <= right["x"]
    assert encloses(left, stroke_rect(digit_page, four))
    assert encloses(right, stroke_rect(digit_page, two))
    # The first digit is the one explained; the number stays on screen.
    assert boxes(digit_page).nth(0).get_attribute("aria-pressed") == "true"
    assert digit_page.prediction() == "4"
    assert page.inner_text("#input-source") == "Digit 1 of 2 of your drawing"


def test_clicking_a_box_label_explains_that_digit_everywhere(digit_page, trained_server):
    number_mode(digit_page, trained_server)
    _, two = write_forty_two(digit_page)
    wait_for_number(digit_page)

    boxes(digit_page).nth(1).locator(".digit-box-label").click()

    assert boxes(digit_page).nth(1).get_attribute("aria-pressed") == "true"
    assert boxes(digit_page).nth(0).get_attribute("aria-pressed") == "false"
    assert digit_page.prediction() == "2"
    assert digit_page.network_input() == np.asarray(shown_digit(digit_page)["input"]).ravel().tolist()
    assert number_read(digit_page) == "42"
    # Drawing again keeps the chosen digit while it exists: the 2's base traced once more.
    digit_page.draw([two[0][-2:]])
    wait_for_number(digit_page)
    assert number_read(digit_page) == "42"
    assert boxes(digit_page).nth(1).get_attribute("aria-pressed") == "true"


# --- keyboard -----------------------------------------------------------------------------------


def test_keyboard_only_switches_mode_reaches_a_box_and_chooses_it(digit_page, trained_server):
    page = digit_page.page
    digit_page.record_predictions()
    digit_page.open(trained_server)

    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the mode choice
    assert page.evaluate("document.activeElement.name") == "mode"
    page.keyboard.press("ArrowRight")
    assert page.get_by_role("radio", name="A number").is_checked()
    write_forty_two(digit_page)  # drawing itself takes a pointer
    wait_for_number(digit_page)

    page.keyboard.press("Tab")  # from the mode choice to the first box
    assert page.evaluate("document.activeElement.dataset.testid") == "digit-box"
    assert page.evaluate("document.activeElement.dataset.index") == "0"
    page.keyboard.press("ArrowRight")  # arrows move between the boxes
    assert page.evaluate("document.activeElement.dataset.index") == "1"
    assert boxes(digit_page).nth(0).get_attribute("aria-pressed") == "true"  # moving does not choose
    page.keyboard.press("Enter")

    assert boxes(digit_page).nth(1).get_attribute("aria-pressed") == "true"
    assert digit_page.prediction() == "2"
    chosen = shown_digit(digit_page)
    assert digit_page.network_input() == np.asarray(chosen["input"]).ravel().tolist()
    assert page.inner_text("#input-source") == "Digit 2 of 2 of your drawing"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Space")
    assert digit_page.prediction() == "4"


# --- phone --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "width",
    [
        pytest.param(390, marks=pytest.mark.browser_context_args(**PHONE_390)),
        pytest.param(360, marks=pytest.mark.browser_context_args(**PHONE_CONTEXT)),
    ],
)
def test_on_a_phone_the_wide_pad_fits_and_a_finger_writes_a_number(digit_page, trained_server, width):
    page = digit_page.page
    digit_page.open(trained_server)
    assert page.viewport_size["width"] == width
    number = page.get_by_role("radio", name="A number")
    assert tap_until(number, number.is_checked)
    pad = digit_page.canvas_box()
    assert pad["x"] >= 0 and pad["x"] + pad["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no horizontal scroll
    assert pad["width"] / pad["height"] == pytest.approx(2.5, abs=0.05)

    four, two = write_forty_two(digit_page, touch=True)

    assert wait_for_number(digit_page) == "answer"
    assert number_read(digit_page) == "42"
    left, right = box_rects(digit_page)
    assert encloses(left, stroke_rect(digit_page, four))
    assert encloses(right, stroke_rect(digit_page, two))
    second = boxes(digit_page).nth(1)

    def chosen() -> bool:
        return second.get_attribute("aria-pressed") == "true"

    assert tap_until(second.locator(".digit-box-label"), chosen)
    assert digit_page.prediction() == "2"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width == 390:
        assert serious_violations(page) == []
        digit_page.screenshot("number-390", full_page=False)


# --- upload -------------------------------------------------------------------------------------


def test_an_uploaded_number_gets_its_boxes_over_the_preview(digit_page, trained_server):
    page = digit_page.page
    number_mode(digit_page, trained_server)

    digit_page.by_test_id("upload").set_input_files(
        files=[{"name": "number.png", "mimeType": "image/png", "buffer": number_on_paper([3, 5, 8], seed=4)}]
    )

    assert wait_for_number(digit_page) == "answer"
    answer = newest_number(digit_page)["result"]
    assert number_read(digit_page) == answer["number"]
    assert len(answer["number"]) == 3
    digit_page.wait_until("() => document.getElementById('upload-preview').complete")
    # Where each box should be: the image's own pixels, fitted into the preview (object-fit: contain).
    preview = page.evaluate(
        """() => {
            const img = document.getElementById("upload-preview");
            const r = img.getBoundingClientRect();
            return {x: r.x, y: r.y, width: r.width, height: r.height,
                    naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight};
        }"""
    )
    scale = min(preview["width"] / preview["naturalWidth"], preview["height"] / preview["naturalHeight"])
    left = preview["x"] + (preview["width"] - preview["naturalWidth"] * scale) / 2
    top = preview["y"] + (preview["height"] - preview["naturalHeight"] * scale) / 2
    for rect, digit in zip(box_rects(digit_page), answer["digits"], strict=True):
        x, y, w, h = digit["box"]
        assert rect["x"] == pytest.approx(left + x * scale, abs=1.5)
        assert rect["y"] == pytest.approx(top + y * scale, abs=1.5)
        assert rect["width"] == pytest.approx(w * scale, abs=1.5)
        assert rect["height"] == pytest.approx(h * scale, abs=1.5)
    assert page.inner_text("#input-source") == "Digit 1 of 3 of your image"
    digit_page.screenshot("number-upload-1280", full_page=False)


# --- errors -------------------------------------------------------------------------------------


def test_too_many_digits_shows_the_reason_and_what_to_do(digit_page, trained_server):
    page = digit_page.page
    digit_page.allow_errors(r"422")
    number_mode(digit_page, trained_server)

    digit_page.by_test_id("upload").set_input_files(
        files=[{"name": "long.png", "mimeType": "image/png", "buffer": number_on_paper([1, 3] * 7, seed=2)}]
    )

    assert wait_for_number(digit_page) == "error"
    assert "Write at most 12 digits." in page.inner_text(NUMBER)
    assert "12" in page.inner_text("#error")
    assert boxes(digit_page).count() == 0


def doubt_the_second_digit(verdict: str):
    """A route handler that passes /predict/number through and answers as if the network had
    read the second digit with ``verdict``, the number's verdict following (the least sure).
    Answers with fewer digits (the 4 alone, while it is drawn) and refusals pass unchanged."""

    def handle(route) -> None:
        try:
            response = route.fetch()
        except Exception:  # the page aborted the request: a newer drawing replaced it
            route.abort()
            return
        answer = response.json()
        if len(answer.get("digits", [])) >= 2:
            answer["digits"][1]["verdict"] = verdict
            answer["verdict"] = verdict
        with contextlib.suppress(PlaywrightError):  # the test ended and closed the page meanwhile
            route.fulfill(response=response, json=answer)

    return handle


@pytest.mark.parametrize(
    "verdict, number_words, box_words",
    [
        ("unsure", "unsure of digit 2: 2 or", "unsure"),
        ("not_a_digit", "Not a digit? — digit 2", "not a digit"),
    ],
)
def test_a_doubtful_digit_is_named_in_the_numbers_verdict_and_on_its_box(
    digit_page, trained_server, verdict, number_words, box_words
):
    page = digit_page.page
    page.route("**/predict/number*", doubt_the_second_digit(verdict))
    number_mode(digit_page, trained_server, record=False)

    write_forty_two(digit_page)

    assert wait_for_number(digit_page) == "answer"
    assert number_words in page.inner_text(NUMBER)
    first, second = (boxes(digit_page).nth(i).get_attribute("aria-label") for i in range(2))
    assert box_words in second and box_words not in first


# --- accessibility and looks -------------------------------------------------------------------


def test_number_mode_is_axe_clean_and_looks_right_at_1280(digit_page, trained_server):
    page = digit_page.page
    number_mode(digit_page, trained_server)
    write_forty_two(digit_page)
    wait_for_number(digit_page)
    boxes(digit_page).nth(0).focus()

    assert serious_violations(page) == []
    digit_page.screenshot("number-1280", full_page=False)


# --- inside the network -------------------------------------------------------------------------


def test_the_chosen_digit_is_the_one_inside_the_network_and_the_backward_pass_learns_from(
    digit_page, trained_server
):
    page = digit_page.page
    page.set_viewport_size(TALL)  # every part inside the network on screen: each answer carries all
    log = PredictionLog(page)  # the backward pass's lessons, from /predict
    number_mode(digit_page, trained_server)
    write_forty_two(digit_page)
    wait_for_number(digit_page)
    number_query = newest_number(digit_page)["url"]
    for part in ("steps", "feature_maps", "layers", "saliency"):
        assert part in number_query

    boxes(digit_page).nth(1).locator(".digit-box-label").click()

    chosen = shown_digit(digit_page)
    assert digit_page.prediction() == "2"
    for part in ("steps", "conv", "path", "saliency"):
        digit_page.wait_until(f"() => document.querySelector('[data-part={part}]').dataset.state === 'shown'")
    assert page.locator('[data-testid="preprocess-steps"] > li').count() == len(chosen["steps"])
    assert page.is_enabled('input[name="lab-source"][value="drawing"]')  # the conv lab has the digit
    # The backward pass learns from the chosen digit itself: its 28×28 input, sent to /predict.
    digit_page.wait_until(
        "() => { const b = document.querySelector('[data-testid=\"backward\"]').dataset; "
        "return b.state === 'shown' && b.label === '2'; }",
        timeout=20_000,
    )
    assert log.lessons[-1]["input"] == chosen["input"]
