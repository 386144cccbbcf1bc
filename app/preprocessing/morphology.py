"""Dilation, erosion, opening and reconstruction with a 3×3 square, in NumPy.

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


def reconstruct(seeds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The parts of ``mask`` (H, W bool) connected (8-connected) to a pixel of ``seeds`` (H, W
    bool): morphological reconstruction, the seeds grown a pixel at a time inside the mask.

    Bounded to H + W growth steps: farther parts of a winding region are left out. The images
    are framed in False and flattened, so each step is four shifts of one contiguous array (a
    shift by one row is a shift by the framed width)."""
    height, width = mask.shape
    row = width + 2
    allowed = np.pad(mask, 1).ravel()
    grown = np.pad(seeds & mask, 1).ravel()
    count = np.count_nonzero(grown)
    for _ in range(height + width):
        wider = grown.copy()
        wider[1:] |= grown[:-1]
        wider[:-1] |= grown[1:]
        grown = wider.copy()
        grown[row:] |= wider[:-row]
        grown[:-row] |= wider[row:]
        grown &= allowed
        previous, count = count, np.count_nonzero(grown)
        if count == previous:
            break
    return grown.reshape(height + 2, row)[1:-1, 1:-1]
