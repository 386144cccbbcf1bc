"""The Predictor: loads a checkpoint once, predicts batches, keeps the maps the page draws."""

from __future__ import annotations

import numpy as np
import pytest

from app.inference import Predictor, architecture, feature_layers
from model import checkpoint
from model.network import DEFAULT_SPEC, Network


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


def test_what_the_card_says_is_kept(tiny_network):
    layers = [{"name": "x", "type": "y", "output_shape": [1]}]
    card = {"parameter_count": 1, "architecture": layers, "extra": [1]}
    assert Predictor(tiny_network, card).card == card
    bare = {"name": "bare"}
    assert set(Predictor(tiny_network, bare).card) == {"name", "architecture", "parameter_count"}
    assert bare == {"name": "bare"}  # the caller's dict is left alone


def test_a_network_for_other_images_is_refused():
    spec = {"input_shape": [3, 32, 32], "layers": [{"name": "fc", "type": "Affine", "units": 10}]}
    with pytest.raises(checkpoint.CheckpointError, match="28"):
        Predictor(Network(spec, rng=np.random.default_rng(0)))


def test_a_corrupt_checkpoint_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(checkpoint.CheckpointError):
        Predictor.from_checkpoint(path)


def test_feature_layers_follow_the_spec():
    assert feature_layers(DEFAULT_SPEC) == ("relu1", "pool1")
    no_relu = {"layers": [{"name": "c", "type": "Convolution"}, {"name": "p", "type": "MaxPooling"}]}
    assert feature_layers(no_relu) == ("c", "p")
    no_conv = {"layers": [{"name": "fc", "type": "Affine"}, {"name": "r", "type": "Relu"}]}
    assert feature_layers(no_conv) == (None, None)


def test_a_spec_without_pooling_gives_only_the_maps():
    spec = {
        "input_shape": [1, 28, 28],
        "layers": [
            {"name": "conv", "type": "Convolution", "filters": 4, "size": 3},
            {"name": "act", "type": "Relu"},
            {"name": "out", "type": "Affine", "units": 10},
        ],
    }
    predictor = Predictor(Network(spec, rng=np.random.default_rng(0)))
    [prediction] = predictor.predict(np.zeros((1, 28, 28), dtype=np.float32), feature_maps=True)
    assert set(prediction.activations) == {"act"}
    assert prediction.activations["act"].shape == (4, 26, 26)
    assert architecture(predictor.network)[0]["parameters"] == 4 * 9 + 4
