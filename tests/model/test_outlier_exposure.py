"""Outlier exposure: the combined loss's gradients, and what training with it does to outliers."""

from __future__ import annotations

import numpy as np
import pytest

from harness.gradients import numerical_gradient
from harness.networks import SMALL_SPEC
from model import outlier_exposure
from model.augment import NONE
from model.layers import softmax
from model.network import Network
from model.optimizers import OPTIMIZERS
from model.outlier_exposure import OutlierBatches, OutlierExposure, loss_and_gradient


def _losses(network, x, labels, outliers):
    """The two losses written out plainly: digits' cross-entropy, outliers' cross-entropy to uniform."""
    p = softmax(network.forward(np.concatenate([x, outliers])))
    n = len(x)
    return -np.log(p[np.arange(n), labels] + 1e-7).mean(), -np.log(p[n:] + 1e-7).mean()


def _loss(network, x, labels, outliers, weight):
    digit_loss, outlier_loss = _losses(network, x, labels, outliers)
    return digit_loss + weight * outlier_loss


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_the_combined_loss_gradients_match_numerical_ones(fast):
    rng = np.random.default_rng(4)
    network = Network(SMALL_SPEC, rng=rng, dtype=np.float64, fast=fast)
    x, outliers = rng.standard_normal((3, 2, 9, 9)), rng.standard_normal((2, 2, 9, 9))
    labels = np.array([0, 3, 1])
    digit_loss, outlier_loss, grads = loss_and_gradient(network, x, labels, outliers, weight=0.7)
    assert (digit_loss, outlier_loss) == pytest.approx(_losses(network, x, labels, outliers))
    for name, value in network.params.items():
        numeric = numerical_gradient(lambda: _loss(network, x, labels, outliers, 0.7), value)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-4, atol=1e-7, err_msg=name)


def test_with_no_outliers_it_is_the_plain_cross_entropy():
    rng = np.random.default_rng(5)
    network = Network(SMALL_SPEC, rng=rng, dtype=np.float64)
    x, labels = rng.standard_normal((4, 2, 9, 9)), np.array([0, 1, 2, 3])
    digit_loss, outlier_loss, grads = loss_and_gradient(network, x, labels, x[:0], weight=0.5)
    plain_loss, plain_grads = network.gradient(x, labels)
    assert (digit_loss, outlier_loss) == pytest.approx((plain_loss, 0.0))
    for name in grads:
        np.testing.assert_allclose(grads[name], plain_grads[name], rtol=1e-10, atol=1e-12)


def test_training_on_outliers_spreads_their_answer_and_keeps_the_digits():
    """A few steps on two fixed 'digits' and two fixed outliers: the outliers' answers move
    toward uniform (entropy up), the digits' toward their labels."""
    rng = np.random.default_rng(6)
    network = Network(SMALL_SPEC, rng=rng, dtype=np.float64)
    x, outliers = rng.standard_normal((2, 2, 9, 9)), rng.standard_normal((2, 2, 9, 9))
    labels = np.array([1, 2])
    # Start from sure, wrong-for-outliers answers: push everything toward class 0 first.
    optimizer = OPTIMIZERS["adam"](lr=0.01)
    for _ in range(30):
        _, grads = network.gradient(np.concatenate([x, outliers]), np.zeros(4, dtype=np.intp))
        optimizer.update(network.params, grads)

    def entropy(images):
        p = network.predict(images)[0]
        return -(p * np.log(p)).sum(axis=1).mean()

    before = entropy(outliers)
    for _ in range(60):
        _, _, grads = loss_and_gradient(network, x, labels, outliers, weight=1.0)
        optimizer.update(network.params, grads)
    assert entropy(outliers) > before + 0.5
    assert (network.predict(x)[0].argmax(axis=1) == labels).all()


def test_outlier_batches_are_jittered_draws_from_one_pool():
    settings = OutlierExposure(per_batch=8, pool=24)
    batches = OutlierBatches(settings, np.random.default_rng(0), NONE)
    batch = batches.next()
    assert batch.shape == (8, 1, 28, 28) and batch.dtype == np.float32
    # Without jitter every image of a batch is one of the pool's.
    flat = batches.pool.reshape(24, -1)
    assert all((np.abs(flat - image.ravel()).max(axis=1) == 0).any() for image in batch)
    assert outlier_exposure.OutlierExposure().as_dict()["weight"] == 0.15
