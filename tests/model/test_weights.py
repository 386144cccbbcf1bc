"""The committed weights: they load, match their model card and reach the accuracy bar."""

from __future__ import annotations

import numpy as np
import pytest

from model import checkpoint, mnist
from model.network import DEFAULT_SPEC
from model.train import confusion_matrix, predict_classes, to_network_input
from tests.conftest import skip_or_fail

ACCURACY_BAR = 0.992


@pytest.fixture(scope="module")
def committed():
    if not checkpoint.DEFAULT_WEIGHTS.is_file():
        skip_or_fail(f"no committed weights at {checkpoint.DEFAULT_WEIGHTS}")
    return checkpoint.load(checkpoint.DEFAULT_WEIGHTS), checkpoint.load_card(checkpoint.DEFAULT_WEIGHTS)


def test_committed_weights_are_the_seed_architecture_with_a_full_card(committed):
    network, card = committed
    assert network.spec == DEFAULT_SPEC
    assert card["parameter_count"] == network.parameter_count
    for key in ("architecture", "training", "history", "confusion_matrix", "filters", "data"):
        assert key in card, key
    assert card["training"]["seed"] is not None
    np.testing.assert_allclose(card["filters"]["after"], network.params["conv1.W"][:, 0], atol=1e-5)


@pytest.mark.mnist
def test_committed_weights_reach_the_accuracy_bar_on_the_mnist_test_set(committed, mnist_dir):
    network, card = committed
    data = mnist.load_mnist(mnist_dir)
    predictions = predict_classes(network, to_network_input(data.test_images))
    accuracy = float((predictions == data.test_labels).mean())
    assert accuracy >= ACCURACY_BAR
    # The card tells the truth about these weights.
    assert accuracy == pytest.approx(card["test_accuracy"], abs=1e-4)
    assert confusion_matrix(data.test_labels, predictions).tolist() == card["confusion_matrix"]
