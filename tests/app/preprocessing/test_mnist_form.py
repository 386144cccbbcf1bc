"""The MNIST form: fitted to 20×20, centred by mass, strokes as wide as MNIST's; and purity."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.preprocessing import SIZE, to_mnist
from harness.drawings import (
    assert_mnist_like,
    canvas,
    centre_of_mass,
    paint,
    roundtrip,
    seven_coverage,
    similarity,
)


def test_output_is_white_ink_on_black_fitted_and_centred(reference):
    assert SIZE == 28
    assert_mnist_like(reference)
    row, col = centre_of_mass(reference)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


@pytest.mark.parametrize("corner", ["top-left", "bottom-right", "top-right"])
def test_digit_in_a_corner_is_fitted_and_centred_by_mass(reference, corner):
    page = np.zeros((600, 800), np.float32)
    y = 0 if corner.startswith("top") else 600 - 120
    x = 0 if corner.endswith("left") else 800 - 120
    page[y : y + 120, x : x + 120] = seven_coverage(120)
    result = roundtrip(paint(page))
    assert_mnist_like(result)
    row, col = centre_of_mass(result)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    assert similarity(result, reference) > 0.9


def test_tiny_digit_is_enlarged_to_fill_the_box(reference):
    page = np.zeros((300, 300), np.float32)
    page[140:164, 200:224] = seven_coverage(24)
    result = roundtrip(paint(page))
    assert_mnist_like(result)
    assert similarity(result, reference) > 0.85


def test_digit_filling_the_frame_is_read(reference):
    coverage = seven_coverage(280)[45:243, 55:225]  # cropped to the ink: strokes touch the edges
    result = roundtrip(paint(coverage))
    assert_mnist_like(result)
    assert similarity(result, reference) > 0.85


def mean_stroke_width(x: np.ndarray) -> float:
    """Width of a vertical bar: ink per row, over the rows in the middle of the bar."""
    rows = np.flatnonzero(x.sum(axis=1) > 0.5)
    middle = rows[len(rows) // 4 : 3 * len(rows) // 4]
    return float(x[middle].sum(axis=1).mean())


@pytest.mark.parametrize("brush", [1, 3, 10, 24])
@pytest.mark.parametrize("road", ["page", "canvas"])
def test_hair_thin_and_thick_strokes_come_out_with_mnist_stroke_width(brush, road):
    ink = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(ink).line([(140, 30), (140, 250)], fill=255, width=brush)
    coverage = np.asarray(ink, np.float32) / 255
    result = roundtrip(paint(coverage) if road == "page" else canvas(coverage))
    assert result.max() > 0.95
    # MNIST strokes are ~2–3 px wide; a 1-px line on a 280-px canvas would otherwise be 0.1 px.
    assert 1.5 <= mean_stroke_width(result) <= 4.5


def test_specks_and_stray_marks_far_from_the_digit_are_ignored():
    page = np.zeros((400, 400), np.float32)
    page[100:380, 60:340] = seven_coverage()
    clean = roundtrip(paint(page))
    page[10:16, 380:386] = 1.0  # dust in the corner
    page[30:33, 20:24] = 1.0
    page[390:393, 5:60] = 1.0  # a stray pen mark
    dirty = roundtrip(paint(page))
    assert_mnist_like(dirty)
    assert similarity(dirty, clean) > 0.97


@pytest.mark.parametrize("road", ["page", "canvas"])
def test_a_detached_stroke_stays_part_of_the_digit(road):
    # A 7 whose top bar the pen lifted off: a gap of a sixth of the digit's height.
    ink = Image.new("L", (280, 280), 0)
    draw = ImageDraw.Draw(ink)
    draw.line([(60, 40), (220, 40)], fill=255, width=14)
    draw.line([(200, 75), (110, 250)], fill=255, width=14)
    coverage = np.asarray(ink, np.float32) / 255
    result = roundtrip(paint(coverage) if road == "page" else canvas(coverage))
    assert_mnist_like(result)
    rows = np.flatnonzero(result.max(axis=1) > 0.5)
    top_bar = result[rows[0] : rows[0] + 2]
    assert np.count_nonzero(top_bar.max(axis=0) > 0.5) >= 12, "the bar must be kept, full width"


def test_preprocessing_is_thread_safe():
    images = [paint(seven_coverage(280, w)) for w in (4, 12, 24)] + [canvas(seven_coverage())]
    expected = [to_mnist(image.copy()) for image in images]
    results: dict[int, list[np.ndarray]] = {}

    def work(index: int) -> None:
        results[index] = [to_mnist(image.copy()) for image in images for _ in range(3)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for outputs in results.values():
        for i, output in enumerate(outputs):
            np.testing.assert_array_equal(output, expected[i // 3])
