"""Road 1: a drawing on transparency, read from its opacity.

Alpha is exact: there is no paper to model and no noise, so the ink's strength is its opacity.
"""

from __future__ import annotations

from PIL import Image

from app.preprocessing.flattening import unit_array
from app.preprocessing.ink import InkReading, coarse_factor, find_ink, fine_crop, scaled_ink


def read_drawing(ink_image: Image.Image) -> InkReading:
    """The ink of a drawing (``ink_image``: its opacity, mode "L") around the digit at about
    FINE_BOX pixels across, for finish()."""
    factor = coarse_factor(ink_image.size)
    coarse = unit_array(ink_image.reduce(factor) if factor > 1 else ink_image)
    crop = fine_crop(find_ink(coarse, float(coarse.max()), noise=0.0), factor, ink_image.size)
    strength = unit_array(crop.read(ink_image))
    contrast = float(strength.max())
    ink = scaled_ink(strength, 0.15 * contrast, contrast)
    return InkReading(ink, strength > 0.35 * contrast, contrast, crop.box, dark_ink=True)
