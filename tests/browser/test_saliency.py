"""Saliency: the 28×28 input with the signed gradient of the answer's score over it (orange
pushes toward the answer, blue away), and a second digit to compare with (mouse, keys, phone)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.browser import PHONE_390
from harness.page_predictions import TALL, PredictionLog, read_seven_on_a_tall_page
from harness.strokes import ONE, SEVEN

SALIENCY = '[data-testid="saliency"]'

# The saliency canvas's colours, 28 rows × 28 [r, g, b].
CANVAS_COLOURS = """() => {
    const c = document.querySelector('[data-testid="saliency"] canvas.saliency-map');
    const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    return Array.from({length: c.height}, (_, y) =>
        Array.from({length: c.width}, (_, x) => {
            const p = (y * c.width + x) * 4;
            return [data[p], data[p + 1], data[p + 2]];
        }));
}"""


def shown(page) -> dict:
    return page.eval_on_selector(SALIENCY, "(node) => ({...node.dataset})")


def check_colours_follow_the_signs(page, values: np.ndarray) -> None:
    """Pixels that push clearly are orange (red over blue) when positive, blue when negative, and
    the colour's strength follows |value|."""
    colours = np.asarray(page.evaluate(CANVAS_COLOURS), dtype=float)
    assert colours.shape == (28, 28, 3)
    largest = np.abs(values).max()
    assert largest > 0
    up = values > 0.35 * largest
    down = values < -0.35 * largest
    assert up.any() or down.any()
    assert (colours[up][:, 0] > colours[up][:, 2] + 40).all()
    assert (colours[down][:, 2] > colours[down][:, 0] + 40).all()
    # Both signs show somewhere: a gradient this size is never one-signed over 784 pixels.
    assert (values > 0).any() and (values < 0).any()
    strength = colours.max(axis=2) - colours.min(axis=2)
    assert np.corrcoef(strength.ravel(), np.abs(values).ravel())[0, 1] > 0.9


def test_saliency_colours_each_pixel_by_how_it_pushes_the_answer(digit_page, trained_server):
    digit_page.page.set_viewport_size(TALL)
    page = digit_page.page
    log = PredictionLog(page)
    digit_page.open(trained_server)
    assert digit_page.read(SEVEN) == "7"

    result = log.shown(digit_page)
    assert "saliency" in log.includes()[-1]
    assert result["saliency"]["target"] == 7 and result["saliency"]["versus"] is None
    assert shown(page) == {"testid": "saliency", "state": "shown", "target": "7", "versus": ""}
    check_colours_follow_the_signs(page, np.asarray(result["saliency"]["values"]))
    # The legend says which colour is which.
    legend = page.inner_text(f"{SALIENCY} .saliency-key")
    assert "Orange" in legend and "toward" in legend and "Blue" in legend and "away" in legend
    assert "score of 7" in page.inner_text(f"{SALIENCY} .saliency-caption")
    digit_page.screenshot("saliency-1280")


def test_choosing_a_digit_to_compare_with_asks_why_not_that_one(digit_page, trained_server):
    page = digit_page.page
    log = read_seven_on_a_tall_page(digit_page, trained_server)
    # Comparing the answer with itself means nothing.
    assert page.locator(f'{SALIENCY} input[name="versus"][value="7"]').is_disabled()

    page.locator(f'{SALIENCY} label:has(input[value="1"])').click()
    digit_page.wait_until("() => document.querySelector('[data-testid=saliency]').dataset.versus === '1'")

    assert log.queries[-1]["versus"] == ["1"]
    result = log.shown(digit_page)
    assert result["saliency"]["versus"] == 1
    check_colours_follow_the_signs(page, np.asarray(result["saliency"]["values"]))
    assert "score of 7 minus the score of 1" in page.inner_text(f"{SALIENCY} .saliency-caption")

    # Keyboard: the choices are one radio group; arrows move, and each choice asks again.
    page.locator(f'{SALIENCY} input[value="1"]').focus()
    page.keyboard.press("ArrowRight")
    digit_page.wait_until("() => document.querySelector('[data-testid=saliency]').dataset.versus === '2'")
    assert log.queries[-1]["versus"] == ["2"]
    page.locator(f'{SALIENCY} input[value=""]').check()
    digit_page.wait_until("() => document.querySelector('[data-testid=saliency]').dataset.versus === ''")
    assert "versus" not in log.queries[-1]


def test_when_the_answer_becomes_the_compared_digit_the_page_says_so(digit_page, trained_server):
    page = digit_page.page
    log = read_seven_on_a_tall_page(digit_page, trained_server)
    page.locator(f'{SALIENCY} label:has(input[value="1"])').click()
    digit_page.wait_until("() => document.querySelector('[data-testid=saliency]').dataset.versus === '1'")

    page.keyboard.press("Escape")
    assert digit_page.read(ONE) == "1"

    # Still asked with versus=1; the API compares 1 with nothing, and the page explains why.
    assert log.queries[-1]["versus"] == ["1"]
    assert log.shown(digit_page)["saliency"]["versus"] is None
    assert shown(page)["versus"] == "" and shown(page)["target"] == "1"
    assert "nothing to compare" in page.inner_text(f"{SALIENCY} .saliency-caption")
    assert page.locator(f'{SALIENCY} input[name="versus"][value="1"]').is_disabled()
    assert not page.locator(f'{SALIENCY} input[name="versus"][value="7"]').is_disabled()


def test_a_closed_saliency_part_asks_for_no_saliency(digit_page, trained_server):
    digit_page.page.set_viewport_size(TALL)
    page = digit_page.page
    log = PredictionLog(page)
    digit_page.open(trained_server)
    page.locator("#saliency-title").click()  # open on a desktop: close it
    assert page.locator('[data-part="saliency"]').get_attribute("open") is None

    digit_page.read(SEVEN)
    assert all("saliency" not in names for names in log.includes())
    assert shown(page)["state"] == "empty"

    # Opening it reads the drawing again, with the saliency.
    before = len(log.results)
    page.locator("#saliency-title").click()
    digit_page.wait_until("() => document.querySelector('[data-testid=saliency]').dataset.state === 'shown'")
    assert len(log.results) > before and "saliency" in log.includes()[-1]


@pytest.mark.browser_context_args(**PHONE_390)
def test_saliency_on_a_phone(digit_page, trained_server):
    page = digit_page.page
    log = PredictionLog(page)
    digit_page.open(trained_server)
    digit_page.draw_by_touch(SEVEN)
    digit_page.wait_for_answer()
    # Closed on a phone: nothing asked for until it is opened.
    assert all("saliency" not in names for names in log.includes())
    summary = page.locator('[data-part="saliency"] > summary')
    summary.scroll_into_view_if_needed()
    page.wait_for_timeout(100)  # the answer card settles after the stroke's answer
    summary.tap()
    assert page.get_attribute('[data-part="saliency"]', "open") is not None
    digit_page.wait_until("() => document.querySelector('[data-testid=saliency]').dataset.state === 'shown'")

    page.locator(f'{SALIENCY} label:has(input[value="2"])').tap()
    digit_page.wait_until("() => document.querySelector('[data-testid=saliency]').dataset.versus === '2'")
    box = page.locator(f"{SALIENCY} canvas.saliency-map").bounding_box()
    assert box["width"] >= 250 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    digit_page.screenshot("saliency-390")
