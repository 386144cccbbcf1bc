"""Type-like training digits: MNIST's form, every digit, seeded, drawn without any font."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import ImageFont

from model import type_like


def test_every_digit_takes_its_turn_in_mnist_form():
    images, labels = type_like.generate(40, np.random.default_rng(0))
    assert images.shape == (40, 1, 28, 28) and images.dtype == np.float32
    assert labels.tolist() == [i % 10 for i in range(40)]
    assert images.min() >= 0 and images.max() <= 1
    for image in images[:, 0]:
        rows, cols = np.nonzero(image > 0.05)
        # The longer side fitted to MNIST's 20-pixel box (a little more where Lanczos rings).
        assert 17 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= 22
        mass = image.sum()
        centre = np.array([image.sum(axis=1) @ np.arange(28), image.sum(axis=0) @ np.arange(28)]) / mass
        np.testing.assert_allclose(centre, [13.5, 13.5], atol=1.5)


def test_the_same_seed_gives_the_same_digits():
    first, _ = type_like.generate(10, np.random.default_rng(3))
    np.testing.assert_array_equal(first, type_like.generate(10, np.random.default_rng(3))[0])
    assert not np.array_equal(first, type_like.generate(10, np.random.default_rng(4))[0])


def test_no_font_file_is_opened(monkeypatch):
    # The measurement sets typeset their digits in the installed fonts: training must not.
    def refuse(*args, **kwargs):
        raise AssertionError("a font was opened")

    monkeypatch.setattr(ImageFont, "truetype", refuse)
    monkeypatch.setattr(ImageFont, "load_default", refuse)
    images, _ = type_like.generate(20, np.random.default_rng(0))
    assert (images.reshape(20, -1).max(axis=1) > 0.9).all()


@pytest.mark.parametrize("digit", range(10))
def test_each_digit_varies_in_weight(digit):
    # Light and bold faces alike: the share of ink over thirty drawings spreads widely.
    rng = np.random.default_rng(digit)
    ink = [type_like.draw_digit(digit, rng).mean() for _ in range(30)]
    assert max(ink) > 1.8 * min(ink)


def test_some_ones_stand_on_a_serif_foot_and_some_do_not():
    rng = np.random.default_rng(0)
    feet = []
    for _ in range(40):
        ink = type_like.draw_digit(1, rng) > 0.5
        rows = np.flatnonzero(ink.any(axis=1))
        middle, bottom = ink[(rows[0] + rows[-1]) // 2].sum(), ink[rows[-1] - 1].sum()
        feet.append(bottom > 2 * middle)
    assert 0 < sum(feet) < len(feet)


def test_batches_come_from_the_pool_with_their_labels():
    batches = type_like.TypeLikeBatches(type_like.TypeLike(per_batch=7, pool=30), np.random.default_rng(0))
    images, labels = batches.next()
    assert images.shape == (7, 1, 28, 28) and labels.shape == (7,)
    for image, label in zip(images, labels, strict=True):
        matches = [i for i in range(30) if np.array_equal(batches.images[i], image)]
        assert matches and all(batches.labels[i] == label for i in matches)
