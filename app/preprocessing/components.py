"""Connected parts of a mask (8-connected), found as horizontal runs of pixels joined row by row
with a union-find: the work is per run, not per pixel, and a caller can count the runs (a cheap
array operation) to bound it before starting."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Runs(NamedTuple):
    """The runs of a mask (H, W bool), in row order: run i covers row ``rows[i]``, columns
    ``starts[i]`` to ``stops[i]`` (exclusive), and belongs to part ``parts[i]`` (0, 1, ...)."""

    rows: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    parts: np.ndarray


def run_count(mask: np.ndarray) -> int:
    """How many horizontal runs of pixels ``mask`` (H, W bool) holds."""
    return int(np.count_nonzero(mask[:, 0])) + int(np.count_nonzero(mask[:, 1:] & ~mask[:, :-1]))


def connected_runs(mask: np.ndarray) -> Runs:
    """The runs of ``mask`` (H, W bool), each labelled with its connected part (8-connected)."""
    height = mask.shape[0]
    edges = np.diff(mask.astype(np.int8), axis=1, prepend=0, append=0)
    rows, starts = np.nonzero(edges == 1)
    stops = np.nonzero(edges == -1)[1]
    count = len(rows)
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(rows, np.arange(height + 1)).tolist()
    run_starts, run_stops = starts.tolist(), stops.tolist()
    for row in range(1, height):
        i, i_end = row_first[row - 1], row_first[row]
        j, j_end = row_first[row], row_first[row + 1]
        while i < i_end and j < j_end:
            if run_starts[j] <= run_stops[i] and run_starts[i] <= run_stops[j]:  # touching, diagonals too
                parent[root(i)] = root(j)
            if run_stops[i] < run_stops[j]:
                i += 1
            else:
                j += 1
    roots = np.array([root(i) for i in range(count)], dtype=np.intp)
    parts = np.unique(roots, return_inverse=True)[1].reshape(-1) if count else roots
    return Runs(rows, starts, stops, parts)


def run_sums(values: np.ndarray, runs: Runs) -> np.ndarray:
    """The sum of ``values`` (H, W) over each run: (runs,) float64."""
    cumulative = np.zeros((values.shape[0], values.shape[1] + 1), dtype=np.float64)
    np.cumsum(values, axis=1, out=cumulative[:, 1:])
    return cumulative[runs.rows, runs.stops] - cumulative[runs.rows, runs.starts]
