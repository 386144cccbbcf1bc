"""Optimizers: each updates a dict of named parameters in place from a dict of gradients."""

from __future__ import annotations

import math

import numpy as np


class SGD:
    """θ ← θ − lr·g"""

    def __init__(self, lr: float = 0.01):
        self.lr = lr

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, grad in grads.items():
            params[name] -= self.lr * grad


class Momentum:
    """v ← μ·v − lr·g;  θ ← θ + v"""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9):
        self.lr, self.momentum = lr, momentum
        self.velocity: dict[str, np.ndarray] = {}

    def update(self, params, grads):
        for name, grad in grads.items():
            v = self.velocity.setdefault(name, np.zeros_like(params[name]))
            v *= self.momentum
            v -= self.lr * grad
            params[name] += v


class Adam:
    """Adam (Kingma & Ba, 2015), bias correction folded into the step size:

    m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
    θ ← θ − lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε)
    """

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.step = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def update(self, params, grads):
        self.step += 1
        t = self.step
        step_size = self.lr * math.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        for name, grad in grads.items():
            m = self.m.setdefault(name, np.zeros_like(params[name]))
            v = self.v.setdefault(name, np.zeros_like(params[name]))
            # In place: these run every batch over every weight.
            m += (1 - self.beta1) * (grad - m)
            v += (1 - self.beta2) * (grad * grad - v)
            denominator = np.sqrt(v)
            denominator += self.eps
            params[name] -= step_size * m / denominator


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
