"""Faint ink: the parts of a stroke that are lighter than the rest — a side faded, a pencil
pressed unevenly, a low-resolution scan enlarged — belong to the digit, while the paper's grain,
dithering and specks still do not."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from harness.drawings import (
    assert_mnist_like,
    grainy_paper,
    ink_away_from,
    paint,
    roundtrip,
    seven_coverage,
    similarity,
    zero_coverage,
)


@pytest.fixture(scope="module")
def zero() -> np.ndarray:
    """The network input for the 0 drawn black on white, plainly."""
    return roundtrip(paint(zero_coverage(), paper=(255, 255, 255), ink=(0, 0, 0)))


@pytest.mark.parametrize("faint", [0.15, 0.25, 0.4])
@pytest.mark.parametrize("side", ["left", "right", "top"])
def test_a_zero_with_one_side_faded_stays_a_closed_zero(zero, faint, side):
    coverage = zero_coverage()
    fade = np.ones_like(coverage)
    half = {"left": np.s_[:, :140], "right": np.s_[:, 140:], "top": np.s_[:140]}[side]
    fade[half] = faint
    x = roundtrip(paint(coverage * fade, paper=grainy_paper(coverage.shape, 4)), "JPEG", quality=85)
    assert_mnist_like(x)
    assert similarity(x, zero) > 0.93, "the faint side is part of the 0, not a C"
    inside = {"left": x[:, :14], "right": x[:, 14:], "top": x[:14]}[side]
    assert inside.sum() > 0.35 * x.sum(), "the faint side carries about as much ink as the other"


def test_pencil_pressed_unevenly_reads_like_an_even_stroke(reference):
    coverage = seven_coverage()
    rows = np.mgrid[0:280, 0:280][0] / 280
    pressure = np.clip(1.2 - 1.2 * rows, 0.2, 1.0)  # the stem fades towards its end
    grain = np.clip(np.random.default_rng(1).normal(1, 0.3, coverage.shape), 0, 1.5)
    pencil = paint(coverage * pressure * grain * 0.7, paper=grainy_paper(coverage.shape, 3), ink=(50, 50, 55))
    x = roundtrip(pencil, "JPEG", quality=88)
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.9
    assert ink_away_from(x, reference) < 0.5


@pytest.mark.parametrize("side", [8, 12])
def test_a_low_resolution_scan_enlarged_bicubically_keeps_its_lighter_strokes(reference, side):
    # Thin strokes scanned at side × side pixels average to light grey.
    small = Image.fromarray(seven_coverage(width=10)).resize((side, side), Image.Resampling.BOX)
    grey = 225 - 180 * np.clip(np.asarray(small), 0, 1) + np.random.default_rng(0).normal(0, 6, (side, side))
    scan = Image.fromarray(np.clip(grey + 0.5, 0, 255).astype(np.uint8), "L")
    x = roundtrip(scan.resize((side * 16, side * 16), Image.Resampling.BICUBIC))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.85


@pytest.mark.parametrize("sigma", [4, 8])
def test_paper_grain_beside_a_faint_stroke_is_not_ink(reference, sigma):
    coverage = seven_coverage()
    x = roundtrip(paint(coverage * 0.3, paper=grainy_paper(coverage.shape, sigma, seed=sigma)))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.9
    assert ink_away_from(x, reference) < 0.5


@pytest.mark.parametrize("size", [80, 100, 280])
@pytest.mark.parametrize("paper", [225, 235, 245])
def test_dithered_paper_does_not_creep_into_the_strokes(reference, size, paper):
    grey = paint(seven_coverage(size), paper=(paper,) * 3, ink=(15, 15, 15)).convert("L")
    x = roundtrip(grey.convert("1"))  # Floyd-Steinberg dithering: light paper as sparse dots
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.93
    assert ink_away_from(x, reference) < 0.5


def test_a_faint_smudge_apart_from_the_digit_is_not_ink(reference):
    page = np.zeros((400, 400), np.float32)
    page[60:340, 60:340] = seven_coverage()
    page[20:60, 300:380] = 0.15  # a light smudge beside the digit, touching nothing
    x = roundtrip(paint(page, paper=grainy_paper(page.shape, 3)))
    assert similarity(x, reference) > 0.95
    assert ink_away_from(x, reference) < 0.2


def test_a_bold_digit_cropped_tight_and_faded_at_the_border_keeps_its_faded_part(zero):
    # A bold 0 touching the top and bottom edges: its faded half is as narrow as its strokes, so
    # it is not a shadow falling in from outside the picture.
    coverage = zero_coverage(width=34)[36:244, 70:210]
    fade = np.ones_like(coverage)
    fade[:, :70] = 0.3
    x = roundtrip(paint(coverage * fade, paper=grainy_paper(coverage.shape, 3)))
    assert_mnist_like(x)
    assert x[:, :14].sum() > 0.35 * x.sum()
    assert similarity(x, zero) > 0.85
