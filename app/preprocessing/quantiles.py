"""Quantiles of ink strengths, to within 1/QUANTILE_BINS, from a histogram.

A histogram, not np.quantile: the many equal values of a clean canvas are a slow case for
np.partition, and the strengths need no finer resolution.
"""

from __future__ import annotations

import numpy as np

QUANTILE_BINS = 1024


def quantiles(values: np.ndarray, fractions: tuple[float, ...]) -> list[float]:
    """Quantiles of ``values`` (any shape, in [-1, 1]) at each of ``fractions``, to within
    1/QUANTILE_BINS: the centre of the histogram bin holding each rank."""
    flat = values.ravel()
    if flat.size == 0:
        return [0.0] * len(fractions)
    bins = np.clip(((flat + 1) * QUANTILE_BINS / 2).astype(np.int32), 0, QUANTILE_BINS - 1)
    cumulative = np.cumsum(np.bincount(bins, minlength=QUANTILE_BINS))
    ranks = [min(max(fraction * flat.size, 1), flat.size) for fraction in fractions]
    found = np.searchsorted(cumulative, ranks)
    return [float((index + 0.5) * 2 / QUANTILE_BINS - 1) for index in found]


def high_quantile(values: np.ndarray, fraction: float) -> float:
    """The value that only ``fraction`` of ``values`` (any shape) exceeds (at least 3 of them): the strongest
    ink, robust to a few hot pixels, unlike the maximum."""
    rank = 1 - max(3, values.size * fraction) / max(values.size, 1)
    return quantiles(values, (rank,))[0]
