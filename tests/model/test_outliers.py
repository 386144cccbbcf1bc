"""The outlier images for outlier exposure: MNIST's form, every kind, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from model import outliers


@pytest.mark.parametrize("kind", outliers.KINDS)
def test_each_kind_gives_mnist_form_images(kind):
    if kind in ("letters", "symbols") and not outliers.font_paths():
        pytest.skip("no DejaVu fonts installed: letters and symbols are left out")
    images = outliers.generate(12, np.random.default_rng(0), kinds=(kind,))
    assert images.shape == (12, 1, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    for image in images[:, 0]:
        rows, cols = np.nonzero(image > 0.05)
        # Ink fitted to a 20-pixel box (a little more where Lanczos rings), centred by mass.
        assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 22
        assert max(np.ptp(rows), np.ptp(cols)) + 1 >= 17
        rows_mass, cols_mass = image.sum(axis=1), image.sum(axis=0)
        centre = np.array([rows_mass @ np.arange(28), cols_mass @ np.arange(28)]) / image.sum()
        np.testing.assert_allclose(centre, [13.5, 13.5], atol=1.5)


def test_the_same_seed_gives_the_same_outliers():
    first = outliers.generate(8, np.random.default_rng(3))
    np.testing.assert_array_equal(first, outliers.generate(8, np.random.default_rng(3)))
    assert not np.array_equal(first, outliers.generate(8, np.random.default_rng(4)))


def test_to_mnist_form_fits_the_longer_side_to_twenty_pixels():
    ink = np.zeros((100, 60), dtype=np.float32)
    ink[10:90, 20:40] = 1.0  # a tall bar, 80 × 20
    out = outliers.to_mnist_form(ink)
    rows, cols = np.nonzero(out > 0.5)
    assert np.ptp(rows) + 1 == 20 and np.ptp(cols) + 1 == 5
    assert not outliers.to_mnist_form(np.zeros((10, 10))).any()


def test_no_digit_like_character_is_drawn():
    for character in "0123456789OoQDCcIlijJTtZzSsGbBgq":
        assert character not in outliers.LETTERS + outliers.SYMBOLS
