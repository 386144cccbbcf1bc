"""Measuring saved weights: the model card's figures, as training and model.evaluate write them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model import checkpoint, evaluate, mnist
from model.network import Network


def test_confusion_matrix_counts_true_against_predicted():
    counts = evaluate.confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), classes=3)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [0, 1, 0]])


def test_filter_figures_tell_noise_from_smooth_learned_filters():
    rng = np.random.default_rng(0)
    start = rng.standard_normal((30, 5, 5))
    ramp = np.add.outer(np.arange(5.0), np.arange(5.0))  # every neighbour close in value
    checkerboard = (-1.0) ** np.add.outer(np.arange(5), np.arange(5))  # every neighbour opposite
    unchanged = evaluate.filter_figures(start, start)
    assert unchanged["correlation_with_start"] == pytest.approx(1.0)
    assert abs(unchanged["neighbour_correlation"]) < 0.1
    smooth = evaluate.filter_figures(start, np.broadcast_to(ramp, start.shape) + 0.01 * start)
    assert smooth["neighbour_correlation"] > 0.9
    assert abs(smooth["correlation_with_start"]) < 0.1
    alternating = evaluate.filter_figures(start, np.broadcast_to(checkerboard, start.shape))
    assert alternating["neighbour_correlation"] == pytest.approx(-1.0)


@pytest.fixture
def biased_network(tiny_network) -> Network:
    """The tiny network with filter biases that are not all zero, as trained ones are not."""
    params = {**tiny_network.params, "conv1.b": np.random.default_rng(3).normal(0, 0.1, 30)}
    return Network(tiny_network.spec, params)


def test_the_cards_filters_carry_the_biases_of_the_weights(biased_network):
    card = {"filters": {"before": evaluate.filters_of(biased_network)}}
    labels = np.arange(20) % 10
    evaluate.measure(card, biased_network, labels, (labels + (labels == 3)) % 10)
    np.testing.assert_allclose(card["filters"]["bias"], biased_network.params["conv1.b"], rtol=1e-5)
    assert len(card["filters"]["bias"]) == 30
    assert card["filters"]["layer"] == "conv1"
    assert card["test_accuracy"] == 0.9 and card["test_images"] == 20
    assert card["confusion_matrix"][3][4] == 2


def test_evaluating_saved_weights_rewrites_the_cards_measures_and_keeps_the_rest(
    tmp_path, biased_network, tiny_verdict_rule, monkeypatch
):
    path = tmp_path / "w.npz"
    before = evaluate.filters_of(biased_network)
    written = {"name": "run", "training": {"seed": 4}, "filters": {"before": before}}
    checkpoint.save(path, biased_network, written, verdict_rule=tiny_verdict_rule)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), np.arange(20) % 10
    monkeypatch.setattr(mnist, "load_mnist", lambda directory: mnist.Mnist(images, labels, images, labels))
    assert evaluate.main(["--weights", str(path), "--data-dir", str(tmp_path)]) == 0
    card = json.loads(checkpoint.card_path(path).read_text())
    predictions = biased_network.predict(evaluate.to_network_input(images))[0].argmax(axis=1)
    assert card["test_accuracy"] == (predictions == labels).mean()
    np.testing.assert_allclose(card["filters"]["bias"], biased_network.params["conv1.b"], rtol=1e-5)
    assert (card["name"], card["training"]) == ("run", {"seed": 4})
    assert card["verdict_rule"] == tiny_verdict_rule.describe()
