"""Road 1: a drawing on transparency, read from its opacity.

Alpha is exact: there is no paper to model and no noise, so the ink's strength is its opacity.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from app.preprocessing.geometry import reduced, reduction_factor, unit_array
from app.preprocessing.ink import COARSE_SIDE, FineCrop, InkReading, find_ink, fine_crop


def read_drawing(ink_image: Image.Image) -> InkReading:
    """The ink of a drawing (``ink_image``: its opacity, mode "L") around the digit at about
    FINE_BOX pixels across, for finish()."""
    coarse, factor = coarse_opacity(ink_image)
    crop = fine_crop(find_ink(coarse, float(coarse.max()), noise=0.0), factor, ink_image.size)
    return read_drawn_crop(ink_image, crop)


def coarse_opacity(ink_image: Image.Image) -> tuple[np.ndarray, int]:
    """The opacity of a drawing reduced to ≤ COARSE_SIDE, (h, w) in [0, 1], and the factor."""
    factor = reduction_factor(ink_image.size, COARSE_SIDE)
    return unit_array(reduced(ink_image, factor)), factor


def read_drawn_crop(ink_image: Image.Image, crop: FineCrop) -> InkReading:
    """The ``crop`` of a drawing's opacity read again as ink: nothing at 15% of the strongest
    opacity and below, full at the strongest."""
    strength = unit_array(crop.read(ink_image))
    contrast = float(strength.max())
    floor = 0.15 * contrast
    ink = np.clip((strength - floor) / max(contrast - floor, 1e-6), 0.0, 1.0)
    return InkReading(ink, strength > 0.35 * contrast, contrast, crop.box, dark_ink=True)
