"""Any image that is not a drawing on transparency as a page: grey ("L") or colour ("RGB").

Alpha is composited over white paper (opaque paper with transparent holes: the holes are paper
too), 16- and 32-bit pixels are rescaled by their evident range, and dithered 1-bit scans are
smoothed back into grey.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from app.preprocessing.exceptions import InvalidImage, NoDigitFound
from app.preprocessing.geometry import reduced, reduction_factor


def as_page(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` in any mode as a page of mode "L" or "RGB", reduced to ≤ ``max_side`` (an image
    with alpha, "LA" or "RGBA", comes reduced already)."""
    mode = image.mode
    if mode in ("LA", "RGBA"):
        colour_mode = mode[:-1]  # "L" or "RGB"
        backdrop = Image.new(colour_mode, image.size, (255,) * len(colour_mode))
        return Image.composite(image.convert(colour_mode), backdrop, image.getchannel("A"))
    if mode.startswith("I") or mode == "F":
        return _high_depth_to_grey(image, max_side)
    if mode == "P":
        image = image.convert("RGB")
    elif mode == "1":
        # Bilevel scans are often dithered: a 5×5 mean turns the dot patterns back into grey (a
        # 3×3 one leaves the sparse dots of light paper as specks that faint ink would join).
        image = image.convert("L").filter(ImageFilter.BoxBlur(2))
    elif mode not in ("L", "RGB"):
        try:
            image = image.convert("RGB")
        except Exception as exc:
            raise InvalidImage(f"unsupported image mode {mode}") from exc
    return reduced(image, reduction_factor(image.size, max_side))


def _high_depth_to_grey(image: Image.Image, max_side: int) -> Image.Image:
    """16-bit and 32-bit integer or float images, rescaled by their evident range, as mode "L"."""
    if image.mode not in ("I", "F"):
        image = image.convert("I")
    values = np.asarray(reduced(image, reduction_factor(image.size, max_side)), dtype=np.float32)
    finite = np.isfinite(values)
    if not finite.any():
        raise NoDigitFound("no digit found: the image holds no finite pixel values")
    high = float(values[finite].max())
    if image.mode == "F" and high <= 1.0:
        full_scale = 1.0
    elif high <= 255:
        full_scale = 255.0
    elif high <= 65535:
        full_scale = 65535.0
    else:
        full_scale = high
    values = np.where(finite, values, 0.0) * np.float32(255 / full_scale)
    return Image.fromarray(np.clip(values + 0.5, 0, 255).astype(np.uint8), "L")
