"""JSON pixel arrays: 28 rows of 28 numbers on either scale, or a message saying what is wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.preprocessing import InvalidPixels, from_pixels


def grid(value=0.0, rows=28, cols=28) -> list:
    return [[value] * cols for _ in range(rows)]


def test_pixels_in_unit_range_are_kept():
    pixels = grid()
    pixels[3][4] = 0.5
    pixels[10][10] = 1
    result = from_pixels(pixels)
    assert result.dtype == np.float32 and result.shape == (28, 28)
    assert result[3, 4] == 0.5 and result[10, 10] == 1.0 and result.sum() == 1.5


def test_pixels_on_the_255_scale_are_divided_by_255():
    pixels = grid(0)
    pixels[0][0] = 255
    pixels[5][5] = 51
    result = from_pixels(pixels)
    assert result[0, 0] == 1.0 and math.isclose(result[5, 5], 0.2, rel_tol=1e-6)


def _with(value, row=2, col=3):
    pixels = grid()
    pixels[row][col] = value
    return pixels


@pytest.mark.parametrize(
    ("pixels", "message"),
    [
        ("not a list", "list of 28 rows"),
        (None, "list of 28 rows"),
        ({"rows": 28}, "list of 28 rows"),
        (grid(rows=27), "got a list of 27"),
        (grid(rows=29), "got a list of 29"),
        ([[0] * 28] * 27 + [[0] * 27], "row 27"),
        ([[0] * 28] * 27 + ["x" * 28], "row 27"),
        (_with("0.5"), "pixels[2][3] must be a number"),
        (_with(True), "pixels[2][3] must be a number"),
        (_with(None), "pixels[2][3] must be a number"),
        (_with([0.5]), "pixels[2][3] must be a number"),
        (_with(float("nan")), "pixels[2][3] is not a finite number"),
        (_with(float("inf")), "pixels[2][3] is not a finite number"),
        (_with(-0.1), "pixels[2][3] = -0.1 is out of range"),
        (_with(256), "pixels[2][3] = 256 is out of range"),
        (_with(10**400), "out of range"),
        (_with("x", row=2)[:20] + [[0] * 27] + grid(rows=7), "pixels[2][3] must be a number"),
        (grid(rows=1) + [[0] * 27] + _with(None, row=2)[2:], "row 1"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_pixel_arrays_are_refused_with_a_message_saying_what_is_wrong(pixels, message):
    with pytest.raises(InvalidPixels) as caught:
        from_pixels(pixels)
    assert message in str(caught.value)
