"""Road 1: a drawing on transparency, read from its opacity.

Alpha is exact: there is no paper to model and no noise, so the ink's strength is its opacity.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from app.preprocessing.geometry import reduced, reduction_factor, unit_array
from app.preprocessing.ink import COARSE_SIDE, InkReading, find_ink, fine_crop


def read_drawing(ink_image: Image.Image) -> InkReading:
    """The ink of a drawing (``ink_image``: its opacity, mode "L") around the digit at about
    FINE_BOX pixels across, for finish(): nothing at 15% of the strongest opacity and below, full
    at the strongest."""
    factor = reduction_factor(ink_image.size, COARSE_SIDE)
    coarse = unit_array(reduced(ink_image, factor))
    crop = fine_crop(find_ink(coarse, float(coarse.max()), noise=0.0), factor, ink_image.size)
    strength = unit_array(crop.read(ink_image))
    contrast = float(strength.max())
    floor = 0.15 * contrast
    ink = np.clip((strength - floor) / max(contrast - floor, 1e-6), 0.0, 1.0)
    return InkReading(ink, strength > 0.35 * contrast, contrast, crop.box, dark_ink=True)
