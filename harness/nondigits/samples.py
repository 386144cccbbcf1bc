"""The non-digit set: uploads that show no digit, each with its kind.

* ``letters_typed`` / ``symbols_typed``: characters typeset in the installed Liberation fonts,
  dark on light paper, at random size and place (the model's outlier training uses DejaVu only);
* ``letters_drawn`` / ``symbols_drawn`` / ``shapes``: strokes from hand-made skeletons (capital
  and small letters, signs, squares, stars, hearts, houses, smileys, arrows…), jittered;
* ``scribbles``: zig-zags, coils, hatching, random walks and tangles;
* ``blobs``: filled round and ragged blots.

Drawn kinds come on the page's 280×280 canvas, transparent with near-black ink as the page
sends it, and on an opaque white canvas; the set is seeded and made in memory.

Left out, because they look like digits when drawn by hand: O o Q D C c (0), I l i j J T t
(1, 7), Z z (2), S s (5), G b (6), B (8), g q (9); ! ? / \\ | ( ) [ ] { } . , - _ : ; $ and a
single straight line or a plain circle or oval (1, 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from harness.images import encode
from harness.strokes import arc

SEED = 20261130
CANVAS = 280
SUPERSAMPLE = 3
LETTERS = "AEFHKLMNPRUVWXYadefhkmnpruvwxy"
SYMBOLS = "#%&@*+=<>~^"
KINDS = ("letters_typed", "symbols_typed", "letters_drawn", "symbols_drawn", "shapes", "scribbles", "blobs")
FONT_DIRECTORIES = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))


@dataclass(frozen=True)
class NonDigit:
    kind: str
    data: bytes  # the uploaded file
    note: str


# Skeletons in a unit box (x right, y down): a list of strokes, each a list of points.
DRAWN_LETTERS = {
    "A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.28, 0.62), (0.72, 0.62)]],
    "E": [[(0.8, 0), (0.2, 0), (0.2, 1), (0.8, 1)], [(0.2, 0.5), (0.65, 0.5)]],
    "F": [[(0.8, 0), (0.2, 0), (0.2, 1)], [(0.2, 0.48), (0.65, 0.48)]],
    "H": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.8, 1)], [(0.2, 0.5), (0.8, 0.5)]],
    "K": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.22, 0.55), (0.8, 1)]],
    "M": [[(0.1, 1), (0.15, 0), (0.5, 0.6), (0.85, 0), (0.9, 1)]],
    "N": [[(0.2, 1), (0.2, 0), (0.8, 1), (0.8, 0)]],
    "P": [[(0.25, 1), (0.25, 0)] + arc(0.45, 0.25, 0.3, 0.25, -90, 90, 16) + [(0.25, 0.5)]],
    "R": [[(0.25, 1), (0.25, 0)] + arc(0.45, 0.25, 0.3, 0.25, -90, 90, 16) + [(0.25, 0.5), (0.8, 1)]],
    "U": [[(0.2, 0)] + arc(0.5, 0.65, 0.3, 0.35, 180, 0, 16) + [(0.8, 0)]],
    "V": [[(0.1, 0), (0.5, 1), (0.9, 0)]],
    "W": [[(0.05, 0), (0.28, 1), (0.5, 0.35), (0.72, 1), (0.95, 0)]],
    "X": [[(0.15, 0), (0.85, 1)], [(0.85, 0), (0.15, 1)]],
    "Y": [[(0.15, 0), (0.5, 0.5), (0.85, 0)], [(0.5, 0.5), (0.5, 1)]],
    "L": [[(0.25, 0), (0.25, 1), (0.8, 1)]],
    "e": [[(0.2, 0.55), (0.8, 0.55)] + arc(0.5, 0.55, 0.3, 0.4, 0, -300, 20)],
    "h": [[(0.25, 0), (0.25, 1)], arc(0.5, 0.6, 0.25, 0.25, 180, 360, 10) + [(0.75, 1)]],
    "m": [[(0.1, 1), (0.1, 0.35)] + arc(0.3, 0.5, 0.2, 0.2, 180, 360, 8) + [(0.5, 1)],
          [(0.5, 0.5)] + arc(0.7, 0.5, 0.2, 0.2, 180, 360, 8) + [(0.9, 1)]],
    "n": [[(0.2, 1), (0.2, 0.3)] + arc(0.5, 0.55, 0.3, 0.3, 180, 360, 10) + [(0.8, 1)]],
    "w": [[(0.05, 0.3), (0.25, 1), (0.5, 0.5), (0.75, 1), (0.95, 0.3)]],
    "k": [[(0.25, 0), (0.25, 1)], [(0.75, 0.35), (0.27, 0.7), (0.75, 1)]],
}
DRAWN_SYMBOLS = {
    "#": [[(0.38, 0), (0.3, 1)], [(0.72, 0), (0.64, 1)],
          [(0.05, 0.33), (0.95, 0.33)], [(0.03, 0.67), (0.93, 0.67)]],
    "+": [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "=": [[(0, 0.3), (1, 0.3)], [(0, 0.7), (1, 0.7)]],
    "%": [[(0.85, 0), (0.15, 1)], arc(0.2, 0.18, 0.15, 0.15, 0, 360, 16),
          arc(0.8, 0.82, 0.15, 0.15, 0, 360, 16)],
    "*": [[(0.5, 0), (0.5, 1)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
    "@": [arc(0.5, 0.5, 0.18, 0.2, 0, 360, 16) + [(0.68, 0.75)] + arc(0.5, 0.5, 0.45, 0.48, 30, 340, 24)],
    "<": [[(0.9, 0.05), (0.1, 0.5), (0.9, 0.95)]],
    ">": [[(0.1, 0.05), (0.9, 0.5), (0.1, 0.95)]],
    "~": [[(0.05, 0.6)] + arc(0.27, 0.55, 0.22, 0.2, 180, 360, 8) + arc(0.71, 0.45, 0.22, 0.2, 180, 0, 8)],
    "&": [[(0.9, 1), (0.3, 0.35)] + arc(0.45, 0.2, 0.17, 0.2, 150, -150, 12) + [(0.2, 0.65)]
          + arc(0.4, 0.78, 0.2, 0.22, 180, 60, 10) + [(0.85, 0.5)]],
}
SHAPES = {
    "square": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]],
    "triangle": [[(0.5, 0), (1, 0.9), (0, 0.9), (0.5, 0)]],
    "diamond": [[(0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5), (0.5, 0)]],
    "star": [[(0.5, 0), (0.8, 1), (0.02, 0.38), (0.98, 0.38), (0.2, 1), (0.5, 0)]],
    "heart": [[(0.5, 1), (0.05, 0.45)] + arc(0.28, 0.28, 0.24, 0.24, 150, 340, 10)
              + arc(0.72, 0.28, 0.24, 0.24, 200, 390, 10) + [(0.5, 1)]],
    "house": [[(0, 1), (0, 0.4), (0.5, 0), (1, 0.4), (1, 1), (0, 1)],
              [(0.4, 1), (0.4, 0.65), (0.6, 0.65), (0.6, 1)]],
    "smiley": [arc(0.5, 0.5, 0.5, 0.5, 0, 360, 30), arc(0.5, 0.55, 0.28, 0.22, 20, 160, 10),
               arc(0.35, 0.35, 0.04, 0.04, 0, 360, 6), arc(0.65, 0.35, 0.04, 0.04, 0, 360, 6)],
    "arrow": [[(0, 0.5), (1, 0.5)], [(0.65, 0.15), (1, 0.5), (0.65, 0.85)]],
    "arrow_up": [[(0.5, 1), (0.5, 0)], [(0.15, 0.35), (0.5, 0), (0.85, 0.35)]],
    "lightning": [[(0.6, 0), (0.2, 0.55), (0.6, 0.5), (0.35, 1)]],
    "cross": [[(0, 0), (1, 1)], [(1, 0), (0, 1)], [(0.5, 0), (0.5, 1)]],
    "check": [[(0, 0.55), (0.35, 1), (1, 0)]],
    "spiral": [[(0.5 + 0.05 * t * math.cos(t), 0.5 + 0.05 * t * math.sin(t))
                for t in np.linspace(0, 9.5, 40)]],
    "cloud": [arc(0.25, 0.6, 0.2, 0.2, 90, 270, 8) + arc(0.5, 0.35, 0.22, 0.22, 180, 360, 8)
              + arc(0.78, 0.6, 0.2, 0.2, 270, 450, 8) + [(0.25, 0.8)]],
    "infinity": [[(0.5 + 0.45 * math.sin(t), 0.5 + 0.22 * math.sin(2 * t)) for t in np.linspace(0, 6.3, 40)]],
    "grid": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], [(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
}


def _jitter(strokes, rng, size, centre):
    """Unit-box strokes rotated, slanted, squeezed and wobbled, in canvas pixels."""
    angle, shear, squeeze = math.radians(rng.uniform(-12, 12)), rng.uniform(-0.2, 0.2), rng.uniform(0.8, 1.2)
    out = []
    for stroke in strokes:
        p = np.asarray(stroke, dtype=np.float64) + rng.normal(0, 0.015, (len(stroke), 2))
        x, y = (p[:, 0] - 0.5) * squeeze + shear * (p[:, 1] - 0.5), p[:, 1] - 0.5
        xr, yr = math.cos(angle) * x - math.sin(angle) * y, math.sin(angle) * x + math.cos(angle) * y
        out.append(np.stack([centre[0] + xr * size, centre[1] + yr * size], axis=1))
    return out


def _canvas(strokes, width: float, background: str, filled: bool = False) -> bytes:
    """Strokes (canvas pixels) drawn with a round brush: on the transparent page canvas in
    near-black ink, or on opaque white; PNG bytes."""
    big = Image.new("L", (CANVAS * SUPERSAMPLE, CANVAS * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(big)
    w = max(1, round(width * SUPERSAMPLE))
    for stroke in strokes:
        points = [(float(x) * SUPERSAMPLE, float(y) * SUPERSAMPLE) for x, y in stroke]
        if filled:
            draw.polygon(points, fill=255)
        draw.line(points, fill=255, width=w, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=255)
    alpha = big.reduce(SUPERSAMPLE)
    if background == "transparent":
        image = Image.new("RGBA", alpha.size, (17, 17, 17, 0))
        image.putalpha(alpha)
    else:
        image = Image.new("RGB", alpha.size, (255, 255, 255))
        image.paste((17, 17, 17), mask=alpha)
    return encode(image, "PNG")


def _place(rng):
    size = rng.uniform(110, 220)
    centre = (CANVAS / 2 + rng.uniform(-30, 30), CANVAS / 2 + rng.uniform(-30, 30))
    return size, centre


def _drawn(kind, templates, rng, copies):
    out = []
    for name, strokes in templates.items():
        for copy in range(copies):
            background = ("transparent", "white")[copy % 2]
            brush = rng.uniform(8, 26)
            data = _canvas(_jitter(strokes, rng, *_place(rng)), brush, background)
            out.append(NonDigit(kind, data, f"{name} on {background}, brush {brush:.0f}"))
    return out


def _scribble(rng, style: str):
    """Strokes in a unit box of one scribble style."""
    if style == "zigzag":
        n = int(rng.integers(4, 9))
        return [[(i / (n - 1), float(i % 2) * rng.uniform(0.5, 1)) for i in range(n)]]
    if style == "coil":
        t = np.linspace(0, rng.uniform(4, 7) * 2 * math.pi, 120)
        return [list(zip(0.08 * t / math.pi + 0.15 * np.cos(t), 0.5 + 0.4 * np.sin(t), strict=True))]
    if style == "hatch":
        n = int(rng.integers(4, 8))
        return [[(i / n, 0), (i / n + 0.3, 1)] for i in range(n)]
    if style == "walk":
        steps = rng.normal(0, 1, (int(rng.integers(15, 40)), 2)).cumsum(axis=0)
        return [list(map(tuple, steps))]
    # tangle: several random strokes of a few points each
    strokes = int(rng.integers(2, 5))
    return [list(map(tuple, rng.random((int(rng.integers(3, 6)), 2)))) for _ in range(strokes)]


def _normalised(strokes):
    """Strokes rescaled to fill the unit box (keeping their aspect)."""
    points = np.vstack([np.asarray(s, dtype=float) for s in strokes])
    low, span = points.min(axis=0), max(float(np.ptp(points, axis=0).max()), 1e-6)
    return [[tuple((np.asarray(p) - low) / span) for p in s] for s in strokes]


def _typed(kind, characters, rng, fonts):
    out = []
    for path in fonts:
        for text in rng.choice(list(characters), size=4, replace=False):
            font = ImageFont.truetype(str(path), int(rng.integers(30, 180)))
            left, top, right, bottom = font.getbbox(text)
            width = int(rng.integers(right - left + 10, right - left + 200))
            height = int(rng.integers(bottom - top + 10, bottom - top + 160))
            image = Image.new("L", (width, height), int(rng.integers(225, 256)))
            x = int(rng.integers(0, width - (right - left) + 1)) - left
            y = int(rng.integers(0, height - (bottom - top) + 1)) - top
            ImageDraw.Draw(image).text((x, y), str(text), fill=int(rng.integers(0, 60)), font=font)
            out.append(NonDigit(kind, encode(image, "PNG"), f"{text} in {path.stem}"))
    return out


def liberation_fonts() -> list[Path]:
    found = {p for d in FONT_DIRECTORIES if d.is_dir() for p in d.rglob("Liberation*.ttf")}
    return sorted(found)


def generate(seed: int = SEED) -> list[NonDigit]:
    """The whole set, the same for the same seed and installed fonts."""
    rng = np.random.default_rng(seed)
    fonts = liberation_fonts()
    samples = _typed("letters_typed", LETTERS, rng, fonts) + _typed("symbols_typed", SYMBOLS, rng, fonts)
    samples += _drawn("letters_drawn", DRAWN_LETTERS, rng, 4)
    samples += _drawn("symbols_drawn", DRAWN_SYMBOLS, rng, 6)
    samples += _drawn("shapes", SHAPES, rng, 6)
    styles = ("zigzag", "coil", "hatch", "walk", "tangle")
    scribbles = {f"{style} {i}": _normalised(_scribble(rng, style)) for style in styles for i in range(8)}
    samples += _drawn("scribbles", scribbles, rng, 2)
    for i in range(40):
        n = int(rng.integers(7, 14))
        angles = np.sort(rng.uniform(0, 2 * math.pi, n))
        radius = 0.5 * (1 + rng.uniform(-0.35 if i % 2 else -0.08, 0.1, n))
        outline = np.stack([0.5 + radius * np.cos(angles), 0.5 + radius * np.sin(angles)], axis=1)
        background = ("transparent", "white")[i % 2]
        size, centre = _place(rng)
        strokes = _jitter([np.vstack([outline, outline[:1]])], rng, size * 0.7, centre)
        data = _canvas(strokes, rng.uniform(8, 26), background, filled=True)
        samples.append(NonDigit("blobs", data, f"{'ragged' if i % 2 else 'round'} blob on {background}"))
    return samples
