"""The Predictor: loads a checkpoint once, predicts batches, keeps the maps the page draws."""

from __future__ import annotations

import numpy as np
import pytest

from app.inference import Predictor
from model import checkpoint
from model.network import Network, architecture
from model.saliency import input_gradient, input_gradients
from model.verdict import VerdictRule


@pytest.fixture(scope="module")
def predictor(tiny_weights) -> Predictor:
    return Predictor.from_checkpoint(tiny_weights)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((5, 28, 28)).astype(np.float32)


def test_from_checkpoint_loads_the_saved_network_and_its_card(predictor, tiny_network):
    for name, value in tiny_network.params.items():
        assert np.array_equal(predictor.network.params[name], value)
    assert predictor.card["name"] == "tiny random-weight test model"


def test_predictions_are_the_networks_probabilities(predictor, images):
    direct, _ = predictor.network.predict(images[:, None])
    predictions = predictor.predict(images)
    assert len(predictions) == 5
    for prediction, expected in zip(predictions, direct, strict=True):
        assert prediction.probabilities.shape == (10,)
        assert np.allclose(prediction.probabilities, expected, rtol=1e-5, atol=1e-7)
        assert abs(prediction.probabilities.sum() - 1) < 1e-12
        assert prediction.digit == int(np.argmax(expected))
        assert prediction.confidence == prediction.probabilities[prediction.digit]
        assert prediction.activations == {}


def test_a_batch_predicts_like_each_image_alone(predictor, images):
    together = predictor.predict(images)
    for i, prediction in enumerate(together):
        [alone] = predictor.predict(images[i : i + 1])
        assert np.allclose(prediction.probabilities, alone.probabilities, rtol=1e-5, atol=1e-7)


def test_feature_maps_are_the_relu_and_pooling_outputs(predictor, images):
    _, expected = predictor.network.predict(images[:, None], keep=("relu1", "pool1"))
    predictions = predictor.predict(images, feature_maps=True)
    for i, prediction in enumerate(predictions):
        assert set(prediction.activations) == {"relu1", "pool1"}
        assert prediction.activations["relu1"].shape == (30, 24, 24)
        assert prediction.activations["pool1"].shape == (30, 12, 12)
        assert np.array_equal(prediction.activations["relu1"], expected["relu1"][i])
        assert np.array_equal(prediction.activations["pool1"], expected["pool1"][i])


@pytest.mark.parametrize("shape", [(28, 28), (2, 1, 28, 28), (3, 28, 27), (0, 28)])
def test_images_of_the_wrong_shape_are_refused(predictor, shape):
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        predictor.predict(np.zeros(shape, dtype=np.float32))


def test_the_card_gains_the_architecture_and_parameter_count(predictor):
    assert predictor.card["parameter_count"] == predictor.network.parameter_count
    layers = predictor.card["architecture"]
    assert [(layer["name"], layer["output_shape"]) for layer in layers] == [
        ("conv1", [30, 24, 24]), ("relu1", [30, 24, 24]), ("pool1", [30, 12, 12]),
        ("affine1", [100]), ("relu2", [100]), ("affine2", [10]),
    ]
    assert sum(layer["parameters"] for layer in layers) == predictor.network.parameter_count


def test_what_the_card_says_is_kept(tiny_network, tiny_verdict_rule):
    layers = [{"name": "x", "type": "y", "output_shape": [1]}]
    card = {"parameter_count": 1, "architecture": layers, "extra": [1]}
    assert Predictor(tiny_network, tiny_verdict_rule, card).card == {
        **card, "verdict_rule": tiny_verdict_rule.describe()
    }
    bare = {"name": "bare"}
    assert set(Predictor(tiny_network, tiny_verdict_rule, bare).card) == {
        "name", "architecture", "parameter_count", "verdict_rule"
    }
    assert bare == {"name": "bare"}  # the caller's dict is left alone


def test_the_card_describes_the_verdict_rule_applied_not_an_older_one(tiny_network, tiny_verdict_rule):
    card = {"verdict_rule": {"margin_limit": 0.99}}
    served = Predictor(tiny_network, tiny_verdict_rule, card).card
    assert served["verdict_rule"] == tiny_verdict_rule.describe()


@pytest.mark.parametrize(
    "card",
    [{}, {"filters": {"layer": "conv1", "bias": [1.0] * 30}}, {"filters": {"after": []}},
     {"filters": {"layer": "nowhere"}}],
    ids=["no filters", "a bias already", "no layer named", "an unknown layer"],
)
def test_the_cards_filters_are_served_as_written(tiny_network, tiny_verdict_rule, card):
    served = Predictor(tiny_network, tiny_verdict_rule, card).card
    assert served.get("filters") == card.get("filters")


def rule_for(hidden_units: int) -> VerdictRule:
    """A verdict rule for a network whose hidden layer has ``hidden_units``: means 0, identity precision."""
    return VerdictRule(np.zeros((10, hidden_units)), np.eye(hidden_units))


def test_a_network_for_other_images_is_refused():
    spec = {"input_shape": [3, 32, 32], "layers": [{"name": "fc", "type": "Affine", "units": 10}]}
    with pytest.raises(checkpoint.CheckpointError, match="28"):
        Predictor(Network(spec, rng=np.random.default_rng(0)), rule_for(10))


@pytest.mark.parametrize(
    "layers",
    [
        [{"name": "fc", "type": "Affine", "units": 10}],
        [{"name": "fc", "type": "Affine", "units": 10}, {"name": "act", "type": "Relu"}],
        [{"name": "c", "type": "Convolution", "filters": 2, "size": 3}, {"name": "fc", "type": "Affine",
                                                                        "units": 10}],
    ],
    ids=["no hidden layer", "ends with a relu", "no relu before the scores"],
)
def test_a_network_without_hidden_units_before_its_scores_is_refused(layers):
    spec = {"input_shape": [1, 28, 28], "layers": layers}
    with pytest.raises(checkpoint.CheckpointError, match="Relu and an Affine"):
        Predictor(Network(spec, rng=np.random.default_rng(0)), rule_for(10))


def test_a_verdict_rule_for_another_hidden_layer_is_refused(tiny_network):
    with pytest.raises(checkpoint.CheckpointError, match="hidden units"):
        Predictor(tiny_network, rule_for(50))


def test_weights_without_a_verdict_rule_are_refused(tmp_path, tiny_network):
    path = tmp_path / "no-rule.npz"
    checkpoint.save(path, tiny_network)
    with pytest.raises(checkpoint.CheckpointError, match="verdict rule"):
        Predictor.from_checkpoint(path)


def test_every_prediction_carries_the_rules_verdict(predictor, images):
    probabilities, kept = predictor.network.predict(images[:, None], keep=("relu2", "affine2"))
    expected = predictor.verdict_rule.judge(probabilities.astype(np.float64), kept["relu2"])
    for prediction, verdict, hidden, logits in zip(predictor.predict(images), expected, kept["relu2"],
                                                   kept["affine2"], strict=True):
        assert prediction.verdict.label == verdict.label
        assert prediction.verdict.novelty == pytest.approx(verdict.novelty, rel=1e-6)
        assert prediction.verdict.margin == pytest.approx(verdict.margin, rel=1e-6, abs=1e-9)
        np.testing.assert_array_equal(prediction.hidden, hidden)
        np.testing.assert_array_equal(prediction.logits, logits)


def test_saliency_is_the_input_gradient_of_the_answer_and_left_out_unless_asked(predictor, images):
    plain = predictor.predict(images)
    assert all(p.saliency is None and p.versus is None for p in plain)
    with_saliency = predictor.predict(images, saliency=True)
    digits = [p.digit for p in with_saliency]
    expected = input_gradients(predictor.network, images, digits, [None] * len(images))
    for prediction, gradient in zip(with_saliency, expected, strict=True):
        assert prediction.versus is None
        np.testing.assert_allclose(prediction.saliency, gradient, rtol=1e-6, atol=1e-9)


def test_saliency_versus_the_answer_itself_takes_the_answers_score_alone(predictor, images):
    # Images the tiny network reads as different digits: versus is the answer for some of them.
    images = np.concatenate([images, np.zeros((1, 28, 28)), np.eye(28)[np.newaxis]]).astype(np.float32)
    predictions = predictor.predict(images, saliency=True, versus=4)
    alone = predictor.predict(images, saliency=True)
    assert 4 in {p.digit for p in predictions} and {p.digit for p in predictions} - {4}
    for image, prediction, reference in zip(images, predictions, alone, strict=True):
        if prediction.digit == 4:
            assert prediction.versus is None
            np.testing.assert_array_equal(prediction.saliency, reference.saliency)
        else:
            assert prediction.versus == 4
            expected = input_gradient(predictor.network, image, prediction.digit, 4)
            np.testing.assert_allclose(prediction.saliency, expected, rtol=1e-5, atol=1e-8)


def test_a_corrupt_checkpoint_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(checkpoint.CheckpointError):
        Predictor.from_checkpoint(path)


def test_the_feature_maps_are_the_default_specs_relu1_and_pool1(predictor):
    assert (predictor.maps_layer, predictor.pooled_layer) == ("relu1", "pool1")


def test_a_spec_without_pooling_gives_only_the_maps():
    spec = {
        "input_shape": [1, 28, 28],
        "layers": [
            {"name": "conv1", "type": "Convolution", "filters": 4, "size": 3},
            {"name": "relu1", "type": "Relu"},
            {"name": "affine1", "type": "Affine", "units": 16},
            {"name": "relu2", "type": "Relu"},
            {"name": "affine2", "type": "Affine", "units": 10},
        ],
    }
    predictor = Predictor(Network(spec, rng=np.random.default_rng(0)), rule_for(16))
    [prediction] = predictor.predict(np.zeros((1, 28, 28), dtype=np.float32), feature_maps=True)
    assert set(prediction.activations) == {"relu1"}
    assert prediction.activations["relu1"].shape == (4, 26, 26)
    assert architecture(predictor.network)[0]["parameters"] == 4 * 9 + 4
