"""Strokes of digits and other marks as a person draws them, in fractions of the canvas side:
polylines, and ``arc`` for their curves (the page's digits are drawn by the browser tests,
bench/page.py and bench/capture_canvas.py; the real-world and non-digit sets draw theirs)."""

from __future__ import annotations

import math

import numpy as np


def arc(cx, cy, rx, ry, start, stop, steps: int) -> list[tuple[float, float]]:
    """``steps`` points on an ellipse centred (``cx``, ``cy``) with radii ``rx``, ``ry``, from
    angle ``start`` to ``stop`` (degrees; 0 = right, 90 = down)."""
    angles = np.deg2rad(np.linspace(start, stop, steps))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


ONE = [[(0.40, 0.30), (0.53, 0.18), (0.52, 0.50), (0.50, 0.82)]]
SEVEN = [[(0.28, 0.24), (0.72, 0.24), (0.60, 0.45), (0.46, 0.82)]]
ZERO = [
    [
        (0.5 + 0.2 * math.sin(2 * math.pi * k / 36), 0.5 - 0.3 * math.cos(2 * math.pi * k / 36))
        for k in range(38)
    ]
]
