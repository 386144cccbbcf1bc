"""Training-time data augmentation that mimics what users draw and upload.

People's digits are shifted, rotated, slanted, scaled, and drawn thicker or thinner than
MNIST's. Each batch gets a fresh random affine jitter (rotation, scale, shear,
translation) and, for some images, a stroke-width change. Everything is vectorised over
the batch; images are (N, 1, H, W) float32 in [0, 1].

Many people (most of Europe) write a 1 with a long flag, which MNIST's American 1s rarely
have: without help the network reads such a 1 as a 7. Some of the 1s of each batch get a flag
drawn from the top of their stem down to the left, steeper than a 7's bar.

A number's touching digits are parted by upright cuts (app/preprocessing/cuts.py), and where a
digit leans into its neighbour the cut takes a slice of its side: a 9 that lost the side of its
loop read as a sure 7, a 6 as a 5. Some digits of each batch lose a slice of one side, labelled
as before (``clip_sides``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from model import mnist_geometry
from model.outliers import to_mnist_form


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random jitter; each value is drawn uniformly in ±range."""

    rotation_degrees: float = 12.0
    scale: float = 0.12  # zoom factor in [1 − scale, 1 + scale]
    shear: float = 0.25  # horizontal shear (slant), x += shear · y
    translation: float = 2.5  # pixels
    thicken: float = 0.25  # fraction of images whose strokes are dilated
    thin: float = 0.15  # fraction of images whose strokes are eroded
    flag_ones: float = 0.3  # fraction of the 1s given a European flag (flag_ones())
    clip_sides: float = 0.2  # fraction of the other digits with a slice of one side cut off (clip_sides())

    def as_dict(self) -> dict:
        return asdict(self)


NONE = Augmentation(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
# A flag's length as a share of the 1's height, and its angle to the stem: on an upright 1, 25–65°
# below the horizontal, steeper than the bar of a 7, which is level.
FLAG_LENGTH = (0.15, 0.5)
FLAG_DEGREES = (25.0, 65.0)
FLAG_MIN_DROP = np.sin(np.deg2rad(20.0))  # a flag falls at least 20° below the horizontal
CLIP = (0.05, 0.2)  # the slice cut off, as a share of the digit's width
CLIP_SCALE = 3  # cut at this many times MNIST's resolution, so a slice finer than a pixel counts


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


def flag_ones(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """A copy of images (N, 1, H, W) in which ``share`` of those labelled 1 have a flag: a straight
    stroke from the top of the stem down to the left, FLAG_LENGTH of the ink's height long and
    FLAG_DEGREES away from the stem (a slanted 1's flag slants with it), as wide as the stroke
    (ink area / height)."""
    out = images.copy()
    chosen = np.flatnonzero((labels == 1) & (rng.random(len(labels)) < share))
    _, _, h, w = images.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in chosen:
        image = out[i, 0]
        rows = np.flatnonzero(image.max(axis=1) > 0.5)
        if len(rows) < 4:
            continue
        top, bottom = rows[0], rows[-1]
        height = bottom - top + 1
        top_x = float(np.average(np.arange(w), weights=image[top] + 1e-6))
        bottom_x = float(np.average(np.arange(w), weights=image[bottom] + 1e-6))
        width = float(np.clip(image.sum() / height, 1.5, 4.0))
        # The stem's direction (top → bottom), turned toward the left by the flag's angle.
        stem = np.array([bottom_x - top_x, bottom - top]) / np.hypot(bottom_x - top_x, bottom - top)
        turn = np.deg2rad(rng.uniform(*FLAG_DEGREES))
        flag_x = np.cos(turn) * stem[0] - np.sin(turn) * stem[1]
        flag_y = np.sin(turn) * stem[0] + np.cos(turn) * stem[1]
        length = rng.uniform(*FLAG_LENGTH) * height
        if flag_y < FLAG_MIN_DROP:
            continue  # a slanted 1 turned this far would have a 7's level bar
        end_x, end_y = top_x + length * flag_x, top + length * flag_y
        # Distance of every pixel to the segment top → end, then a soft-edged stroke of that width.
        dx, dy = end_x - top_x, end_y - top
        t = np.clip(((xs - top_x) * dx + (ys - top) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        distance = np.hypot(xs - (top_x + t * dx), ys - (top + t * dy))
        flag = np.clip(width / 2 + 0.5 - distance, 0.0, 1.0)
        np.maximum(image, flag, out=image)
    return out


def clip_sides(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """A copy of images (N, 1, 28, 28) in which ``share`` of those not labelled 1 lose a slice of
    their left or right side, CLIP of their ink's width, and are put back in MNIST's form (fitted
    to 20×20, centred by mass) as the app puts every cut stretch. (A 1 is too narrow for a slice
    of it to teach anything.)"""
    out = images.copy()
    for i in np.flatnonzero((rng.random(len(images)) < share) & (labels != 1)):
        crop = mnist_geometry.ink_crop(images[i, 0])
        if crop is None:
            continue
        rows, cols = crop.shape
        height = rows * CLIP_SCALE
        width = max(1, round(cols * height / rows))
        resized = Image.fromarray(crop.astype(np.float32)).resize((width, height), Image.Resampling.BILINEAR)
        ink = np.clip(np.asarray(resized), 0.0, 1.0)
        cut = round(rng.uniform(*CLIP) * width)
        if cut < 1:
            continue
        kept = ink[:, cut:] if rng.random() < 0.5 else ink[:, : width - cut]
        if kept.max() > 0:
            out[i, 0] = to_mnist_form(kept)
    return out


def augment(images: np.ndarray, rng: np.random.Generator, aug: Augmentation) -> np.ndarray:
    """A randomly jittered copy of a batch (N, 1, H, W) float32 in [0, 1] (flags and clipped
    sides aside: they need the labels, see ``flag_ones`` and ``clip_sides``)."""
    if aug == NONE:
        return images
    out = random_stroke_width(images, rng, aug)
    out = random_affine(out, rng, aug)
    return np.clip(out, 0.0, 1.0, out=out)
