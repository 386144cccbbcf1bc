"""The spec-built network: shapes, validation, inference purity and whole-network gradients."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from harness.gradients import numerical_gradient
from harness.networks import SMALL_SPEC
from model.layers import softmax
from model.network import DEFAULT_SPEC, Network, SpecError, parameter_shapes


def test_default_spec_is_the_seed_network():
    assert Network(DEFAULT_SPEC, rng=np.random.default_rng(0)).output_shapes() == [
        ("conv1", (30, 24, 24)),
        ("relu1", (30, 24, 24)),
        ("pool1", (30, 12, 12)),
        ("affine1", (100,)),
        ("relu2", (100,)),
        ("affine2", (10,)),
    ]
    assert Network(rng=np.random.default_rng(0)).parameter_count == 30 * 26 + 4320 * 100 + 100 + 1010


def _spec_with(**changes):
    layers = [dict(entry) for entry in DEFAULT_SPEC["layers"]]
    layers[0].update(changes)
    return {"input_shape": [1, 28, 28], "layers": layers}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "input_shape"),
        ({"input_shape": [28, 28], "layers": []}, "input_shape"),
        (_spec_with(type="Dense"), "unknown type"),
        (_spec_with(filters=0), "filters"),
        (_spec_with(size=40), "does not fit"),
        (_spec_with(stride=True), "stride"),
        (_spec_with(name="relu1"), "unique name"),
    ],
)
def test_bad_specs_are_refused_with_a_reason(spec, message):
    with pytest.raises(SpecError, match=message):
        parameter_shapes(spec)


def test_parameters_that_do_not_fit_the_spec_are_refused():
    params = Network(rng=np.random.default_rng(0)).params
    with pytest.raises(SpecError, match="affine1.W"):
        Network(DEFAULT_SPEC, {**params, "affine1.W": np.zeros((10, 100))})
    with pytest.raises(SpecError, match="missing"):
        Network(DEFAULT_SPEC, {k: v for k, v in params.items() if k != "conv1.b"})


def test_predict_returns_probabilities_and_the_asked_activations(tiny_network):
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    probabilities, activations = tiny_network.predict(x, keep=("relu1", "pool1"))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    assert activations["relu1"].shape == (3, 30, 24, 24)
    assert activations["pool1"].shape == (3, 30, 12, 12)
    assert (activations["relu1"] >= 0).all()
    # Pooling keeps the maximum of each 2×2 block of the ReLU maps.
    blocks = activations["relu1"].reshape(3, 30, 12, 2, 12, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(activations["pool1"], blocks)


def test_asking_for_an_unknown_layer_names_the_layers(tiny_network):
    with pytest.raises(KeyError, match="conv1"):
        tiny_network.predict(np.zeros((1, 1, 28, 28)), keep=("conv9",))


def test_training_forward_and_inference_agree(tiny_network):
    x = np.random.default_rng(1).random((4, 1, 28, 28), dtype=np.float32)
    labels = np.arange(4)
    tiny_network.loss(x, labels)
    np.testing.assert_allclose(tiny_network.head.probabilities, tiny_network.predict(x)[0], rtol=1e-5)


def test_predict_from_many_threads_equals_predict_alone(tiny_network):
    images = np.random.default_rng(2).random((8, 1, 1, 28, 28), dtype=np.float32)
    expected = [tiny_network.predict(x)[0] for x in images]
    results = [None] * len(images)

    def work(i):
        for _ in range(20):
            results[i] = tiny_network.predict(images[i], keep=("relu1",))[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_whole_network_gradients_match_numerical_ones(fast):
    rng = np.random.default_rng(3)
    network = Network(SMALL_SPEC, rng=rng, dtype=np.float64, fast=fast)
    x = rng.standard_normal((3, 2, 9, 9))
    labels = np.array([0, 3, 1])
    _, grads = network.gradient(x, labels)
    for name, value in network.params.items():
        numeric = numerical_gradient(lambda: network.loss(x, labels), value)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-4, atol=1e-7, err_msg=name)


def test_the_first_layer_computes_no_input_gradient(tiny_network):
    first = tiny_network.layers[0][1]
    assert first.input_grad is False
    assert tiny_network.steps[0][1].input_grad is False
    assert all(getattr(layer, "input_grad", True) for _, layer in tiny_network.layers[1:])


def _layer_by_layer(network, x):
    for _, layer in network.layers:
        x = layer.predict(x)
    return x


def test_the_default_network_runs_the_fused_block_and_the_reference_one_the_textbook_layers(tiny_network):
    assert [names for names, _ in tiny_network.steps] == [
        ("conv1", "relu1", "pool1"), ("affine1",), ("relu2",), ("affine2",)
    ]
    reference = Network(DEFAULT_SPEC, tiny_network.params, fast=False)
    assert [names for names, _ in reference.steps] == [(name,) for name in reference.layer_names]


def test_fused_and_chunked_inference_equals_running_each_textbook_layer(tiny_network):
    # 600 images: more than one chunk.
    x = np.random.default_rng(4).random((600, 1, 28, 28), dtype=np.float32)
    probabilities, activations = tiny_network.predict(x, keep=("pool1",))
    np.testing.assert_allclose(probabilities, softmax(_layer_by_layer(tiny_network, x)), rtol=1e-5, atol=1e-7)
    pooled = x
    for _, layer in tiny_network.layers[:3]:
        pooled = layer.predict(pooled)
    np.testing.assert_allclose(activations["pool1"], pooled, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("keep", [("relu1",), ("pool1",), ("conv1", "relu1", "pool1")])
def test_feature_maps_come_from_the_same_pass_as_the_answer(tiny_network, keep):
    x = np.random.default_rng(5).random((3, 1, 28, 28), dtype=np.float32)
    plain, _ = tiny_network.predict(x)
    probabilities, activations = tiny_network.predict(x, keep=keep)
    # Asking for the maps changes nothing in the answer: the same code made both.
    np.testing.assert_array_equal(probabilities, plain)
    reference = Network(DEFAULT_SPEC, tiny_network.params, fast=False)
    reference_probabilities, expected = reference.predict(x, keep)
    np.testing.assert_allclose(probabilities, reference_probabilities, rtol=1e-5, atol=1e-7)
    assert set(activations) == set(keep)
    for name in keep:
        assert activations[name].shape == expected[name].shape
        np.testing.assert_allclose(activations[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


FUSED_SPEC = {
    "input_shape": [1, 10, 10],
    "layers": [
        {"name": "conv", "type": "Convolution", "filters": 3, "size": 3},
        {"name": "relu", "type": "Relu"},
        {"name": "pool", "type": "MaxPooling", "size": 2},
        {"name": "out", "type": "Affine", "units": 3},
    ],
}


TWO_BLOCK_SPEC = {
    "input_shape": [2, 14, 14],
    "layers": [
        {"name": "conv", "type": "Convolution", "filters": 3, "size": 3, "pad": 1},
        {"name": "relu", "type": "Relu"},
        {"name": "pool", "type": "MaxPooling", "size": 2},
        {"name": "conv2", "type": "Convolution", "filters": 2, "size": 2, "stride": 1},
        {"name": "relu2", "type": "Relu"},
        {"name": "pool2", "type": "MaxPooling", "size": 3},
        {"name": "out", "type": "Affine", "units": 3},
    ],
}


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
@pytest.mark.parametrize(
    ("spec", "blocks"),
    [
        (FUSED_SPEC, [("conv", "relu", "pool")]),
        (TWO_BLOCK_SPEC, [("conv", "relu", "pool"), ("conv2", "relu2", "pool2")]),
    ],
)
def test_conv_relu_pool_training_gradients_match_numerical_ones(spec, blocks, fast):
    rng = np.random.default_rng(6)
    network = Network(spec, rng=rng, dtype=np.float64, fast=fast)
    assert [names for names, _ in network.steps if len(names) == 3] == (blocks if fast else [])
    for name in network.params:
        if name.endswith(".b"):  # some pooled maxima negative, some not
            network.params[name][:] = rng.standard_normal(network.params[name].shape)
    x = rng.standard_normal((4, *spec["input_shape"]))
    labels = np.array([0, 1, 2, 1])
    _, grads = network.gradient(x, labels)
    assert set(grads) == set(network.params)
    for name, value in network.params.items():
        numeric = numerical_gradient(lambda: network.loss(x, labels), value)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-4, atol=1e-7, err_msg=name)
