"""Any decoded image → a Drawing (ink on transparency) or a Page (ink on paper) of bounded size.

A drawing on transparency (a canvas export) keeps its ink in alpha: the colour of its
transparent pixels means nothing (often black), and a browser keeps the ink's colour exactly
only where the ink is solid. So its opacity is the ink, whatever the colour. Every other image
is a page, made grey or RGB by ``photo.page``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from PIL import Image

from app.preprocessing.geometry import border, reduced, reduction_factor
from app.preprocessing.photo.page import as_page

SOURCE_MAX_SIDE = 1024  # larger images are reduced (area averaging) first: plenty for one digit


class Drawing(NamedTuple):
    """A drawing on transparency, read from its opacity: no paper, no noise."""

    ink: Image.Image  # mode "L", 255 = full ink, 0 = none; longest side ≤ SOURCE_MAX_SIDE


class Page(NamedTuple):
    """A photo, scan or drawing on opaque paper: ink and paper both in the pixels."""

    image: Image.Image  # mode "L" or "RGB", longest side ≤ SOURCE_MAX_SIDE


def flatten(image: Image.Image) -> Drawing | Page:
    """``image`` in any mode as a Drawing or a Page, reduced to ≤ SOURCE_MAX_SIDE."""
    if image.mode in ("PA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
    if image.mode in ("LA", "RGBA"):
        image = reduced(image, reduction_factor(image.size, SOURCE_MAX_SIDE))
        if _is_drawing(image):
            return Drawing(image.getchannel("A"))
    return Page(as_page(image, SOURCE_MAX_SIDE))


def _is_drawing(image: Image.Image) -> bool:
    """Whether an image with alpha is a drawing on transparency: its transparent surroundings keep
    clear of the border, or most of its border is transparent. Otherwise it is opaque paper,
    perhaps with transparent holes."""
    alpha = image.getchannel("A")
    ink_box = alpha.getbbox()  # around every pixel that is not fully transparent
    if ink_box is None or _clear_of_border(image.size, ink_box):
        return True
    if alpha.getextrema()[0] == 255:
        return False
    # Is the border opaque? Judged on a reduced copy: a few opaque border pixels are not paper.
    ring = border(np.asarray(alpha.reduce(_border_block(image.size)), dtype=np.float32))
    return 2 * np.count_nonzero(ring >= 128) < ring.size


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
