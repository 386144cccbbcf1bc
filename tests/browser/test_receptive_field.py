"""Receptive fields: a feature-map pixel (mouse, arrow keys, finger) shows the 5×5 patch it
looks at, the 25 products weight × pixel, their sum and the bias — checked against the
committed weights — and a pooled pixel the 2×2 block it took its maximum from."""

from __future__ import annotations

import numpy as np
import pytest

from harness.browser import PHONE_390
from harness.feature_maps import decode as decode_maps
from harness.page_predictions import PredictionLog, read_seven_on_a_tall_page
from harness.strokes import SEVEN
from model import checkpoint

FIELD = '[data-testid="receptive-field"]'
MAP = '.zoom-frame[data-kind="map"]'
POOLED = '.zoom-frame[data-kind="pooled"]'


@pytest.fixture(scope="module")
def conv1():
    """The committed network's first convolution: weights (30, 5, 5) and biases (30,)."""
    network = checkpoint.load(checkpoint.DEFAULT_WEIGHTS)
    return network.params["conv1.W"][:, 0].astype(np.float64), network.params["conv1.b"].astype(np.float64)


def field(page) -> dict:
    return page.eval_on_selector(FIELD, "(node) => ({...node.dataset, hidden: node.hidden})")


def point_at(page, selector: str, row: int, col: int, size: int) -> None:
    """Move the mouse to the middle of pixel (row, col) of a size × size zoomed map."""
    box = page.locator(selector).bounding_box()
    x = box["x"] + (col + 0.5) * box["width"] / size
    y = box["y"] + (row + 0.5) * box["height"] / size
    page.mouse.move(x, y)


def convolution(conv1, image: np.ndarray, k: int, row: int, col: int) -> tuple[float, float]:
    """(sum of the 25 products, sum + bias) of filter k at (row, col) of ``image`` in [0, 1]."""
    weights, bias = conv1
    products = float((weights[k] * image[row : row + 5, col : col + 5]).sum())
    return products, products + float(bias[k])


def open_seven(digit_page, server, filter_index: int) -> tuple[PredictionLog, dict]:
    log = read_seven_on_a_tall_page(digit_page, server)
    digit_page.page.locator(f'[data-testid="feature-maps"] [data-map-index="{filter_index}"]').click()
    return log, log.shown(digit_page)


def test_hovering_a_map_pixel_shows_its_patch_products_sum_and_bias(digit_page, trained_server, conv1):
    page = digit_page.page
    log, result = open_seven(digit_page, trained_server, 6)
    assert page.locator(FIELD).is_hidden()
    image = np.asarray(result["input"], dtype=np.float64) / 255.0
    maps = decode_maps(result["feature_maps"])

    # The pixel where filter 7 responds most, then one where it finds nothing: a zero of the map
    # that ReLU made (not a small positive value the map's 256 levels round to 0).
    strongest = np.unravel_index(np.argmax(maps[6]), maps[6].shape)
    quiet = next((int(row), int(col)) for row, col in np.argwhere(maps[6] == 0)
                 if convolution(conv1, image, 6, row, col)[1] < 0)
    for row, col in (strongest, quiet):
        point_at(page, MAP, row, col, 24)
        shown = field(page)
        assert not shown["hidden"]
        where = (shown["kind"], int(shown["filter"]), int(shown["row"]), int(shown["col"]))
        assert where == ("map", 6, row, col)
        products, value = convolution(conv1, image, 6, row, col)
        np.testing.assert_allclose(float(shown["sum"]), products, atol=1e-5)
        np.testing.assert_allclose(float(shown["bias"]), conv1[1][6], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(float(shown["value"]), value, atol=1e-5)
        # After ReLU that is the map the server sent, to within its 256 levels.
        assert abs(max(value, 0.0) - float(shown["mapValue"])) <= maps[6].max() / 510 + 1e-4
        # The 25 products on screen add up to the sum shown.
        cells = page.locator(f"{FIELD} .rf-products td").all_inner_texts()
        assert len(cells) == 25
        on_screen = sum(float(text.replace("−", "-")) for text in cells)
        assert abs(on_screen - products) <= 25 * 0.0005 + 1e-9
        assert page.locator(f"{FIELD} .rf-pixels td").count() == 25
        # The patch is outlined on the input where the filter sat: 5/28 of it, at (row, col).
        patch = page.locator(f"{FIELD} .rf-patch").bounding_box()
        frame = page.locator(f"{FIELD} .rf-input-frame").bounding_box()
        assert patch["width"] == pytest.approx(frame["width"] * 5 / 28, abs=1)
        assert patch["x"] - frame["x"] == pytest.approx(frame["width"] * col / 28, abs=1)
        assert patch["y"] - frame["y"] == pytest.approx(frame["height"] * row / 28, abs=1)
    sums = page.inner_text(f"{FIELD} .rf-sum")
    assert "bias" in sums and "ReLU makes it 0" in sums


def test_arrow_keys_move_over_the_map_pixels(digit_page, trained_server, conv1):
    page = digit_page.page
    log, result = open_seven(digit_page, trained_server, 2)
    maps = decode_maps(result["feature_maps"])
    strongest = np.unravel_index(np.argmax(maps[2]), maps[2].shape)

    page.locator(MAP).focus()
    # Focus starts at the map's strongest pixel; the arrows move one pixel at a time.
    assert (int(field(page)["row"]), int(field(page)["col"])) == strongest
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    shown = field(page)
    row, col = min(strongest[0] + 2, 23), max(strongest[1] - 1, 0)  # the edges hold the cursor
    assert (int(shown["row"]), int(shown["col"])) == (row, col)
    image = np.asarray(result["input"], dtype=np.float64) / 255.0
    np.testing.assert_allclose(float(shown["value"]), convolution(conv1, image, 2, row, col)[1], atol=1e-5)
    # Screen readers hear where the cursor is and the sum there.
    assert page.inner_text(".zoom-announcer").startswith(f"Row {row + 1}, column {col + 1}:")
    # The edge holds the cursor.
    for _ in range(30):
        page.keyboard.press("ArrowUp")
    assert int(field(page)["row"]) == 0


def test_a_pooled_pixel_shows_the_block_it_took_its_maximum_from(digit_page, trained_server, conv1):
    page = digit_page.page
    log, result = open_seven(digit_page, trained_server, 0)
    image = np.asarray(result["input"], dtype=np.float64) / 255.0
    pooled = decode_maps(result["pooled_maps"])
    row, col = np.unravel_index(np.argmax(pooled[0]), pooled[0].shape)

    point_at(page, POOLED, row, col, 12)

    shown = field(page)
    assert shown["kind"] == "pooled"
    block = np.array([
        [max(convolution(conv1, image, 0, 2 * row + i, 2 * col + j)[1], 0.0) for j in range(2)]
        for i in range(2)
    ])
    kept = np.unravel_index(np.argmax(block), block.shape)
    assert (int(shown["row"]), int(shown["col"])) == (2 * row + kept[0], 2 * col + kept[1])
    cells = page.locator(f"{FIELD} .rf-block td")
    assert cells.count() == 4
    assert page.locator(f"{FIELD} .rf-block td.kept").count() == 1
    values = [float(text.split()[0].replace("−", "-")) for text in cells.all_inner_texts()]
    np.testing.assert_allclose(values, block.ravel(), atol=6e-4)
    # The kept value is the pooled pixel the server sent.
    assert abs(block.max() - pooled[0][row, col]) <= pooled[0].max() / 510 + 1e-4
    # Both windows outlined: the 6×6 area of the block, the kept pixel's 5×5 patch.
    assert page.locator(f"{FIELD} .rf-area").is_visible()
    assert f"row {row + 1}, column {col + 1}" in page.inner_text(f"{FIELD} .rf-title")


def test_the_zoom_follows_the_chosen_map_and_a_new_drawing(digit_page, trained_server):
    page = digit_page.page
    open_seven(digit_page, trained_server, 4)
    point_at(page, MAP, 5, 9, 24)
    assert field(page)["filter"] == "4"

    page.locator('[data-testid="feature-maps"] [data-map-index="11"]').click()
    shown = field(page)
    assert (shown["filter"], shown["row"], shown["col"]) == ("11", "5", "9")
    assert page.inner_text('[data-testid="map-zoom"] .detail-title') == "Filter 12 of 30"

    page.keyboard.press("Escape")  # clears the drawing: no maps, no receptive field
    digit_page.wait_for_answer()
    assert page.locator(FIELD).is_hidden()
    assert page.get_attribute(MAP, "tabindex") == "-1"


@pytest.mark.browser_context_args(**PHONE_390)
def test_a_finger_on_the_map_shows_the_receptive_field_on_a_phone(digit_page, trained_server):
    page = digit_page.page
    digit_page.open(trained_server)
    digit_page.draw_by_touch(SEVEN)
    digit_page.wait_for_answer()
    page.locator("#conv-title").click()  # closed on a phone at first
    digit_page.wait_until("() => document.querySelector('[data-part=conv]').dataset.state === 'shown'")

    page.locator('[data-testid="feature-maps"] [data-map-index="3"]').tap()
    frame = page.locator(MAP)
    frame.scroll_into_view_if_needed()
    box = frame.bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] * (10.5 / 24), box["y"] + box["height"] * (6.5 / 24))

    shown = field(page)
    assert (shown["filter"], shown["row"], shown["col"]) == ("3", "6", "10")
    assert page.locator(f"{FIELD} .rf-products td").count() == 25
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    right = page.locator(FIELD).bounding_box()
    assert right["x"] + right["width"] <= width
    digit_page.screenshot("receptive-field-390")
