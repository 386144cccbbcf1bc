"""Strokes of natural-size digits as a person draws them, in fractions of the canvas side
(drawn by the browser tests, bench/page.py and bench/capture_canvas.py)."""

from __future__ import annotations

import math

ONE = [[(0.40, 0.30), (0.53, 0.18), (0.52, 0.50), (0.50, 0.82)]]
SEVEN = [[(0.28, 0.24), (0.72, 0.24), (0.60, 0.45), (0.46, 0.82)]]
ZERO = [
    [
        (0.5 + 0.2 * math.sin(2 * math.pi * k / 36), 0.5 - 0.3 * math.cos(2 * math.pi * k / 36))
        for k in range(38)
    ]
]
