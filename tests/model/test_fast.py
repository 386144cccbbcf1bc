"""The fused conv → ReLU → max-pool block against the textbook layers it stands for."""

from __future__ import annotations

import numpy as np
import pytest

from harness.gradients import check_layer_gradients
from model.fast import CHUNK, ConvReluMaxPool, tiles
from model.layers import Convolution, MaxPooling, Relu
from model.network import DEFAULT_SPEC, Network
from model.optimizers import Adam

# (N, C, H, W, filters, filter size, stride, pad, pool size): the convolution output tiles.
BLOCK_CASES = [
    (2, 1, 8, 8, 3, 3, 1, 1, 2),
    (2, 2, 9, 9, 4, 2, 1, 0, 2),
    (1, 3, 11, 11, 2, 3, 2, 1, 3),
    (3, 1, 12, 12, 5, 5, 1, 0, 4),
]


def _textbook(W, b, stride, pad, size, x):
    """conv, relu and pool outputs of the textbook layers."""
    conv = Convolution(W, b, stride, pad).predict(x)
    relu = Relu().predict(conv)
    return conv, relu, MaxPooling(size).predict(relu)


@pytest.mark.parametrize(("n", "c", "h", "w", "fn", "fs", "stride", "pad", "size"), BLOCK_CASES)
def test_block_equals_convolution_relu_and_max_pooling(n, c, h, w, fn, fs, stride, pad, size):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w))
    W, b = rng.standard_normal((fn, c, fs, fs)), rng.standard_normal(fn)
    conv, relu, pooled = _textbook(W, b, stride, pad, size, x)
    block = ConvReluMaxPool(W, b, stride, pad, size)
    got, maps = block.predict(x, maps=True)
    np.testing.assert_allclose(got, pooled, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(maps["conv"], conv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(maps["relu"], relu, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(block.forward(x), pooled, rtol=1e-12, atol=1e-12)
    assert block.predict(x)[1] == {}


@pytest.mark.parametrize(("n", "c", "h", "w", "fn", "fs", "stride", "pad", "size"), BLOCK_CASES)
def test_block_gradients_match_numerical_ones(n, c, h, w, fn, fs, stride, pad, size):
    rng = np.random.default_rng(1)
    # Biases around 0: some pooled maxima are cut by the ReLU, some are not.
    W, b = rng.standard_normal((fn, c, fs, fs)), rng.standard_normal(fn)
    check_layer_gradients(ConvReluMaxPool(W, b, stride, pad, size), rng.standard_normal((n, c, h, w)), rng)


@pytest.mark.parametrize("n", [CHUNK - 1, CHUNK, 2 * CHUNK + 3])
def test_a_batch_run_in_pieces_gets_the_textbook_layers_outputs_and_gradients(n):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, 2, 9, 9))
    W, b = rng.standard_normal((4, 2, 2, 2)), rng.standard_normal(4)
    conv, relu, pool = Convolution(W, b), Relu(), MaxPooling(2)
    conv_out = conv.forward(x)
    relu_out = relu.forward(conv_out)
    expected = pool.forward(relu_out)
    dout = rng.standard_normal(expected.shape)
    expected_dx = conv.backward(relu.backward(pool.backward(dout)))
    block = ConvReluMaxPool(W, b)
    pooled, maps = block.predict(x, maps=True)
    for got, want in ((pooled, expected), (maps["conv"], conv_out), (maps["relu"], relu_out)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(block.forward(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(block.backward(dout), expected_dx, rtol=1e-12, atol=1e-12)
    for name in ("W", "b"):
        np.testing.assert_allclose(block.grads[name], conv.grads[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_block_without_input_gradient_returns_none_but_fills_its_grads():
    rng = np.random.default_rng(2)
    block = ConvReluMaxPool(rng.standard_normal((2, 1, 3, 3)), np.zeros(2), input_grad=False)
    out = block.forward(rng.standard_normal((2, 1, 6, 6)))
    assert block.backward(np.ones_like(out)) is None
    assert block.grads["W"].shape == (2, 1, 3, 3) and block.grads["b"].shape == (2,)


@pytest.mark.parametrize(
    ("size", "stride", "pad", "h", "w", "expected"),
    [(2, 2, 0, 24, 24, True), (2, 2, 0, 7, 8, False), (2, 1, 0, 8, 8, False), (2, 2, 1, 8, 8, False)],
)
def test_only_pooling_that_tiles_the_maps_can_be_fused(size, stride, pad, h, w, expected):
    assert tiles(size, stride, pad, h, w) is expected


def test_a_block_refuses_maps_its_pooling_does_not_tile():
    block = ConvReluMaxPool(np.ones((1, 1, 2, 2)), np.zeros(1), pool=2)
    with pytest.raises(ValueError, match="does not tile"):
        block.predict(np.zeros((1, 1, 8, 8)))


def _digits_like(rng, n):
    """Images like MNIST's: blank borders and saturated strokes, so many pooling windows
    hold their maximum more than once (all-zero and all-ink windows)."""
    images = np.zeros((n, 1, 28, 28))
    images[:, :, 6:22, 8:20] = np.clip(rng.random((n, 1, 16, 12)) * 3 - 1, 0, 1)
    return images


def _train(network, steps, seed):
    rng = np.random.default_rng(seed)
    optimizer = Adam(lr=0.001)
    for _ in range(steps):
        x = _digits_like(rng, 20)
        labels = rng.integers(0, 10, 20)
        _, grads = network.gradient(x, labels)
        optimizer.update(network.params, grads)
    return network


def test_training_with_the_fused_block_and_with_the_textbook_layers_gives_the_same_weights():
    start = Network(DEFAULT_SPEC, rng=np.random.default_rng(0), dtype=np.float64).params
    # Each network trains its own copy of the same starting weights.
    fast = Network(DEFAULT_SPEC, {k: v.copy() for k, v in start.items()}, dtype=np.float64, fast=True)
    reference = Network(DEFAULT_SPEC, {k: v.copy() for k, v in start.items()}, dtype=np.float64, fast=False)
    assert [names for names, _ in fast.steps][0] == ("conv1", "relu1", "pool1")
    assert [names for names, _ in reference.steps][0] == ("conv1",)
    _train(fast, steps=8, seed=5)
    _train(reference, steps=8, seed=5)
    for name, value in fast.params.items():
        assert not np.array_equal(value, start[name]), f"{name} did not train"
        np.testing.assert_allclose(value, reference.params[name], rtol=1e-7, atol=1e-10, err_msg=name)


def test_a_tied_window_sends_its_gradient_to_the_first_maximum_as_the_textbook_layers_do():
    # A 1×1 filter of weight 1 and no bias: the block max-pools the image itself.
    x = np.array([[[[1.0, 5.0], [5.0, 2.0]]]])
    block = ConvReluMaxPool(np.ones((1, 1, 1, 1)), np.zeros(1), pool=2)
    assert block.forward(x).item() == 5.0
    np.testing.assert_array_equal(block.backward(np.array([[[[7.0]]]])), [[[[0.0, 7.0], [0.0, 0.0]]]])
