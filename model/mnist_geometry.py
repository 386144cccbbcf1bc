"""MNIST's geometry: a digit's ink cropped to its bounding box, scaled (aspect kept) to fit a
20×20 box, and placed in the 28×28 frame with its centre of mass at the centre.

Shared by the app's preprocessing (app/preprocessing/mnist_form.py) and the non-digit images of
training (model/outliers.py), each with its own resampling. NumPy only.
"""

from __future__ import annotations

import numpy as np

SIZE = 28  # side of the network input
BOX = 20  # the ink's bounding box fits in BOX×BOX
INK_FLOOR = 0.05  # fainter pixels are left outside the ink's bounding box


def ink_crop(ink: np.ndarray) -> np.ndarray | None:
    """``ink`` (H, W) cropped to the pixels above INK_FLOOR (a view), or None when there are none."""
    rows = np.flatnonzero(ink.max(axis=1) > INK_FLOOR)
    cols = np.flatnonzero(ink.max(axis=0) > INK_FLOOR)
    if rows.size == 0:
        return None
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fitted_size(shape: tuple[int, int], side: int) -> tuple[int, int]:
    """(width, height) of an array of ``shape`` (H, W) scaled, aspect kept, to ``side`` on its
    longer side."""
    scale = side / max(shape)
    return max(1, round(shape[1] * scale)), max(1, round(shape[0] * scale))


def centre_by_mass(patch: np.ndarray, centre: float = SIZE / 2) -> np.ndarray:
    """``patch`` (h, w ≤ SIZE) in a SIZE×SIZE float32 frame with its centre of mass at ``centre``
    (row and column, in pixel-edge coordinates: SIZE / 2 is the middle), as near as whole pixels
    and the frame allow."""
    height, width = patch.shape
    mass = float(patch.sum()) or 1.0
    centre_row = float(patch.sum(axis=1) @ np.arange(height)) / mass + 0.5
    centre_col = float(patch.sum(axis=0) @ np.arange(width)) / mass + 0.5
    top = min(max(round(centre - centre_row), 0), SIZE - height)
    left = min(max(round(centre - centre_col), 0), SIZE - width)
    frame = np.zeros((SIZE, SIZE), dtype=np.float32)
    frame[top : top + height, left : left + width] = patch
    return frame
