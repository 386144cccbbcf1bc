"""The tiny random-weight model that app tests serve instead of a trained one: a verdict rule,
misread "test digits" and a training replay for it that work and mean nothing."""

from __future__ import annotations

import numpy as np

from model import verdict
from model.evaluate import fit_verdict_rule, misread_digits
from model.network import Network


def fit_tiny_verdict_rule(network: Network, seed: int = 0) -> verdict.VerdictRule:
    """A verdict rule fitted on random images with made-up labels."""
    rng = np.random.default_rng(seed)
    images = rng.random((400, 1, 28, 28), dtype=np.float32)
    labels = np.arange(400) % verdict.CLASSES
    return fit_verdict_rule(network, images[:300], labels[:300], images[300:], held_out=True)


def tiny_misread_document(network: Network) -> dict:
    """What model.evaluate writes beside weights, for ``network`` on made-up "test digits"."""
    images = np.random.default_rng(2).integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    labels = np.arange(40) % 10
    probabilities, _ = network.predict(images[:, np.newaxis].astype(np.float32) / 255)
    return misread_digits(images, labels, probabilities.argmax(axis=1))


def save_tiny_replay(weights_path, network: Network, snapshots: int = 4, seed: int = 3) -> list[dict]:
    """A training replay for ``network`` saved beside ``weights_path``, and listed in its model card
    as training does: ``snapshots`` moments on the straight line from a fresh random start (seed
    ``seed``) to ``network`` itself, the last. Measured on made-up "test digits"; returns the card's
    ``replay``."""
    from model import checkpoint
    from model.replay import Recorder

    rng = np.random.default_rng(seed)
    start = Network(network.spec, rng=rng)
    images = rng.random((50, 1, 28, 28), dtype=np.float32)
    labels = np.arange(50) % verdict.CLASSES
    steps = [10 * k for k in range(snapshots)]
    recorder = Recorder(steps)
    for k, step in enumerate(steps):
        share = k / (snapshots - 1)
        params = {name: (1 - share) * start.params[name] + share * value
                  for name, value in network.params.items()}
        recorder.take(Network(network.spec, params), step, step / 20, images, labels)
    recorder.save(weights_path)
    card = checkpoint.load_card(weights_path)
    checkpoint.save_card(weights_path, {**card, "replay": recorder.describe()})
    return recorder.describe()
