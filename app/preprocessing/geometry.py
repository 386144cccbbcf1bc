"""Measures of an image that both roads take: its whole-factor reduction, the ring of pixels
along its border, and the width of its strokes."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image


def reduction_factor(size: tuple[int, int], side: int) -> int:
    """The whole factor that reduces an image of ``size`` (width, height) to ≤ ``side``."""
    return max(1, math.ceil(max(size) / side))


def reduced(image: Image.Image, factor: int) -> Image.Image:
    """``image`` reduced ``factor``× by area averaging (itself when ``factor`` is 1)."""
    return image.reduce(factor) if factor > 1 else image


def border(values: np.ndarray) -> np.ndarray:
    """The outer ring of ``values`` (H, W): its first and last rows and columns, as one array
    (the corners twice)."""
    return np.concatenate([values[0], values[-1], values[:, 0], values[:, -1]])


def stroke_width(mask: np.ndarray, area: float | None = None) -> float:
    """The mean width in pixels of the strokes of ``mask`` (H, W bool): their area (``area``, else
    the count of ``mask``) over half their outline inside the image."""
    edges = np.count_nonzero(mask[:, 1:] != mask[:, :-1]) + np.count_nonzero(mask[1:] != mask[:-1])
    return 2 * (float(np.count_nonzero(mask)) if area is None else area) / max(edges, 1)


def unit_array(image: Image.Image) -> np.ndarray:
    """The pixels of a mode "L" image as (H, W) float32 in [0, 1]."""
    return np.asarray(image) * np.float32(1 / 255)
