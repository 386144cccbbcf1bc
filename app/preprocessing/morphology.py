"""Dilation, erosion and opening with a 3×3 square, in NumPy.

Separable: a 3×3 maximum is a 1×3 maximum of a 3×1 maximum. Pillow's rank filters (MaxFilter,
MinFilter) sort every window instead.
"""

from __future__ import annotations

import numpy as np


def _repeat_3x3(values: np.ndarray, passes: int, pick) -> np.ndarray:
    """``passes`` rounds of the 3×3 ``pick`` (np.maximum or np.minimum) of ``values`` (H, W)."""
    out = values.copy()
    for _ in range(passes):
        pick(out[:, 1:], values[:, :-1], out=out[:, 1:])
        pick(out[:, :-1], values[:, 1:], out=out[:, :-1])
        values = out.copy()
        pick(out[1:], values[:-1], out=out[1:])
        pick(out[:-1], values[1:], out=out[:-1])
        values = out.copy()
    return out


def dilate(values: np.ndarray, passes: int) -> np.ndarray:
    """Each pixel of ``values`` (H, W; numbers or bools) becomes the maximum of the square of side
    2 × passes + 1 around it: ink grows by ``passes`` pixels."""
    return _repeat_3x3(values, passes, np.maximum)


def erode(values: np.ndarray, passes: int) -> np.ndarray:
    """Each pixel of ``values`` (H, W) becomes the minimum over the same square: ink shrinks by
    ``passes`` pixels."""
    return _repeat_3x3(values, passes, np.minimum)


def opening(values: np.ndarray) -> np.ndarray:
    """Morphological opening of ``values`` (H, W) with a square window of ~1/20 of the image:
    what remains is only regions wider than the window, never a pen stroke of ordinary width."""
    passes = max(2, round(max(values.shape) / 40))
    return dilate(erode(values, passes), passes)
