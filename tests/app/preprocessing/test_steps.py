"""The preprocessing stages as small images: collected only on request, in order, bounded in
size, each showing what its stage did, and never changing the network input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.preprocessing import NoDigitFound, Step, to_mnist
from harness.drawings import LIMIT, canvas, paint, seven_coverage
from harness.images import encode
from harness.preprocessing import load_image, preprocess

NAMES = ["received", "ink", "cropped", "fitted", "centred"]


def _speckled_page() -> Image.Image:
    """A 7 in the middle of a 400×300 page, with a dust speck in a corner."""
    coverage = np.zeros((300, 400), np.float32)
    coverage[60:220, 120:280] = seven_coverage(160)
    coverage[8:14, 376:382] = 1.0
    return paint(coverage)


def _jpeg(image: Image.Image) -> Image.Image:
    """``image`` after a round trip through a JPEG file: soft edges, block noise."""
    return Image.open(io.BytesIO(encode(image, "JPEG", quality=80)))


UPLOADS = {
    "canvas drawing": lambda: canvas(seven_coverage()),
    "dark ink on paper": _speckled_page,
    "light ink on a board": lambda: paint(seven_coverage(200), paper=(30, 50, 40), ink=(235, 235, 225)),
    "blue ink, JPEG": lambda: _jpeg(paint(seven_coverage(), ink=(30, 50, 170))),
}


def _stages(image: Image.Image) -> tuple[np.ndarray, list[Step]]:
    steps: list[Step] = []
    return to_mnist(load_image(encode(image, "PNG"), LIMIT), steps), steps


@pytest.mark.parametrize("upload", UPLOADS)
def test_collecting_the_steps_leaves_the_network_input_unchanged(upload):
    data = encode(UPLOADS[upload](), "PNG")
    plain = preprocess(data, LIMIT)
    steps: list[Step] = []
    collected = preprocess(data, LIMIT, steps)
    np.testing.assert_array_equal(collected, plain)
    assert [step.name for step in steps] == NAMES


@pytest.mark.parametrize("upload", UPLOADS)
def test_every_step_is_a_small_grey_picture_with_a_title(upload):
    _, steps = _stages(UPLOADS[upload]())
    for step in steps:
        assert step.pixels.dtype == np.uint8 and step.pixels.ndim == 2
        assert min(step.pixels.shape) >= 1 and max(step.pixels.shape) <= 64
        assert step.title and step.ink in ("dark", "light")
    assert all(step.ink == "light" for step in steps[1:])


@pytest.mark.parametrize("upload", UPLOADS)
def test_the_centred_step_is_the_network_input_and_the_fitted_one_fills_its_20_box(upload):
    network_input, steps = _stages(UPLOADS[upload]())
    by_name = {step.name: step.pixels for step in steps}
    np.testing.assert_allclose(by_name["centred"], network_input * 255, atol=0.51)
    fitted = by_name["fitted"]
    assert fitted.shape == (20, 20)
    rows, cols = np.nonzero(fitted > 12)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 >= 19
    assert fitted.max() == 255


def test_a_drawing_on_transparency_is_received_as_dark_ink_on_white():
    _, steps = _stages(canvas(seven_coverage(), colour=(255, 255, 255)))  # white ink, still opacity
    received = steps[0]
    assert received.ink == "dark"
    assert received.pixels.shape == (64, 64)  # 280×280 reduced
    assert received.pixels[0, 0] == 255 and received.pixels.min() < 40


def test_light_ink_on_a_dark_board_is_received_as_light():
    _, steps = _stages(UPLOADS["light ink on a board"]())
    assert steps[0].ink == "light"
    assert steps[0].pixels[0, 0] < 80 and steps[0].pixels.max() > 180


def test_the_ink_step_shows_the_digit_in_place_without_the_paper_or_the_speck():
    page = _speckled_page()
    _, steps = _stages(page)
    received, ink = steps[0].pixels, steps[1].pixels
    assert received.shape == ink.shape == (48, 64)  # 400×300 reduced, aspect kept
    assert received[1:3, 59:62].min() < 200, "the speck is visible as received"
    assert ink[:5, 55:].max() == 0, "the speck is not ink"
    assert ink[:8].max() == ink[:, :16].max() == 0, "the paper is not ink"
    darkest = received < 128
    assert ink[darkest].mean() > 150, "where the received image is darkest, ink was found"
    assert ink.max() == 255


def test_the_cropped_step_has_no_margin_of_paper_around_the_strokes():
    _, steps = _stages(canvas(seven_coverage()))
    cropped = steps[2].pixels
    assert max(cropped.shape) == 64 and min(cropped.shape) < 64  # the 7 is taller than wide
    assert cropped[:3].max() > 128 and cropped[:, :3].max() > 128  # the bar starts at the edge


def test_no_digit_raises_with_no_network_input_among_the_steps():
    steps: list[Step] = []
    with pytest.raises(NoDigitFound):
        preprocess(encode(Image.new("L", (100, 100), 240), "PNG"), LIMIT, steps)
    assert "centred" not in [step.name for step in steps]
