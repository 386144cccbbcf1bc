"""The textbook layers against naive loops and numerical gradients (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.gradients import check_layer_gradients, numerical_gradient
from model import layers
from model.layers import (
    Affine,
    AveragePooling,
    Convolution,
    MaxPooling,
    Relu,
    SoftmaxWithLoss,
    col2im,
    im2col,
    softmax,
)

# (N, C, H, W, filter size, stride, pad)
WINDOW_CASES = [
    (2, 1, 7, 7, 3, 1, 0),
    (2, 3, 8, 6, 3, 2, 1),
    (1, 2, 5, 5, 5, 1, 2),
    (3, 1, 9, 9, 2, 3, 0),
    (1, 4, 6, 7, 1, 1, 0),
]


def naive_convolution(x, W, b, stride, pad):
    n, c, h, w = x.shape
    fn, _, fh, fw = W.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    out = np.zeros((n, fn, oh, ow))
    for i in range(n):
        for f in range(fn):
            for y in range(oh):
                for z in range(ow):
                    window = padded[i, :, y * stride : y * stride + fh, z * stride : z * stride + fw]
                    out[i, f, y, z] = (window * W[f]).sum() + b[f]
    return out


def naive_pooling(x, size, stride, pad, reduce):
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1
    out = np.zeros((n, c, oh, ow))
    for y in range(oh):
        for z in range(ow):
            window = padded[:, :, y * stride : y * stride + size, z * stride : z * stride + size]
            out[:, :, y, z] = reduce(window, axis=(2, 3))
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize(("n", "c", "h", "w", "size", "stride", "pad"), WINDOW_CASES)
def test_im2col_rows_are_the_filter_windows(rng, n, c, h, w, size, stride, pad):
    x = rng.standard_normal((n, c, h, w))
    col = im2col(x, size, size, stride, pad)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1
    assert col.shape == (n * oh * ow, c * size * size)
    row = 0
    for i in range(n):
        for y in range(oh):
            for z in range(ow):
                window = padded[i, :, y * stride : y * stride + size, z * stride : z * stride + size]
                np.testing.assert_array_equal(col[row], window.ravel())
                row += 1


@pytest.mark.parametrize(("n", "c", "h", "w", "size", "stride", "pad"), WINDOW_CASES)
def test_col2im_is_the_adjoint_of_im2col(rng, n, c, h, w, size, stride, pad):
    x = rng.standard_normal((n, c, h, w))
    col = im2col(x, size, size, stride, pad)
    y = rng.standard_normal(col.shape)
    # <im2col(x), y> == <x, col2im(y)> for every x and y.
    np.testing.assert_allclose(
        (col * y).sum(), (x * col2im(y, x.shape, size, size, stride, pad)).sum(), rtol=1e-10
    )


def test_a_window_larger_than_the_padded_image_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        im2col(np.zeros((1, 1, 3, 3)), 5, 5)


@pytest.mark.parametrize(("n", "c", "h", "w", "size", "stride", "pad"), WINDOW_CASES)
def test_convolution_matches_a_naive_loop(rng, n, c, h, w, size, stride, pad):
    x = rng.standard_normal((n, c, h, w))
    W, b = rng.standard_normal((4, c, size, size)), rng.standard_normal(4)
    conv = Convolution(W, b, stride, pad)
    expected = naive_convolution(x, W, b, stride, pad)
    np.testing.assert_allclose(conv.predict(x), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.forward(x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("n", "c", "h", "w", "size", "stride", "pad"), WINDOW_CASES)
def test_convolution_gradients(rng, n, c, h, w, size, stride, pad):
    W, b = rng.standard_normal((3, c, size, size)), rng.standard_normal(3)
    check_layer_gradients(Convolution(W, b, stride, pad), rng.standard_normal((n, c, h, w)), rng)


def test_first_layer_convolution_skips_the_input_gradient(rng, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("col2im must not run for a layer without input gradient")

    monkeypatch.setattr(layers, "col2im", fail)
    conv = Convolution(rng.standard_normal((2, 1, 3, 3)), np.zeros(2), input_grad=False)
    out = conv.forward(rng.standard_normal((2, 1, 6, 6)))
    assert conv.backward(np.ones_like(out)) is None
    assert conv.grads["W"].shape == (2, 1, 3, 3)


def test_relu_gradients(rng):
    # Keep inputs away from 0, where ReLU has no derivative.
    x = rng.standard_normal((2, 3, 4, 4))
    x[np.abs(x) < 0.01] = 0.5
    check_layer_gradients(Relu(), x, rng)


# (pool size, stride, pad, H, W): windows that tile the input, overlap, or leave a border.
POOLING_CASES = [(2, 2, 0, 8, 6), (3, 3, 0, 9, 6), (3, 2, 1, 7, 7), (2, 1, 0, 5, 4), (2, 2, 0, 7, 7)]


@pytest.mark.parametrize(("size", "stride", "pad", "h", "w"), POOLING_CASES)
def test_max_pooling_matches_a_naive_loop(rng, size, stride, pad, h, w):
    x = rng.standard_normal((2, 3, h, w))
    # With padding, the zeros take part in the max, as in im2col-based pooling.
    expected = naive_pooling(x, size, stride, pad, np.max)
    pool = MaxPooling(size, stride, pad)
    np.testing.assert_array_equal(pool.predict(x), expected)
    np.testing.assert_array_equal(pool.forward(x), expected)


@pytest.mark.parametrize(("size", "stride", "pad", "h", "w"), POOLING_CASES)
def test_max_pooling_gradients(rng, size, stride, pad, h, w):
    # Distinct values: no ties, so the maximum is differentiable.
    x = rng.permutation(2 * 3 * h * w).reshape(2, 3, h, w) / 10.0
    check_layer_gradients(MaxPooling(size, stride, pad), x, rng)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ([[1.0, 5.0], [3.0, 2.0]], [[0.0, 7.0], [0.0, 0.0]]),
        ([[1.0, 5.0], [5.0, 2.0]], [[0.0, 7.0], [0.0, 0.0]]),
    ],
    ids=["one-maximum", "tie-goes-to-the-first"],
)
def test_max_pooling_sends_the_gradient_to_the_first_maximum_only(window, expected):
    pool = MaxPooling(2)
    assert pool.forward(np.array([[window]])).item() == 5.0
    np.testing.assert_array_equal(pool.backward(np.array([[[[7.0]]]])), [[expected]])


def test_max_pooling_of_channels_last_memory_gives_nchw_results(rng):
    """A convolution's output is an NCHW view of channels-last memory; pooling must not care."""
    channels_last = rng.standard_normal((2, 6, 6, 3))
    x = channels_last.transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(MaxPooling(2).predict(x), naive_pooling(x, 2, 2, 0, np.max))


@pytest.mark.parametrize(("size", "stride", "pad", "h", "w"), POOLING_CASES)
def test_average_pooling_matches_a_naive_loop_and_its_gradients(rng, size, stride, pad, h, w):
    x = rng.standard_normal((2, 3, h, w))
    pool = AveragePooling(size, stride, pad)
    np.testing.assert_allclose(pool.predict(x), naive_pooling(x, size, stride, pad, np.mean), rtol=1e-12)
    check_layer_gradients(AveragePooling(size, stride, pad), x, rng)


@pytest.mark.parametrize("shape", [(4, 7), (3, 2, 3, 4)])
def test_affine_gradients(rng, shape):
    d = int(np.prod(shape[1:]))
    layer = Affine(rng.standard_normal((d, 5)), rng.standard_normal(5))
    check_layer_gradients(layer, rng.standard_normal(shape), rng)


def test_affine_flattens_images_in_c_order_as_the_book_does(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    W, b = rng.standard_normal((60, 2)), np.zeros(2)
    # Weight row c·20 + h·5 + w multiplies pixel (h, w) of channel c.
    expected = np.einsum("nchw,chwm->nm", x, W.reshape(3, 4, 5, 2))
    np.testing.assert_allclose(Affine(W, b).predict(x), expected)
    np.testing.assert_allclose(Affine(W, b).forward(x), expected)


def test_affine_reads_the_transposed_views_convolutions_return(rng):
    """A convolution's output is an NCHW view of channels-last memory; Affine must not care."""
    channels_last = rng.standard_normal((2, 4, 5, 3))
    x = channels_last.transpose(0, 3, 1, 2)
    W, b = rng.standard_normal((60, 2)), np.zeros(2)
    np.testing.assert_allclose(Affine(W, b).predict(x), np.ascontiguousarray(x).reshape(2, -1) @ W)


def test_softmax_with_loss_gradient(rng):
    scores = rng.standard_normal((5, 10))
    labels = rng.integers(0, 10, 5)
    head = SoftmaxWithLoss()
    head.forward(scores, labels)
    analytic = head.backward()
    numeric = numerical_gradient(lambda: SoftmaxWithLoss().forward(scores, labels), scores)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-8)


def test_softmax_is_stable_for_huge_scores():
    probabilities = softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(probabilities, [[0.5, 0.5, 0.0]])


@pytest.mark.parametrize(
    "layer",
    [
        lambda rng: Convolution(rng.standard_normal((2, 1, 3, 3)), np.zeros(2)),
        lambda rng: Relu(),
        lambda rng: MaxPooling(2),
        lambda rng: AveragePooling(2),
        lambda rng: Affine(rng.standard_normal((36, 3)), np.zeros(3)),
    ],
)
def test_predict_keeps_no_state(rng, layer):
    layer = layer(rng)
    before = dict(vars(layer))
    layer.predict(rng.standard_normal((2, 1, 6, 6)))
    assert vars(layer).keys() == before.keys()
