"""Pairs of training digits for outlier exposure hold both digits whole, side by side, in
MNIST's form."""

from __future__ import annotations

import numpy as np

from model.pairs import touching_pairs


def _ring() -> np.ndarray:
    """A square ring 20 × 20 with sides 3 px thick: a wide 0."""
    image = np.zeros((28, 28), dtype=np.float32)
    image[4:24, 4:24] = 1.0
    image[7:21, 7:21] = 0.0
    return image


def test_pairs_hold_both_digits_whole_side_by_side():
    images = np.stack([_ring(), _ring()])[:, None]
    for pair in touching_pairs(images, 10, np.random.default_rng(0)):
        rows, cols = np.flatnonzero(pair[0].max(axis=1) > 0.05), np.flatnonzero(pair[0].max(axis=0) > 0.05)
        # Two square rings, the second 0.8–1.2 as big and reaching at most 0.2 into the first: at
        # least 1.6 rings wide, at most about 1.35 high (raised or lowered), fitted 20 px across.
        assert cols[-1] - cols[0] + 1 >= 19
        assert (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1) >= 1.15


def test_pairs_are_in_mnist_form_inked_and_in_range():
    images = np.stack([_ring(), _ring()])[:, None]
    made = touching_pairs(images, 5, np.random.default_rng(1))
    assert made.shape == (5, 1, 28, 28) and made.dtype == np.float32
    assert made.min() >= 0.0 and made.max() <= 1.0
    for pair in made[:, 0]:
        inked = np.argwhere(pair > 0.05)
        # Fitted into the middle 20 × 20, as MNIST's digits are: a margin of ink-free pixels.
        assert inked.min() >= 2 and inked.max() <= 25


def test_a_blank_image_makes_a_blank_pair_not_an_error():
    images = np.stack([np.zeros((28, 28), np.float32), _ring()])[:, None]
    made = touching_pairs(images, 6, np.random.default_rng(2))
    assert made.shape == (6, 1, 28, 28)
    # With one of two images blank every pair is blank; nothing raises.
    assert not made.any()
