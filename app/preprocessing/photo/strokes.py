"""Strokes of uneven strength made whole: faint ink brought to full against the strokes around
it, and specks of dust beside the digit dropped."""

from __future__ import annotations

import math

import numpy as np

from app.preprocessing.components import connected_runs, run_sums
from app.preprocessing.geometry import stroke_width
from app.preprocessing.morphology import dilate

SPECK_MASS = 0.06  # a separate blob with less ink than this share of the digit's main part is dust


def even_ink(
    strength: np.ndarray, mask: np.ndarray, contrast: float, noise: float, core: float
) -> np.ndarray:
    """Ink strength (H, W) as ink in [0, 1] with faint strokes made as full as strong ones: each
    pixel is measured against the level of the strokes of ``mask`` around it, capped at ``core``
    (strokes that strong are full ink), nothing at 15% of that level or 3 ``noise`` and below."""
    reach = max(1, math.ceil(stroke_width(mask) / 2))  # from a stroke's edge to its middle
    level = np.minimum(dilate(np.where(mask, strength, np.float32(0)), reach), np.float32(core))
    floor = np.maximum(np.float32(0.15 * contrast / max(core, 1e-6)) * level, np.float32(3 * noise))
    ink = (strength - floor) / np.maximum(level - floor, np.float32(1e-6))
    return np.where(level > floor, np.clip(ink, 0.0, 1.0), np.float32(0)).astype(np.float32)


def drop_specks(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``ink`` (H, W) without the connected parts of ``mask`` (8-connected) that hold less than
    SPECK_MASS of the heaviest part's ink: dust beside a digit, which the empty-space test of
    find_ink cannot separate.

    The parts are found run by run (``components``); the rows are those of the fine crop, whose
    size is bounded by FINE_BOX whatever the image's."""
    runs = connected_runs(mask)
    if len(runs.rows) <= 1:
        return ink
    mass = np.bincount(runs.parts, weights=run_sums(ink, runs))
    small = mass[runs.parts] < SPECK_MASS * mass.max()
    if not small.any():
        return ink
    ink = ink.copy()
    for row, start, stop in zip(
        runs.rows[small].tolist(), runs.starts[small].tolist(), runs.stops[small].tolist(), strict=True
    ):
        ink[row, start:stop] = 0
    return ink
