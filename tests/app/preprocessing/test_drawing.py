"""Road 1: a drawing on transparency is read from its opacity, whatever the colour of its ink."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.preprocessing import NoDigitFound
from harness.drawings import (
    assert_mnist_like,
    browser_canvas,
    canvas,
    roundtrip,
    seven_coverage,
    similarity,
)


@pytest.mark.parametrize(
    "colour",
    [(0, 0, 0), (255, 255, 255), (40, 60, 200)],
    ids=["black-ink", "white-ink", "blue-ink"],
)
def test_transparent_canvas_is_read_from_alpha(reference, colour):
    # The colour under transparent pixels is black here (as browsers export it); ink of any colour
    # lives in alpha.
    x = roundtrip(canvas(seven_coverage(), colour))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.95


@pytest.mark.parametrize("width", [1, 2, 3, 8])
def test_thin_light_ink_exported_by_a_browser_is_read_as_light_ink(reference, width):
    # The black under the transparent pixels is no part of the ink: once it dragged the estimate
    # of a thin white stroke's lightness below half, and the stroke vanished on a white backdrop.
    x = roundtrip(browser_canvas(seven_coverage(width=width), (255, 255, 255)))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.93


def test_dark_ink_over_white_transparent_pixels_is_read_as_dark_ink(reference):
    coverage = seven_coverage(width=3)
    image = canvas(coverage, (0, 0, 0))
    white_under_transparency = np.asarray(image).copy()
    white_under_transparency[coverage == 0, :3] = 255
    x = roundtrip(Image.fromarray(white_under_transparency, "RGBA"))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.93


@pytest.mark.parametrize(
    "colour", [(17, 17, 17), (255, 255, 255), (40, 60, 200), (200, 200, 40), (128, 128, 128)]
)
@pytest.mark.parametrize(
    "box",
    [(70, 50, 210, 240), (0, 0, 60, 90), (200, 150, 280, 280), (3, 100, 277, 140)],
    ids=["centre", "top-left-edge", "bottom-right-edge", "side-to-side"],
)
@pytest.mark.parametrize("export", [canvas, browser_canvas], ids=["plain", "browser"])
def test_a_drawing_on_transparency_reads_the_same_whatever_the_ink_colour(colour, box, export):
    coverage = seven_coverage(box=box)
    assert np.array_equal(roundtrip(export(coverage, colour)), roundtrip(canvas(coverage, (0, 0, 0))))


@pytest.mark.parametrize("size", [(280, 280), (1500, 1100), (2000, 400)])
def test_a_large_canvas_is_read_like_a_small_one(reference, size):
    width, height = size
    side = min(width, height) * 3 // 4
    coverage = np.zeros((height, width), np.float32)
    top, left = (height - side) // 2, (width - side) // 2
    coverage[top : top + side, left : left + side] = seven_coverage(side)
    x = roundtrip(canvas(coverage))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.93


def test_opaque_paper_with_transparent_holes_is_read_as_paper(reference):
    # Ink on opaque paper whose corners are transparent: the holes are paper, not ink.
    image = canvas(seven_coverage()).convert("RGBA")
    paper = Image.new("RGBA", image.size, (250, 250, 250, 255))
    paper.alpha_composite(image)
    ImageDraw.Draw(paper).rectangle((0, 0, 20, 20), fill=(0, 0, 0, 0))
    x = roundtrip(paper)
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.93


def test_a_blank_canvas_has_no_digit():
    with pytest.raises(NoDigitFound, match="no digit"):
        roundtrip(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))


def test_a_single_blot_of_ink_is_not_a_digit():
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((100, 100, 160, 160), fill=(0, 0, 0, 255))
    with pytest.raises(NoDigitFound, match="blot"):
        roundtrip(image)


def test_a_speck_on_a_canvas_is_not_a_digit():
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(image).point((141, 141), fill=(0, 0, 0, 255))
    with pytest.raises(NoDigitFound, match="speck"):
        roundtrip(image)


def test_a_small_digit_drawn_with_the_default_brush_is_thinned_towards_mnists_pen(reference):
    # A 7 only 34 px high (12% of the pad) in the page's default 22 px brush: mostly brush.
    height = 34
    box = (140 - 0.37 * height, 140 - height / 2, 140 + 0.37 * height, 140 + height / 2)
    x = roundtrip(canvas(seven_coverage(280, width=22, box=box)))
    assert_mnist_like(x)
    assert x.mean() < 0.19, "a fifth of the input in full ink would be a blob, not a stroke"
    assert similarity(x, reference) > 0.82
