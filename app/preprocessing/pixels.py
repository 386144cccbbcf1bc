"""A JSON pixel array in, the network input out: the digit is already in MNIST form."""

from __future__ import annotations

import numpy as np

from app.preprocessing.exceptions import InvalidPixels
from model.mnist_geometry import SIZE

_NUMBER_TYPES = frozenset({int, float})  # what a JSON number parses to


def from_pixels(pixels: object) -> np.ndarray:
    """A JSON pixel array, 28 rows of 28 numbers, white ink on black, all in [0, 1] or all in
    [0, 255] (255-scale when any value exceeds 1), as (28, 28) float32 in [0, 1]. Raises
    InvalidPixels naming the first wrong row or value."""
    if not isinstance(pixels, list) or len(pixels) != SIZE:
        got = f"a list of {len(pixels)}" if isinstance(pixels, list) else type(pixels).__name__
        raise InvalidPixels(f"pixels must be a list of {SIZE} rows of {SIZE} numbers; got {got}")
    # One flat list, checked and converted in single passes; the first problem in row order is
    # the one reported.
    flat: list = []
    for index, row in enumerate(pixels):
        if not isinstance(row, list) or len(row) != SIZE:
            _check_pixel_types(flat)
            got = f"a list of {len(row)}" if isinstance(row, list) else type(row).__name__
            raise InvalidPixels(f"pixels row {index} must be a list of {SIZE} numbers; got {got}")
        flat += row
    _check_pixel_types(flat)
    try:
        values = np.array(flat, dtype=np.float64).reshape(SIZE, SIZE)
    except OverflowError as exc:
        raise InvalidPixels("a pixel value is out of range: values must be in [0, 1] or [0, 255]") from exc
    low, high = float(values.min()), float(values.max())
    if not (low >= 0 and high <= 255):  # also when NaN made both NaN
        if not np.isfinite(values).all():
            row, column = np.argwhere(~np.isfinite(values))[0]
            raise InvalidPixels(f"pixels[{row}][{column}] is not a finite number")
        bad = low if low < 0 else high
        row, column = np.argwhere(values == bad)[0]
        raise InvalidPixels(
            f"pixels[{row}][{column}] = {bad:g} is out of range: values must be in [0, 1] or [0, 255]"
        )
    if high > 1:
        values = values / 255.0
    return values.astype(np.float32)


def _check_pixel_types(flat: list) -> None:
    """Refuse any value of the row-major ``flat`` pixels that is not a JSON number (a bool is an
    int subclass, and not a pixel: the types are compared exactly)."""
    if not _NUMBER_TYPES.issuperset(map(type, flat)):
        position = next(i for i, value in enumerate(flat) if type(value) not in _NUMBER_TYPES)
        row, column = divmod(position, SIZE)
        raise InvalidPixels(f"pixels[{row}][{column}] must be a number; got {type(flat[position]).__name__}")
