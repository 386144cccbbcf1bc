"""Two training digits side by side, touching or crossing as a number's digits do.

A number whose digits touch is read by cutting it into upright stretches and reading each
(app/preprocessing/cuts.py); a cut is kept when its stretches read as confident digits and the
whole does not. MNIST's digits stand alone, so the network had never seen two digits in one
image and read many such pairs as one sure digit (a touching "16" as a sure 8): the cut that
parts them then loses. Outlier exposure (model.outlier_exposure) shows it pairs drawn here,
whole and in MNIST's form (fitted to 20×20, centred by mass), as no digit.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from model import mnist_geometry
from model.outliers import to_mnist_form

SCALE = 3  # composed at this many times MNIST's resolution, so offsets finer than a pixel count
NEIGHBOUR_HEIGHT = (0.8, 1.2)  # the neighbour's height, as a share of the digit's
NEIGHBOUR_DROP = 0.12  # its middle up to this share of the digit's height above or below
OVERLAP = (0.0, 0.2)  # how far its box reaches into the digit's, as a share of the digit's height


def touching_pairs(images: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` images (count, 1, 28, 28) of two of ``images`` (N, 1, 28, 28) side by side,
    touching or crossing as a number's digits do, whole, in MNIST's form: not one digit, for
    outlier exposure (a stretch holding two digits should not read as a sure one)."""
    out = np.zeros((count, 1, 28, 28), dtype=np.float32)
    for k in range(count):
        i, j = rng.choice(len(images), 2, replace=False)
        first = _upscaled(images[i, 0])
        second = None if first is None else _upscaled(images[j, 0], _neighbour_height(first, rng))
        if second is not None:
            out[k, 0] = to_mnist_form(_beside(first, second, rng))
    return out


def _upscaled(image: np.ndarray, height: int | None = None) -> np.ndarray | None:
    """The ink of ``image`` (28, 28) cropped and scaled up SCALE times, or to ``height`` rows."""
    crop = mnist_geometry.ink_crop(image)
    if crop is None:
        return None
    rows, cols = crop.shape
    height = height or rows * SCALE
    width = max(1, round(cols * height / rows))
    resized = Image.fromarray(crop.astype(np.float32)).resize((width, height), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized), 0.0, 1.0)


def _neighbour_height(ink: np.ndarray, rng: np.random.Generator) -> int:
    return round(ink.shape[0] * rng.uniform(*NEIGHBOUR_HEIGHT))


def _beside(ink: np.ndarray, other: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``ink`` (h, w) with ``other`` (h', w') set on its right, its box reaching OVERLAP into
    ink's and its middle up to NEIGHBOUR_DROP higher or lower: the pair (rows, w'')."""
    height, width = ink.shape
    other_height, other_width = other.shape
    overlap = round(rng.uniform(*OVERLAP) * height)
    left = max(0, width - min(overlap, other_width - 1))
    top = round((height - other_height) / 2 + rng.uniform(-NEIGHBOUR_DROP, NEIGHBOUR_DROP) * height)
    rows = max(top + other_height, height) - min(top, 0)
    canvas = np.zeros((rows, max(width, left + other_width)), dtype=np.float32)
    shift = -min(top, 0)  # the first row of ink on the canvas
    canvas[shift : shift + height, :width] = ink
    region = canvas[shift + top : shift + top + other_height, left : left + other_width]
    np.maximum(region, other, out=region)
    return canvas
