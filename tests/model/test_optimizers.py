"""Optimizers against steps computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.optimizers import SGD, Adam, Momentum


def test_sgd_step():
    params = {"w": np.array([1.0, -2.0])}
    SGD(lr=0.1).update(params, {"w": np.array([0.5, 1.0])})
    np.testing.assert_allclose(params["w"], [0.95, -2.1])


def test_momentum_accumulates_velocity():
    params = {"w": np.array([1.0])}
    opt = Momentum(lr=0.1, momentum=0.9)
    opt.update(params, {"w": np.array([1.0])})  # v = -0.1
    opt.update(params, {"w": np.array([1.0])})  # v = -0.09 - 0.1 = -0.19
    np.testing.assert_allclose(params["w"], [1.0 - 0.1 - 0.19])


def test_adam_matches_two_steps_computed_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    params = {"w": np.array([0.5, -1.0])}
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    g1, g2 = np.array([0.2, -0.4]), np.array([-0.1, 0.3])
    opt.update(params, {"w": g1})
    opt.update(params, {"w": g2})

    w = np.array([0.5, -1.0])
    m = v = np.zeros(2)
    for t, g in enumerate((g1, g2), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(params["w"], w, rtol=1e-12)


def test_first_adam_step_moves_each_weight_by_about_lr():
    params = {"w": np.array([0.0, 0.0])}
    Adam(lr=0.001).update(params, {"w": np.array([123.0, -0.004])})
    np.testing.assert_allclose(params["w"], [-0.001, 0.001], rtol=1e-4)


@pytest.mark.parametrize("optimizer", [SGD(), Momentum(), Adam()])
def test_updates_happen_in_place(optimizer):
    weights = np.ones(3, dtype=np.float32)
    params = {"w": weights}
    optimizer.update(params, {"w": np.ones(3, dtype=np.float32)})
    assert params["w"] is weights
    assert weights.dtype == np.float32
    assert (weights < 1).all()
