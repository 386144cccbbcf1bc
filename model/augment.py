"""Training-time data augmentation that mimics what users draw and upload.

People's digits are shifted, rotated, slanted, scaled, and drawn thicker or thinner than
MNIST's. Each batch gets a fresh random affine jitter (rotation, scale, shear,
translation) and, for some images, a stroke-width change. Everything is vectorised over
the batch; images are (N, 1, H, W) float32 in [0, 1].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random jitter; each value is drawn uniformly in ±range."""

    rotation_degrees: float = 12.0
    scale: float = 0.12  # zoom factor in [1 − scale, 1 + scale]
    shear: float = 0.25  # horizontal shear (slant), x += shear · y
    translation: float = 2.5  # pixels
    thicken: float = 0.25  # fraction of images whose strokes are dilated
    thin: float = 0.15  # fraction of images whose strokes are eroded

    def as_dict(self) -> dict:
        return asdict(self)


NONE = Augmentation(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def random_affine(images: np.ndarray, rng: np.random.Generator, aug: Augmentation) -> np.ndarray:
    """Each image (N, 1, H, W) warped by its own random affine map about the centre,
    with bilinear sampling (zeros outside)."""
    n, _, h, w = images.shape
    angle = np.deg2rad(rng.uniform(-aug.rotation_degrees, aug.rotation_degrees, n))
    zoom = rng.uniform(1 - aug.scale, 1 + aug.scale, n)
    shear = rng.uniform(-aug.shear, aug.shear, n)
    shift = rng.uniform(-aug.translation, aug.translation, (n, 2))
    cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
    # Inverse map, output pixel → source pixel: rotate/zoom, then undo the shear.
    a11, a12 = cos, -sin + shear * cos
    a21, a22 = sin, cos + shear * sin
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    yc, xc = ys - (h - 1) / 2, xs - (w - 1) / 2
    src_x = a11[:, None, None] * (xc - shift[:, 0, None, None]) + a12[:, None, None] * (
        yc - shift[:, 1, None, None]
    )
    src_y = a21[:, None, None] * (xc - shift[:, 0, None, None]) + a22[:, None, None] * (
        yc - shift[:, 1, None, None]
    )
    return bilinear_sample(images[:, 0], src_x + (w - 1) / 2, src_y + (h - 1) / 2)[:, None]


def bilinear_sample(images: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample images (N, H, W) at float coordinates x, y (N, H, W); zero outside."""
    n, h, w = images.shape
    padded = np.zeros((n, h + 2, w + 2), dtype=np.float32)
    padded[:, 1:-1, 1:-1] = images
    # +1 for the zero border; clipping lands far-away samples on the border.
    x = np.clip(x + 1, 0, w + 0.999).astype(np.float32)
    y = np.clip(y + 1, 0, h + 0.999).astype(np.float32)
    x0, y0 = np.floor(x).astype(np.intp), np.floor(y).astype(np.intp)
    x0, y0 = np.minimum(x0, w), np.minimum(y0, h)
    fx, fy = x - x0, y - y0
    flat = padded.reshape(n, -1)
    base = y0 * (w + 2) + x0
    index = base.reshape(n, -1)

    def at(offset):
        return np.take_along_axis(flat, index + offset, axis=1).reshape(n, h, w)

    top = at(0) * (1 - fx) + at(1) * fx
    bottom = at(w + 2) * (1 - fx) + at(w + 3) * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _neighbourhood(images: np.ndarray, reduce) -> np.ndarray:
    """reduce (np.maximum or np.minimum) over each pixel and its 4 neighbours."""
    out = images.copy()
    reduce(out[..., 1:, :], images[..., :-1, :], out=out[..., 1:, :])
    reduce(out[..., :-1, :], images[..., 1:, :], out=out[..., :-1, :])
    reduce(out[..., :, 1:], images[..., :, :-1], out=out[..., :, 1:])
    reduce(out[..., :, :-1], images[..., :, 1:], out=out[..., :, :-1])
    return out


def random_stroke_width(images: np.ndarray, rng: np.random.Generator, aug: Augmentation) -> np.ndarray:
    """Dilate the strokes of a random fraction of images and erode those of another."""
    choice = rng.random(len(images))
    thicken = choice < aug.thicken
    thin = (choice >= aug.thicken) & (choice < aug.thicken + aug.thin)
    out = images.copy()
    if thicken.any():
        # Half a dilation: MNIST strokes are only ~2–3 px wide, a full one doubles them.
        grown = _neighbourhood(images[thicken], np.maximum)
        out[thicken] = 0.5 * (images[thicken] + grown)
    if thin.any():
        shrunk = _neighbourhood(images[thin], np.minimum)
        out[thin] = 0.5 * (images[thin] + shrunk)
    return out


def augment(images: np.ndarray, rng: np.random.Generator, aug: Augmentation) -> np.ndarray:
    """A randomly jittered copy of a batch (N, 1, H, W) float32 in [0, 1]."""
    if aug == NONE:
        return images
    out = random_stroke_width(images, rng, aug)
    out = random_affine(out, rng, aug)
    return np.clip(out, 0.0, 1.0, out=out)
