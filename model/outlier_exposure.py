"""Outlier exposure (Hendrycks, Mazeika and Dietterich, ICLR 2019): teach the network to be
unsure about what is not a digit.

Each training batch of digits gets a few non-digit images (``model.outliers``) besides it.
The digits keep their usual loss, the mean cross-entropy against their labels; the outliers
add ``weight`` × their mean cross-entropy against the uniform distribution, which is smallest
when the network gives all ten classes the same probability. The network stays the same (ten
outputs); it only learns to spread its answer for things unlike any digit, which the verdict
rule (``model.verdict``) then reads as high entropy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from model import outliers
from model.augment import Augmentation, augment
from model.layers import softmax
from model.network import Network


@dataclass(frozen=True)
class OutlierExposure:
    """The settings of a run with outlier exposure (recorded in the model card)."""

    # λ, the outliers' loss against the digits'. 0.15 rather than the paper's 0.5: at 0.5 the
    # network gave up about 0.1 point of MNIST accuracy, and with flagged 1s 0.25 still cost
    # some (docs/model.md has the figures).
    weight: float = 0.15
    per_batch: int = 50  # outlier images added to each batch of digits
    pool: int = 20_000  # distinct outlier images, drawn once per run and jittered per batch
    kinds: tuple[str, ...] = outliers.KINDS

    def as_dict(self) -> dict:
        return {**asdict(self), "kinds": list(self.kinds), "fonts": "DejaVu (model.outliers)"}


def loss_and_gradient(
    network: Network, images: np.ndarray, labels: np.ndarray, outlier_images: np.ndarray, weight: float
) -> tuple[float, float, dict[str, np.ndarray]]:
    """(digit loss, outlier loss, grads by parameter name) for digits (N, 1, 28, 28) with labels
    (N,) and outliers (M, 1, 28, 28) in one forward and one backward pass; the grads are those of

        loss = digit loss + weight · outlier loss
        digit loss = mean over digits of −log p[label]       (the usual cross-entropy)
        outlier loss = mean over outliers of −(1/K) Σ_k log p_k   (cross-entropy to uniform)

    The outlier loss can never go below log K (ln 10 ≈ 2.30, a perfectly uniform answer), so
    the two are reported apart: their sum hides how well the digits are learned.
    """
    n, m = len(images), len(outlier_images)
    probabilities = softmax(network.forward(np.concatenate([images, outlier_images])))
    classes = probabilities.shape[1]
    digit_loss = -np.log(probabilities[np.arange(n), labels] + 1e-7).mean()
    uniform_loss = -np.log(probabilities[n:] + 1e-7).mean() if m else 0.0
    # d loss / d scores: (p − one-hot) / N for the digits, weight · (p − 1/K) / M for the outliers.
    dscores = probabilities.copy()
    dscores[np.arange(n), labels] -= 1
    dscores[:n] /= n
    if m:
        dscores[n:] = weight * (probabilities[n:] - 1.0 / classes) / m
    return float(digit_loss), float(uniform_loss), network.backward(dscores.astype(probabilities.dtype))


class OutlierBatches:
    """A pool of outlier images drawn once; ``next`` gives a freshly jittered batch of them."""

    def __init__(self, settings: OutlierExposure, rng: np.random.Generator, aug: Augmentation):
        self.settings = settings
        self.rng = rng
        self.aug = aug
        self.pool = outliers.generate(settings.pool, rng, settings.kinds)

    def next(self) -> np.ndarray:
        index = self.rng.integers(0, len(self.pool), self.settings.per_batch)
        return augment(self.pool[index], self.rng, self.aug)
