"""The convolution lab: stride, padding, filter and pooling changed with the mouse, the keyboard
and a finger set the feature map's size to what the tutorial's formula says; the 6×6 example and
the drawing's 28×28 input; an impossible combination shows the server's message; accessibility
and screenshots at 1280 and 390 px."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.browser import ARTIFACTS, PHONE_390, serious_violations
from harness.strokes import SEVEN

LAB = '[data-testid="conv-lab"]'
OUTPUT = '[data-testid="lab-output"]'


def size(length: int, window: int, stride: int, pad: int = 0) -> int:
    """The tutorial's formula: out = 1 + (H + 2·pad − filter) / stride, rounded down."""
    return 1 + (length + 2 * pad - window) // stride


def shown(page) -> dict:
    return page.eval_on_selector(OUTPUT, "(node) => ({...node.dataset, text: node.innerText})")


def wait_for_shapes(digit_page, side: int, pooled: int, text: str = "") -> dict:
    """Wait until the lab shows the answer for its controls, with these sizes (and ``text``, for a
    change that keeps the sizes: the answer before it has them too); return the output."""
    try:
        digit_page.wait_until(
            f"""() => {{
                const output = document.querySelector('{OUTPUT}');
                return document.querySelector('{LAB}').dataset.state === "shown"
                    && output.dataset.shape === "{side}×{side}"
                    && output.dataset.pooledShape === "{pooled}×{pooled}"
                    && output.textContent.includes({json.dumps(text)});
            }}"""
        )
    except AssertionError:
        state = digit_page.page.get_attribute(LAB, "data-state")
        raise AssertionError(f"expected {side}×{side}, pooled {pooled}×{pooled}; the lab is {state}: "
                             f"{shown(digit_page.page)}") from None
    return shown(digit_page.page)


def range_point(page, test_id: str, value: int) -> tuple[float, float]:
    """Where ``value`` sits on a range input (the thumb's centre runs from one thumb-half in from
    each end), as a person aiming at it would see it."""
    slider = page.get_by_test_id(test_id)
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    low, high = (int(slider.get_attribute(name)) for name in ("min", "max"))
    half_thumb = 8
    x = box["x"] + half_thumb + (value - low) / (high - low) * (box["width"] - 2 * half_thumb)
    return x, box["y"] + box["height"] / 2


def click_range_at(page, test_id: str, value: int) -> None:
    page.mouse.click(*range_point(page, test_id, value))
    assert page.get_by_test_id(test_id).input_value() == str(value)


def tap_range_at(page, test_id: str, value: int) -> None:
    page.touchscreen.tap(*range_point(page, test_id, value))
    assert page.get_by_test_id(test_id).input_value() == str(value)


def test_the_tutorials_six_by_six_example_with_the_mouse(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)
    # Before any drawing: the 6×6 "5", a 3×3 vertical bar, stride 1, no padding, 2×2 max pooling.
    assert page.locator('input[name="lab-source"][value="example"]').is_checked()
    assert page.locator('input[name="lab-source"][value="drawing"]').is_disabled()
    page.locator(LAB).scroll_into_view_if_needed()
    output = wait_for_shapes(digit_page, 4, 2)
    assert "1 + (6 + 2·0 − 3) / 1 = 1 + 3 / 1 = 4, so 4×4" in output["text"]

    click_range_at(page, "lab-stride", 3)
    output = wait_for_shapes(digit_page, 2, 1)
    assert "1 + (6 + 2·0 − 3) / 3 = 1 + 3 / 3 = 2, so 2×2" in output["text"]
    assert "divides evenly" in output["text"]

    # Padding 1: 8×8 with a border of zeros; 5 / 3 leaves 2, and the floor drops them.
    click_range_at(page, "lab-pad", 1)
    output = wait_for_shapes(digit_page, size(6, 3, 3, 1), 1)
    assert "5 / 3 leaves 2" in output["text"]
    assert page.locator(f"{LAB} .lab-dropped-right").is_visible()
    assert page.locator(f"{LAB} .lab-image").is_visible()  # the picture's edge inside the padding
    assert page.eval_on_selector(f"{LAB} .lab-input", "(canvas) => canvas.width") == 8
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(LAB).screenshot(path=str(ARTIFACTS / "conv-lab-example-1280.png"))

    click_range_at(page, "lab-stride", 1)
    click_range_at(page, "lab-pool-size", 3)
    click_range_at(page, "lab-pool-stride", 1)
    side = size(6, 3, 1, 1)
    wait_for_shapes(digit_page, side, size(side, 3, 1))


def test_the_keyboard_changes_every_control_and_the_sizes_follow(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)
    page.locator(LAB).scroll_into_view_if_needed()
    wait_for_shapes(digit_page, 4, 2)

    # The filter size: 3×3 → 4×4 with the arrow key.
    page.get_by_test_id("lab-size").focus()
    page.keyboard.press("ArrowDown")
    wait_for_shapes(digit_page, size(6, 4, 1), 1)
    page.get_by_test_id("lab-stride").focus()
    page.keyboard.press("ArrowRight")  # stride 2
    page.get_by_test_id("lab-pad").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # pad 2
    side = size(6, 4, 2, 2)
    page.get_by_test_id("lab-pool-size").focus()
    page.keyboard.press("ArrowLeft")  # pool size 1
    output = wait_for_shapes(digit_page, side, size(side, 1, 2))
    assert "1 + (6 + 2·2 − 4) / 2 = 1 + 6 / 2 = 4, so 4×4" in output["text"]

    # Another filter, and average pooling: the sizes stay, the numbers change.
    page.get_by_test_id("lab-filter").focus()
    page.keyboard.press("ArrowDown")
    assert page.get_by_test_id("lab-filter").input_value() == "horizontal"
    page.get_by_test_id("lab-pool").focus()
    page.keyboard.press("ArrowDown")
    assert page.get_by_test_id("lab-pool").input_value() == "average"
    output = wait_for_shapes(digit_page, side, size(side, 1, 2), "Pooled (average, 1×1)")
    assert "Pooled (average, 1×1)" in output["text"]


def test_an_impossible_combination_shows_the_servers_message(digit_page, tiny_server):
    page = digit_page.page
    digit_page.allow_errors(r"400 .*/api/convolve|status of 400 \(BAD REQUEST\)")
    digit_page.open(tiny_server)
    page.locator(LAB).scroll_into_view_if_needed()
    wait_for_shapes(digit_page, 4, 2)
    page.get_by_test_id("lab-size").select_option("7")

    error = page.locator(f"{LAB} .lab-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "a 7×7 filter does not fit in the 6×6 input: make it smaller or pad more"
    assert shown(page)["shape"] == ""
    assert "the filter is larger than the padded picture" in shown(page)["text"]

    # Padding 1 makes room: 6 + 2 − 7 = 1, a 2×2 map; a 2×2 pooling window still fits.
    click_range_at(page, "lab-pad", 1)
    wait_for_shapes(digit_page, 2, 1)
    assert error.is_hidden()
    # A pooling window larger than the map: the server says so too.
    click_range_at(page, "lab-pool-size", 3)
    error.wait_for(state="visible")
    assert error.inner_text() == "a 3×3 pooling window does not fit in the 2×2 map: make it smaller"


def test_the_drawing_with_a_learned_filter_gives_24_by_24_and_12_by_12(digit_page, trained_server):
    page = digit_page.page
    sent = []
    page.on("request", lambda request: sent.append(request.post_data_json)
            if request.url.endswith("/api/convolve") else None)
    digit_page.record_predictions()
    digit_page.open(trained_server)
    digit_page.read(SEVEN)
    network_input = digit_page.newest_prediction()["result"]["input"]

    # The drawing replaces the example once there is one.
    drawing = page.locator('input[name="lab-source"][value="drawing"]')
    assert drawing.is_enabled() and drawing.is_checked()
    page.locator(LAB).scroll_into_view_if_needed()  # off screen, the lab asks for nothing
    page.get_by_test_id("lab-filter").select_option("learned-2")
    assert page.get_by_test_id("lab-size").is_disabled()  # learned filters are 5×5
    output = wait_for_shapes(digit_page, 24, 12)
    assert "1 + (28 + 2·0 − 5) / 1 = 1 + 23 / 1 = 24, so 24×24" in output["text"]
    assert "1 + (24 − 2) / 2 = 1 + 22 / 2 = 12, so 12×12" in output["text"]
    # What the lab sent: the network's own input in 0-1 and the card's learned filter 3.
    np.testing.assert_allclose(sent[-1]["pixels"], np.asarray(network_input) / 255)
    card = page.evaluate("fetch('/api/model').then((response) => response.json())")
    np.testing.assert_allclose(sent[-1]["kernel"], np.asarray(card["filters"]["after"][2]).reshape(5, 5))
    for canvas, side in (("lab-map", 24), ("lab-pooled", 12)):
        assert page.eval_on_selector(f"{LAB} .{canvas}", "(c) => [c.width, c.height]") == [side, side]

    # Back to the example, chosen by the person: a new drawing no longer switches it.
    page.locator('input[name="lab-source"][value="example"]').check()
    wait_for_shapes(digit_page, 2, 1)
    assert serious_violations(page, LAB) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator('input[name="lab-source"][value="drawing"]').check()
    click_range_at(page, "lab-stride", 2)
    click_range_at(page, "lab-pad", 1)
    wait_for_shapes(digit_page, size(28, 5, 2, 1), size(size(28, 5, 2, 1), 2, 2))
    assert serious_violations(page, LAB) == []
    page.locator(LAB).screenshot(path=str(ARTIFACTS / "conv-lab-1280.png"))


@pytest.mark.browser_context_args(**PHONE_390)
def test_a_finger_works_the_lab_on_a_phone(digit_page, trained_server):
    page = digit_page.page
    digit_page.open(trained_server)
    digit_page.draw_by_touch(SEVEN)
    digit_page.wait_for_answer()
    title = page.locator("#lab-title")
    title.scroll_into_view_if_needed()
    page.wait_for_timeout(100)  # the parts above may still be settling after the answer
    title.tap()  # closed on a phone at first
    # The lab reads only while open and on screen: bring its picture into view once it is open.
    page.locator(LAB).scroll_into_view_if_needed()
    # The drawing with the 3×3 vertical bar: 26×26, pooled 13×13.
    wait_for_shapes(digit_page, size(28, 3, 1), 13)

    tap_range_at(page, "lab-stride", 2)
    side = size(28, 3, 2)
    wait_for_shapes(digit_page, side, size(side, 2, 2))
    tap_range_at(page, "lab-pad", 3)
    side = size(28, 3, 2, 3)
    output = wait_for_shapes(digit_page, side, size(side, 2, 2))
    assert "1 + (28 + 2·3 − 3) / 2 = 1 + 31 / 2 = 16, so 16×16" in output["text"]
    assert "31 / 2 leaves 1" in output["text"]

    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator(LAB).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert serious_violations(page, LAB) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(LAB).screenshot(path=str(ARTIFACTS / "conv-lab-390.png"))
