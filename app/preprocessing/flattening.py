"""Any decoded image → a Drawing (ink on transparency) or a Page (ink on paper) of bounded size.

A drawing on transparency (a canvas export) keeps its ink in alpha: the colour of its
transparent pixels means nothing (often black), and a browser keeps the ink's colour exactly
only where the ink is solid. So its opacity is the ink, whatever the colour. Every other image
is a page: alpha is composited over white paper, 16-bit rescaled, dithered 1-bit smoothed.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageFilter

from app.preprocessing.exceptions import InvalidImage, NoDigitFound

SOURCE_MAX_SIDE = 1024  # larger images are reduced (area averaging) first: plenty for one digit


class Drawing(NamedTuple):
    """A drawing on transparency, read from its opacity: no paper, no noise."""

    ink: Image.Image  # mode "L", 255 = full ink, 0 = none; longest side ≤ SOURCE_MAX_SIDE


class Page(NamedTuple):
    """A photo, scan or drawing on opaque paper: ink and paper both in the pixels."""

    image: Image.Image  # mode "L" or "RGB", longest side ≤ SOURCE_MAX_SIDE


def flatten(image: Image.Image) -> Drawing | Page:
    """``image`` in any mode as a Drawing or a Page, reduced to ≤ SOURCE_MAX_SIDE."""
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        return Page(_high_depth_to_grey(image))
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "1":
        # Bilevel scans are often dithered: a 5×5 mean turns the dot patterns back into grey (a
        # 3×3 one leaves the sparse dots of light paper as specks that faint ink would join).
        image = image.convert("L").filter(ImageFilter.BoxBlur(2))
    elif mode in ("PA", "La", "RGBa"):
        image = image.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        try:
            image = image.convert("RGB")
        except Exception as exc:
            raise InvalidImage(f"unsupported image mode {mode}") from exc
    image = _reduced(image)
    if image.mode in ("LA", "RGBA"):
        return _with_alpha(image)
    return Page(image)


def _reduced(image: Image.Image) -> Image.Image:
    """``image`` reduced by area averaging to ≤ SOURCE_MAX_SIDE (by a whole factor)."""
    factor = math.ceil(max(image.size) / SOURCE_MAX_SIDE)
    return image.reduce(factor) if factor > 1 else image


def _with_alpha(image: Image.Image) -> Drawing | Page:
    """An image with alpha: a Drawing when its transparent surroundings keep clear of the border,
    else a Page (opaque paper with transparent holes is composited over white)."""
    alpha = image.getchannel("A")
    ink_box = alpha.getbbox()  # around every pixel that is not fully transparent
    if ink_box is None or _clear_of_border(image.size, ink_box):
        return Drawing(alpha)
    colour_mode = "RGB" if image.mode == "RGBA" else "L"
    if alpha.getextrema()[0] == 255:
        return Page(image.convert(colour_mode))
    # Is the border opaque? Judged on a reduced copy: a few opaque border pixels are not paper.
    small_alpha = np.asarray(alpha.reduce(_border_block(image.size)), dtype=np.float32)
    border = np.concatenate([small_alpha[0], small_alpha[-1], small_alpha[:, 0], small_alpha[:, -1]])
    if 2 * np.count_nonzero(border >= 128) >= border.size:
        # Opaque paper with transparent holes: the holes are paper too.
        backdrop = Image.new(colour_mode, image.size, (255,) * len(colour_mode))
        return Page(Image.composite(image.convert(colour_mode), backdrop, alpha))
    return Drawing(alpha)


def _border_block(size: tuple[int, int]) -> int:
    """Side of the blocks in which the border of an image with alpha is judged."""
    return max(1, min(size) // 32)


def _clear_of_border(size: tuple[int, int], ink_box: tuple[int, int, int, int]) -> bool:
    """Whether the non-transparent pixels (in ``ink_box``) of an image of ``size`` keep clear of
    its outer ring of border blocks (see _border_block): then it is a drawing on transparency."""
    width, height = size
    block = _border_block(size)
    inner_right = (math.ceil(width / block) - 1) * block
    inner_bottom = (math.ceil(height / block) - 1) * block
    left, top, right, bottom = ink_box
    return left >= block and top >= block and right <= inner_right and bottom <= inner_bottom


def _high_depth_to_grey(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit integer or float images, rescaled by their evident range, as mode "L"."""
    if image.mode not in ("I", "F"):
        image = image.convert("I")
    values = np.asarray(_reduced(image), dtype=np.float32)
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


def unit_array(image: Image.Image) -> np.ndarray:
    """The pixels of a mode "L" image as (H, W) float32 in [0, 1]."""
    return np.asarray(image) * np.float32(1 / 255)
