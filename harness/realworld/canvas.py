"""Digits drawn as a mouse or finger draws them on the page's 280×280 transparent canvas:
polyline skeletons with jitter, a round brush, anti-aliased."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from harness.realworld.samples import Sample, png_upload
from harness.strokes import arc

# Digit skeletons in a unit box (x right, y down), as people draw them: a list of strokes.
TEMPLATES: dict[int, list[list[list[tuple[float, float]]]]] = {
    0: [[arc(0.5, 0.5, 0.3, 0.5, -90, 275, 36)], [arc(0.5, 0.5, 0.34, 0.48, -100, 250, 36)]],
    1: [[[(0.5, 0.0), (0.5, 1.0)]], [[(0.32, 0.18), (0.55, 0.0), (0.5, 1.0)]], [[(0.58, 0.0), (0.42, 1.0)]]],
    2: [
        [arc(0.5, 0.28, 0.3, 0.28, 190, 390, 20) + [(0.18, 1.0), (0.85, 1.0)]],
        [arc(0.48, 0.3, 0.3, 0.3, 200, 400, 20) + [(0.2, 0.95), (0.3, 0.9), (0.85, 0.98)]],
    ],
    3: [
        [arc(0.5, 0.27, 0.27, 0.26, 200, 450, 20) + arc(0.5, 0.74, 0.3, 0.26, 270, 520, 20)],
        [[(0.2, 0.02), (0.75, 0.02), (0.45, 0.45)] + arc(0.5, 0.72, 0.3, 0.27, 260, 510, 20)],
    ],
    4: [
        [[(0.6, 0.0), (0.12, 0.66), (0.88, 0.66)], [(0.66, 0.3), (0.66, 1.0)]],
        [[(0.25, 0.0), (0.2, 0.6), (0.85, 0.6)], [(0.72, 0.05), (0.7, 1.0)]],
    ],
    5: [
        [[(0.78, 0.0), (0.3, 0.0), (0.27, 0.46)] + arc(0.48, 0.7, 0.3, 0.28, 235, 500, 20)],
        [[(0.3, 0.0), (0.25, 0.45)] + arc(0.48, 0.7, 0.3, 0.28, 235, 500, 20), [(0.3, 0.0), (0.8, 0.02)]],
    ],
    6: [
        [[(0.72, 0.02), (0.45, 0.15), (0.28, 0.45)] + arc(0.5, 0.72, 0.28, 0.27, 180, -180, 30)],
        [arc(0.9, 0.55, 0.65, 0.55, 250, 180, 10) + arc(0.52, 0.74, 0.27, 0.25, 180, -175, 30)],
    ],
    7: [
        [[(0.12, 0.02), (0.88, 0.02), (0.4, 1.0)]],
        [[(0.15, 0.05), (0.85, 0.02), (0.5, 1.0)], [(0.4, 0.5), (0.8, 0.5)]],
    ],
    8: [
        [arc(0.5, 0.26, 0.24, 0.25, 0, 360, 28), arc(0.5, 0.74, 0.3, 0.26, 0, 360, 28)],
        [
            arc(0.5, 0.25, 0.25, 0.24, 0, -270, 20)
            + arc(0.5, 0.73, 0.28, 0.26, 270, 630, 32)
            + arc(0.5, 0.25, 0.25, 0.24, 90, 0, 8)
        ],
    ],
    9: [
        [arc(0.45, 0.28, 0.27, 0.27, 0, 360, 30), [(0.72, 0.28), (0.66, 1.0)]],
        [arc(0.5, 0.3, 0.28, 0.28, 10, 370, 30) + [(0.76, 0.6), (0.62, 1.0)]],
    ],
}

CANVAS = 280
SUPERSAMPLE = 4  # strokes are drawn at 4× and reduced, as anti-aliased as a browser's canvas
CANVAS_STYLES = {
    # kind: (brush width range in canvas px, digit height range, placement)
    "canvas": ((9, 16), (150, 230), "centre"),
    "canvas_thin": ((1, 3), (150, 240), "centre"),
    "canvas_thick": ((24, 36), (170, 250), "centre"),
    "canvas_small_corner": ((5, 10), (45, 90), "corner"),
    "canvas_offcentre": ((8, 16), (100, 160), "anywhere"),
}


def jittered(strokes, rng: np.random.Generator, height: float, origin: tuple[float, float]):
    """The unit-box strokes slanted, rotated, squeezed and wobbled, in canvas pixels."""
    angle = math.radians(rng.uniform(-10, 10))
    shear = rng.uniform(-0.25, 0.15)
    squeeze = rng.uniform(0.75, 1.15)
    cos, sin = math.cos(angle), math.sin(angle)
    result = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64)
        points = points + rng.normal(0, 0.012, points.shape)
        x = (points[:, 0] - 0.5) * squeeze + shear * (points[:, 1] - 0.5)
        y = points[:, 1] - 0.5
        xr, yr = cos * x - sin * y, sin * x + cos * y
        result.append(
            [(origin[0] + px * height, origin[1] + py * height) for px, py in zip(xr, yr, strict=True)]
        )
    return result


def inside_canvas(strokes, brush: float):
    """The strokes shrunk and shifted, if need be, so that the whole brush stays on the canvas."""
    points = np.array([p for stroke in strokes for p in stroke])
    margin = brush / 2 + 3
    low, high = points.min(axis=0), points.max(axis=0)
    shrink = min(1.0, (CANVAS - 2 * margin) / max(float((high - low).max()), 1.0))
    centre = (low + high) / 2
    points = [[centre + (np.array(p) - centre) * shrink for p in stroke] for stroke in strokes]
    low, high = centre + (low - centre) * shrink - margin, centre + (high - centre) * shrink + margin
    shift = np.clip(0 - low, 0, None) - np.clip(high - CANVAS, 0, None)
    return [[(float(x + shift[0]), float(y + shift[1])) for x, y in stroke] for stroke in points]


def draw_canvas(strokes, width: float, size: tuple[int, int] = (CANVAS, CANVAS)) -> Image.Image:
    """Black round-brush strokes on a transparent RGBA image of ``size`` (CANVAS×CANVAS by
    default), anti-aliased."""
    big = Image.new("L", (size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(big)
    brush = max(1, round(width * SUPERSAMPLE))
    for stroke in strokes:
        scaled = [(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in stroke]
        draw.line(scaled, fill=255, width=brush, joint="curve")
        radius = brush / 2
        for x, y in (scaled[0], scaled[-1]):
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    alpha = big.reduce(SUPERSAMPLE)
    canvas = Image.new("RGBA", alpha.size, (0, 0, 0, 0))
    canvas.putalpha(alpha)
    return canvas


def canvas_samples(rng: np.random.Generator) -> list[Sample]:
    """Every template of every digit in every canvas style."""
    samples = []
    for kind, ((thin, thick), (low, high), placement) in CANVAS_STYLES.items():
        for digit, variants in TEMPLATES.items():
            for variant, strokes in enumerate(variants):
                brush = rng.uniform(thin, thick)
                height = rng.uniform(low, high)
                half = height / 2 + brush
                if placement == "centre":
                    origin = (CANVAS / 2 + rng.uniform(-15, 15), CANVAS / 2 + rng.uniform(-15, 15))
                elif placement == "corner":
                    cx = half + 4 if rng.random() < 0.5 else CANVAS - half - 4
                    cy = half + 4 if rng.random() < 0.5 else CANVAS - half - 4
                    origin = (cx, cy)
                else:
                    origin = (rng.uniform(half, CANVAS - half), rng.uniform(half, CANVAS - half))
                image = draw_canvas(inside_canvas(jittered(strokes, rng, height, origin), brush), brush)
                note = f"template {variant}, brush {brush:.1f}px, height {height:.0f}px"
                samples.append(Sample(kind, digit, *png_upload(image), note))
    return samples
