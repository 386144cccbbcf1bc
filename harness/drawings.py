"""Images for the preprocessing tests: an anti-aliased 7 as ink coverage, painted on paper or a
transparent canvas and encoded, and measures of how alike two network inputs are."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from harness.images import encode
from harness.preprocessing import preprocess

LIMIT = 4096 * 4096


def seven_coverage(size=280, width=None, box=None) -> np.ndarray:
    """An anti-aliased 7 (top bar and a slanted stem) as ink coverage (size, size) in [0, 1];
    by default the same drawing at any size."""
    width = 18 * size / 280 if width is None else width
    box = tuple(v * size / 280 for v in (70, 50, 210, 240)) if box is None else box
    scale = 4
    big = Image.new("L", (size * scale, size * scale), 0)
    left, top, right, bottom = (v * scale for v in box)
    points = [(left, top), (right, top), (left + (right - left) * 0.35, bottom)]
    draw = ImageDraw.Draw(big)
    draw.line(points, fill=255, width=max(1, round(width * scale)), joint="curve")
    for x, y in (points[0], points[-1]):
        r = width * scale / 2
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(big.reduce(scale), dtype=np.float32) / 255


def zero_coverage(size=280, width=None) -> np.ndarray:
    """An anti-aliased 0 (an upright ellipse) as ink coverage (size, size) in [0, 1]."""
    width = 20 * size / 280 if width is None else width
    scale = 4
    big = Image.new("L", (size * scale, size * scale), 0)
    box = [v * size / 280 * scale for v in (80, 40, 200, 240)]
    ImageDraw.Draw(big).ellipse(box, outline=255, width=max(1, round(width * scale)))
    return np.asarray(big.reduce(scale), dtype=np.float32) / 255


def grainy_paper(shape, sigma, seed=0, tone=240) -> np.ndarray:
    """Off-white paper (H, W, 3) with seeded grain of standard deviation ``sigma`` (of 255)."""
    rng = np.random.default_rng(seed)
    grain = rng.normal(0, sigma, (*shape, 1)).astype(np.float32)
    return np.float32([tone, tone - 2, tone - 8]) + grain


def paint(coverage, paper=(245, 243, 238), ink=(20, 20, 25)) -> Image.Image:
    """Coverage laid in ``ink`` over ``paper`` (RGB colours, or arrays broadcastable to H×W×3)."""
    mixed = (
        np.asarray(paper, np.float32) * (1 - coverage[..., None])
        + np.asarray(ink, np.float32) * coverage[..., None]
    )
    return Image.fromarray(np.clip(mixed + 0.5, 0, 255).astype(np.uint8), "RGB")


def canvas(coverage, colour=(0, 0, 0)) -> Image.Image:
    """Ink only in alpha on a transparent canvas, the way a browser exports a drawing."""
    rgba = np.zeros((*coverage.shape, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = np.clip(coverage * 255 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def browser_canvas(coverage, colour) -> Image.Image:
    """A drawing as a browser's canvas exports it: the colour only where there is ink (and
    rounded through premultiplied alpha, so faint edge pixels drift darker), transparent black
    everywhere else."""
    alpha = np.clip(coverage * 255 + 0.5, 0, 255).astype(np.uint8)
    premultiplied = np.rint(np.float32(colour) * alpha[..., None] / 255)
    rgba = np.zeros((*coverage.shape, 4), np.uint8)
    rgba[..., :3] = np.clip(np.rint(premultiplied * 255 / np.maximum(alpha[..., None], 1)), 0, 255)
    rgba[..., 3] = alpha
    return Image.fromarray(rgba, "RGBA")


def sharp_shadow(size: int, angle_degrees: float, offset: float, depth: float = 0.35) -> np.ndarray:
    """A phone's shadow: paper brightness (size, size) with one side of a straight edge darker."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = math.radians(angle_degrees)
    side = (xs - size / 2) * math.cos(angle) + (ys - size / 2) * math.sin(angle) - offset
    return 1.0 - depth * (side > 0)


def roundtrip(image: Image.Image, fmt="PNG", **options) -> np.ndarray:
    """The network input for ``image`` saved as a ``fmt`` file."""
    return preprocess(encode(image, fmt, **options), LIMIT)


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, in pixel-edge coordinates (the frame's centre is 14)."""
    rows, cols = np.indices(x.shape)
    return float(((rows + 0.5) * x).sum() / x.sum()), float(((cols + 0.5) * x).sum() / x.sum())


def assert_mnist_like(x: np.ndarray) -> None:
    assert x.shape == (28, 28)
    assert x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert x.max() > 0.9, "the stroke core should be full ink"
    ink = np.argwhere(x > 0.05)
    height, width = ink.max(axis=0) - ink.min(axis=0) + 1
    assert 17 <= max(height, width) <= 20, "the ink's box should fit 20×20"


def _soften(x: np.ndarray) -> np.ndarray:
    """A 3×3 mean: strokes one pixel apart still overlap."""
    padded = np.pad(x, 1)
    return sum(padded[dy : dy + 28, dx : dx + 28] for dy in range(3) for dx in range(3)) / 9


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two 28×28 inputs, softened and at the best shift of up to a pixel (centring
    by mass rounds to whole pixels, and resampling moves a thin stroke by a pixel): 1 for the
    same picture, ~0.5 for two different digits."""
    a, b = _soften(a), _soften(b)
    best = -1.0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = np.roll(b, (dy, dx), axis=(0, 1))
            best = max(best, float(np.corrcoef(a.ravel(), shifted.ravel())[0, 1]))
    return best


def ink_away_from(x: np.ndarray, reference: np.ndarray) -> float:
    """Ink in ``x`` more than two pixels from any stroke of ``reference`` (both 28×28)."""
    near = reference > 0.05
    for _ in range(2):
        grown = near.copy()
        grown[1:] |= near[:-1]
        grown[:-1] |= near[1:]
        grown[:, 1:] |= near[:, :-1]
        grown[:, :-1] |= near[:, 1:]
        near = grown
    return float(x[~near].sum())
