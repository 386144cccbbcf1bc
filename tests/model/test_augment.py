"""Augmentation keeps images valid and does what each knob says."""

from __future__ import annotations

import numpy as np
import pytest

from model.augment import (
    NONE,
    Augmentation,
    augment,
    clip_sides,
    flag_ones,
    random_affine,
    random_stroke_width,
)
from model.outliers import to_mnist_form


def _bar_images(n=8):
    images = np.zeros((n, 1, 28, 28), dtype=np.float32)
    images[:, :, 6:22, 12:16] = 1.0  # a vertical stroke, like a 1
    return images


def _centre_of_mass(images):
    ys, xs = np.mgrid[0:28, 0:28]
    mass = images[:, 0].sum(axis=(1, 2))
    return (images[:, 0] * ys).sum(axis=(1, 2)) / mass, (images[:, 0] * xs).sum(axis=(1, 2)) / mass


def test_no_augmentation_returns_the_images_unchanged():
    images = _bar_images()
    assert augment(images, np.random.default_rng(0), NONE) is images


def test_augmented_images_stay_in_range_and_shape():
    out = augment(_bar_images(), np.random.default_rng(0), Augmentation())
    assert out.shape == (8, 1, 28, 28)
    assert out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


def test_an_identity_affine_changes_nothing():
    images = _bar_images()
    out = random_affine(images, np.random.default_rng(0), NONE)
    np.testing.assert_allclose(out, images, atol=1e-6)


@pytest.mark.parametrize("translation", [1.0, 3.0])
def test_translation_moves_the_centre_of_mass_at_most_that_far(translation):
    images = _bar_images(64)
    only_shift = Augmentation(0, 0, 0, translation, 0, 0)
    out = random_affine(images, np.random.default_rng(1), only_shift)
    before, after = np.array(_centre_of_mass(images)), np.array(_centre_of_mass(out))
    moved = np.abs(after - before)
    assert moved.max() <= translation + 1e-3
    assert moved.max() > translation / 3


def test_rotation_keeps_the_ink_but_turns_the_stroke():
    images = _bar_images(16)
    out = random_affine(images, np.random.default_rng(2), Augmentation(30, 0, 0, 0, 0, 0))
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3)), rtol=0.05)
    assert np.abs(out - images).sum() > 16 * 10


def test_thicken_adds_ink_and_thin_removes_it():
    images = _bar_images(32)
    ink = images.sum()
    thicker = random_stroke_width(images, np.random.default_rng(0), Augmentation(thicken=1.0, thin=0.0))
    thinner = random_stroke_width(images, np.random.default_rng(0), Augmentation(thicken=0.0, thin=1.0))
    assert thicker.sum() > ink * 1.2
    assert thinner.sum() < ink * 0.8


def test_a_flag_goes_from_the_top_of_a_1_down_to_the_left():
    images = _bar_images()  # the stem: rows 6-21, columns 12-15
    flagged = flag_ones(images, np.ones(8, dtype=int), np.random.default_rng(0), share=1.0)
    added = flagged - images
    assert (added >= 0).all() and (flagged <= 1).all()
    for flag in added[:, 0]:
        ys, xs = np.nonzero(flag > 0.5)
        assert len(ys) > 0
        # Left of the stem, starting at its top and falling: never above the top, never level
        # with it all the way (a 7's bar is level).
        assert xs.max() < 16 and xs.min() < 12
        assert ys.min() >= 6 - 1 and ys.max() > 6 + 1
        assert ys.max() < 22


@pytest.mark.parametrize("labels, share", [(np.full(8, 7), 1.0), (np.ones(8, dtype=int), 0.0)],
                         ids=["not ones", "share 0"])
def test_only_the_chosen_share_of_1s_get_a_flag(labels, share):
    images = _bar_images()
    np.testing.assert_array_equal(flag_ones(images, labels, np.random.default_rng(0), share), images)


def _rings(n=8):
    """Square rings 20 × 20 with sides 3 px thick: wide 0s, in MNIST's form."""
    ring = np.zeros((28, 28), dtype=np.float32)
    ring[4:24, 4:24], ring[7:21, 7:21] = 1.0, 0.0
    return np.stack([to_mnist_form(ring)] * n)[:, None]


def _ink_width_and_height(image):
    rows, cols = np.flatnonzero(image.max(axis=1) > 0.1), np.flatnonzero(image.max(axis=0) > 0.1)
    return cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1


def test_a_clipped_digit_loses_a_slice_of_one_side_and_is_back_in_mnist_form():
    rings = _rings()
    whole_width, whole_height = _ink_width_and_height(rings[0, 0])
    clipped = clip_sides(rings, np.zeros(8, dtype=int), np.random.default_rng(0), 1.0)
    for image in clipped[:, 0]:
        width, height = _ink_width_and_height(image)
        assert height == whole_height  # fitted 20 px high again, as MNIST's digits are
        assert 0.75 * whole_width <= width < whole_width  # 5–20% of the width is gone
        assert abs(_centre_of_mass(image[None, None])[1][0] - 14.5) < 1.0  # centred by mass again


@pytest.mark.parametrize("labels, share", [(np.ones(8, dtype=int), 1.0), (np.zeros(8, dtype=int), 0.0)],
                         ids=["ones", "share 0"])
def test_only_the_chosen_share_of_digits_other_than_1s_are_clipped(labels, share):
    rings = _rings()
    np.testing.assert_array_equal(clip_sides(rings, labels, np.random.default_rng(0), share), rings)
