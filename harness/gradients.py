"""Numerical gradients: central differences that the layers' and the network's backward passes
are checked against (in float64)."""

from __future__ import annotations

import numpy as np


def numerical_gradient(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() with respect to every element of array."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = f()
        array[index] = original - eps
        minus = f()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def check_layer_gradients(layer, x: np.ndarray, rng: np.random.Generator) -> None:
    """Backward of L = Σ forward(x)·R against central differences, for x and every parameter."""
    out = layer.forward(x)
    projection = rng.standard_normal(out.shape)

    def loss():
        return float((layer.forward(x) * projection).sum())

    layer.forward(x)
    dx = layer.backward(projection)
    if dx is not None:
        np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-5, atol=1e-7)
    for name, value in layer.params.items():
        np.testing.assert_allclose(
            layer.grads[name], numerical_gradient(loss, value), rtol=1e-5, atol=1e-7, err_msg=name
        )
