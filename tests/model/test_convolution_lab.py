"""model.convolution_lab: one filter and one pooling by the textbook layers, and the window
arithmetic of the tutorial's size formula, against plain loops."""

from __future__ import annotations

import numpy as np
import pytest

from model.convolution_lab import Window, convolve, pool


@pytest.mark.parametrize(("length", "size", "stride", "pad"), [
    (6, 3, 3, 0), (6, 3, 1, 0), (7, 3, 3, 0), (28, 5, 1, 0), (28, 7, 4, 3), (1, 3, 2, 1), (24, 2, 2, 0),
])
def test_a_window_counts_the_positions_it_takes_and_the_values_it_never_reaches(length, size, stride, pad):
    padded = length + 2 * pad
    starts = list(range(0, padded - size + 1, stride))  # every position, one by one
    window = Window(length, size, stride, pad)
    assert window.fits
    assert window.count == len(starts)
    assert window.remainder == padded - (starts[-1] + size)


def test_a_window_larger_than_the_padded_length_does_not_fit():
    assert not Window(4, 5, 1, 0).fits
    assert Window(4, 6, 1, 1).fits
    assert not Window(4, 7, 1, 1).fits


def test_convolve_is_the_plain_sum_of_products_and_pool_reduces_each_block():
    rng = np.random.default_rng(0)
    image, kernel = rng.uniform(0, 1, (7, 7)), rng.normal(0, 1, (3, 3))
    padded = np.pad(image, 1)
    expected = np.array([[(padded[y : y + 3, x : x + 3] * kernel).sum() for x in range(0, 7, 2)]
                         for y in range(0, 7, 2)])
    feature_map = convolve(image, kernel, stride=2, pad=1)
    np.testing.assert_allclose(feature_map, expected)  # no bias, no ReLU: negatives stay
    assert (feature_map < 0).any()
    for kind, reduce in (("max", np.max), ("average", np.mean)):
        blocks = [[reduce(feature_map[y : y + 2, x : x + 2]) for x in (0, 1, 2)] for y in (0, 1, 2)]
        np.testing.assert_allclose(pool(feature_map, kind, 2, 1), blocks)
