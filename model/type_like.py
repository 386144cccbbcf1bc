"""Type-like digits for training: digits shaped as type is, drawn with a pen, no font file used.

MNIST is handwriting. Typed numbers (a printed form, a house number, a screenshot) have shapes
few MNIST digits have: a 9 whose tail curls round to the left under its bowl (read as a 0), a
closed 4 with a thin diagonal and a heavy stem (read as a 1), thick and thin strokes, serifs and
round "ball" ends. A few of each training batch are such digits (``TypeLike.per_batch``).

Why not typeset digits in fonts? The installed fonts (DejaVu and Liberation) are exactly the
fonts the measurement sets typeset their digits in (``harness.numbers``, ``harness.realworld``):
a network trained on them would be measured on its own training images. So each digit is a few
strokes in a unit box (``SKELETONS``: the letterforms of common book and sans-serif faces, not
traced from any font), varied at random — width, weight, slant, stroke contrast, serifs, ball
ends, the points themselves — and drawn by a broad nib: a pen whose trace is wide along one
direction and hair-thin across it, as type's vertical strokes are heavy and its horizontals
light. Then put in MNIST's form like the non-digits of outlier exposure (``model.outliers``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

from model.outliers import to_mnist_form

CANVAS = 112  # drawn at this size, then fitted to MNIST's 20×20 box
HEIGHT = 84  # a glyph's height on the canvas, in pixels


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 24) -> list:
    """Points of an elliptic arc, angles in degrees (0 = right, 90 = down: y grows downward)."""
    t = np.deg2rad(np.linspace(start, end, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t), strict=True))


# Each digit: variants, each a list of strokes, each a list of (x, y) in a box 0.6 wide and 1
# high (y down). The pen draws them as they are listed.
NINE_CURLED = [_arc(0.3, 0.3, 0.26, 0.3, 0, 360, 36),
               [*_arc(0.3, 0.3, 0.26, 0.3, 0, 20, 3), *_arc(0.02, 0.42, 0.54, 0.56, 0, 105, 20)]]
NINE_STRAIGHT = [_arc(0.3, 0.3, 0.26, 0.3, 0, 360, 36), [(0.56, 0.3), (0.55, 1.0)]]
NINE_HOOKED = [_arc(0.3, 0.3, 0.26, 0.3, 0, 360, 36),
               [(0.56, 0.3), (0.55, 0.75), *_arc(0.33, 0.75, 0.22, 0.25, 0, 120, 10)]]


def _turned(strokes: list) -> list:
    """The strokes turned half round in the 0.6 × 1 box (a 9 becomes a 6)."""
    return [[(0.6 - x, 1.0 - y) for x, y in stroke] for stroke in strokes]


SKELETONS: dict[int, list[list]] = {
    0: [[_arc(0.3, 0.5, 0.28, 0.5, -90, 270, 48)]],
    1: [[[(0.08, 0.2), (0.34, 0.0), (0.34, 1.0)]],  # a flag
        [[(0.15, 0.14), (0.34, 0.0), (0.34, 1.0)], [(0.1, 1.0), (0.58, 1.0)]]],  # a flag and a foot
    2: [[[*_arc(0.3, 0.27, 0.25, 0.26, 195, 360, 14), *_arc(0.3, 0.27, 0.25, 0.26, 0, 60, 6),
          (0.02, 1.0), (0.6, 1.0)]],
        [[*_arc(0.3, 0.28, 0.26, 0.27, 190, 380, 18), *_arc(0.88, 1.1, 0.86, 0.72, 225, 180, 10),
          (0.6, 1.0)]]],
    3: [[[*_arc(0.28, 0.25, 0.24, 0.24, 200, 450, 22), (0.22, 0.49),
          *_arc(0.28, 0.73, 0.29, 0.27, -90, 160, 24)]],
        [[(0.06, 0.0), (0.54, 0.0), (0.24, 0.42), *_arc(0.27, 0.7, 0.3, 0.29, -80, 160, 24)]]],
    4: [[[(0.45, 1.0), (0.45, 0.0), (0.02, 0.7), (0.6, 0.7)]],  # closed
        [[(0.2, 0.0), (0.02, 0.68), (0.6, 0.68)], [(0.45, 0.3), (0.45, 1.0)]]],  # open
    5: [[[(0.55, 0.0), (0.12, 0.0), (0.08, 0.46), *_arc(0.28, 0.69, 0.3, 0.3, -130, 150, 26)]],
        [[(0.55, 0.0), (0.14, 0.0), (0.1, 0.44), *_arc(0.27, 0.7, 0.3, 0.3, -140, 110, 22),
          *_arc(0.27, 0.7, 0.3, 0.3, 110, 160, 4)]]],
    6: [_turned(NINE_CURLED), _turned(NINE_HOOKED)],
    7: [[[(0.02, 0.0), (0.6, 0.0), (0.22, 1.0)]],
        [[(0.02, 0.0), (0.6, 0.0), *_arc(1.2, 1.0, 0.95, 1.0, 210, 180, 10)]]],
    8: [[_arc(0.3, 0.24, 0.23, 0.24, 90, 450, 36), _arc(0.3, 0.73, 0.28, 0.27, -90, 270, 40)]],
    9: [NINE_CURLED, NINE_STRAIGHT, NINE_HOOKED],
}


@dataclass(frozen=True)
class TypeLike:
    """The settings of a run with type-like digits (recorded in the model card)."""

    per_batch: int = 5  # type-like digits added to each batch of 100 MNIST digits
    pool: int = 10_000  # distinct ones, drawn once per run and jittered per batch

    def as_dict(self) -> dict:
        return {**asdict(self), "fonts": "none (model.type_like draws them)"}


def _nib_stroke(draw: ImageDraw.ImageDraw, points: np.ndarray, nib: np.ndarray, hair: float) -> None:
    """``points`` (n, 2) traced by a broad nib: the segment ±``nib`` (2,) swept along the path,
    widened everywhere to ``hair`` pixels."""
    for p, q in zip(points[:-1], points[1:], strict=True):
        draw.polygon([tuple(p + nib), tuple(q + nib), tuple(q - nib), tuple(p - nib)], fill=255)
    draw.line([tuple(p) for p in points], fill=255, width=max(1, round(hair)), joint="curve")


def _dense(stroke: np.ndarray, step: float = 1.5) -> np.ndarray:
    """The polyline ``stroke`` (n, 2) resampled every ``step`` pixels along its length."""
    lengths = np.hypot(*np.diff(stroke, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(lengths)])
    t = np.linspace(0, along[-1], max(2, int(along[-1] / step)))
    return np.stack([np.interp(t, along, stroke[:, k]) for k in range(2)], axis=1)


def _ends(stroke: np.ndarray) -> tuple[str | None, str | None]:
    """What each end of a skeleton ``stroke`` (n, 2) may get: "foot" (the bottom of a straight
    stem: a level serif), "curve" (the end of a curve: a ball) or None (a closed loop, a bar)."""
    if np.hypot(*(stroke[0] - stroke[-1])) < 0.05:
        return None, None
    kinds = []
    for end, before in ((stroke[0], stroke[1]), (stroke[-1], stroke[-2])):
        dx, dy = end - before
        if math.hypot(dx, dy) < 0.2:
            kinds.append("curve")
        elif end[1] > 0.95 and abs(dy) > 4 * abs(dx):
            kinds.append("foot")
        else:
            kinds.append(None)
    return kinds[0], kinds[1]


def draw_digit(digit: int, rng: np.random.Generator) -> np.ndarray:
    """One type-like ``digit`` as ink (CANVAS, CANVAS) in [0, 1]: a random variant of its
    skeleton, random width, weight, slant and contrast, sometimes serifs and ball ends."""
    variants = SKELETONS[digit]
    strokes = [np.array(s, dtype=np.float64) for s in variants[int(rng.integers(len(variants)))]]
    width_scale = rng.uniform(0.75, 1.25)  # condensed … extended
    slant = rng.uniform(0.0, 0.25) if rng.random() < 0.25 else 0.0  # italic
    jitter = rng.normal(0, 0.015, (2,))
    weight = rng.uniform(0.07, 0.2) * HEIGHT  # the heavy strokes' width
    contrast = rng.uniform(0.15, 1.0)  # hairline / heavy stroke: 1 is a monoline (sans) face
    hair = max(1.5, contrast * weight)
    angle = np.deg2rad(rng.uniform(-15, 35))  # the nib's angle to the horizontal
    nib = 0.5 * max(weight - hair, 0.0) * np.array([math.cos(angle), -math.sin(angle)])
    serifs, balls = rng.random() < 0.5, rng.random() < 0.4
    top = (CANVAS - HEIGHT) / 2
    left = (CANVAS - 0.6 * width_scale * HEIGHT) / 2
    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        ends = _ends(stroke)
        stroke = stroke + jitter + rng.normal(0, 0.008, stroke.shape)
        x = left + (stroke[:, 0] * width_scale + slant * (1 - stroke[:, 1])) * HEIGHT
        points = _dense(np.stack([x, top + stroke[:, 1] * HEIGHT], axis=1))
        _nib_stroke(draw, points, nib, hair)
        for end, kind in zip((points[0], points[-1]), ends, strict=True):
            if kind == "foot" and serifs:
                half = rng.uniform(0.12, 0.22) * HEIGHT
                draw.line([(end[0] - half, end[1]), (end[0] + half, end[1])], fill=255,
                          width=max(1, round(hair * rng.uniform(1.0, 1.6))))
            elif kind == "curve" and balls:
                radius = 0.5 * weight * rng.uniform(0.8, 1.2)
                draw.ellipse((end[0] - radius, end[1] - radius, end[0] + radius, end[1] + radius), fill=255)
    return np.asarray(image, dtype=np.float32) / 255.0


def generate(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` type-like digits (count, 1, 28, 28) float32 in MNIST's form and their labels
    (count,), the digits taking turns."""
    labels = np.arange(count) % 10
    images = np.empty((count, 1, 28, 28), dtype=np.float32)
    for i, digit in enumerate(labels):
        images[i, 0] = to_mnist_form(draw_digit(int(digit), rng))
    return images, labels


class TypeLikeBatches:
    """A pool of type-like digits drawn once; ``next`` gives ``per_batch`` of them at random, with
    their labels (jittered later, with the MNIST digits they join)."""

    def __init__(self, settings: TypeLike, rng: np.random.Generator):
        self.settings = settings
        self.rng = rng
        self.images, self.labels = generate(settings.pool, rng)

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        index = self.rng.integers(0, len(self.images), self.settings.per_batch)
        return self.images[index], self.labels[index]
