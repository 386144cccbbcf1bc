"""Dilation and erosion in NumPy are Pillow's rank filters (MaxFilter, MinFilter) on a square of
side 2 × passes + 1, value for value: the separable NumPy form is what runs, Pillow's the plain
definition it is held to. Reconstruction is held to its definition: dilate inside the mask until
nothing changes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from app.preprocessing.morphology import dilate, erode, reconstruct


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (40, 33), (128, 128)])
@pytest.mark.parametrize("passes", [1, 2, 5])
@pytest.mark.parametrize(
    ("numpy_form", "pillow_filter"), [(dilate, ImageFilter.MaxFilter), (erode, ImageFilter.MinFilter)]
)
def test_dilate_and_erode_equal_pillows_rank_filters(shape, passes, numpy_form, pillow_filter):
    values = np.random.default_rng(sum(shape) + passes).random(shape, dtype=np.float32)
    expected = np.asarray(Image.fromarray(values).filter(pillow_filter(2 * passes + 1)))
    np.testing.assert_array_equal(numpy_form(values, passes), expected)


def _reconstruct_by_definition(seeds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Grow the seeds by one 3×3 dilation at a time, kept inside the mask, until they stop."""
    grown = seeds & mask
    while True:
        wider = dilate(grown, 1) & mask
        if np.array_equal(wider, grown):
            return grown
        grown = wider


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (17, 23), (64, 64)])
@pytest.mark.parametrize("density", [0.3, 0.55, 0.8])
def test_reconstruct_keeps_exactly_the_parts_of_the_mask_connected_to_a_seed(shape, density):
    rng = np.random.default_rng(round(100 * density) + sum(shape))
    mask = rng.random(shape) < density
    seeds = rng.random(shape) < 0.02
    np.testing.assert_array_equal(reconstruct(seeds, mask), _reconstruct_by_definition(seeds, mask))


def test_reconstruct_joins_diagonal_neighbours_and_stops_at_gaps():
    mask = np.zeros((6, 6), bool)
    mask[[0, 1, 2], [0, 1, 2]] = True  # a diagonal line
    mask[4:, 4:] = True  # a block two pixels away from it
    seeds = np.zeros_like(mask)
    seeds[0, 0] = True
    grown = reconstruct(seeds, mask)
    assert grown[2, 2] and not grown[4:, 4:].any()


def test_reconstruct_grows_at_most_height_plus_width_steps():
    # A corridor winding down a 9×9 square is longer than 9 + 9 steps: its far end is left out.
    mask = np.zeros((9, 9), bool)
    mask[::2] = True
    mask[1::4, -1] = True
    mask[3::4, 0] = True
    seeds = np.zeros_like(mask)
    seeds[0, 0] = True
    grown = reconstruct(seeds, mask)
    assert grown[0].all() and grown[2].all() and not grown[8].any()
