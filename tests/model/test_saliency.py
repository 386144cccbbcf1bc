"""The saliency is the gradient of the compared scores with respect to the input pixels: checked
against finite differences of the network's own scores (float64)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from model.network import DEFAULT_SPEC, Network
from model.saliency import input_gradient, input_gradients


@pytest.fixture(scope="module")
def network64() -> Network:
    """The default architecture, random weights, textbook layers in float64 for the checks."""
    return Network(DEFAULT_SPEC, rng=np.random.default_rng(7), dtype=np.float64, fast=False)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A random stroke-like image: most pixels dark, some ink."""
    rng = np.random.default_rng(11)
    return (rng.random((28, 28)) * (rng.random((28, 28)) < 0.3)).astype(np.float64)


def scores(network: Network, image: np.ndarray) -> np.ndarray:
    """The logits (10,) of one image, from the network's inference pass."""
    x = np.asarray(image, dtype=network.dtype)[np.newaxis, np.newaxis]
    for _, layer in network.layers:
        x = layer.predict(x)
    return x[0]


def finite_difference(f, image: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f(image) with respect to every pixel."""
    grad = np.zeros_like(image)
    probe = image.copy()
    for index in np.ndindex(image.shape):
        original = probe[index]
        probe[index] = original + eps
        plus = f(probe)
        probe[index] = original - eps
        minus = f(probe)
        probe[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("target", [0, 7])
def test_saliency_is_the_gradient_of_the_targets_score(network64, image, target):
    analytic = input_gradient(network64, image, target)
    numeric = finite_difference(lambda x: scores(network64, x)[target], image)
    assert analytic.shape == (28, 28)
    assert np.abs(numeric).max() > 0  # the check is not trivially zero against zero
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(("target", "versus"), [(7, 1), (3, 8)])
def test_saliency_versus_a_class_is_the_gradient_of_the_score_difference(network64, image, target, versus):
    analytic = input_gradient(network64, image, target, versus)
    numeric = finite_difference(lambda x: scores(network64, x)[target] - scores(network64, x)[versus], image)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    difference = input_gradient(network64, image, target) - input_gradient(network64, image, versus)
    np.testing.assert_allclose(analytic, difference, rtol=1e-10, atol=1e-12)


def test_a_step_along_the_saliency_raises_the_targets_score(network64, image):
    saliency = input_gradient(network64, image, 4, 9)
    before = scores(network64, image)
    after = scores(network64, image + 1e-3 * saliency / np.abs(saliency).max())
    assert after[4] - after[9] > before[4] - before[9]


def test_a_batch_gives_each_image_its_own_gradient(network64, image):
    images = np.stack([image, image.T, np.roll(image, 3, axis=0)])
    targets, versus = [2, 5, 9], [None, 0, 9]
    together = input_gradients(network64, images, targets, versus)
    assert together.shape == (3, 28, 28)
    for i in range(3):
        np.testing.assert_allclose(together[i], input_gradient(network64, images[i], targets[i], versus[i]),
                                   rtol=1e-10, atol=1e-12)
    # Versus itself: the difference of a score with itself does not change.
    assert not together[2].any()


def test_the_fused_network_gives_the_textbook_gradient(network64, image):
    fused = Network(DEFAULT_SPEC, params=network64.params, dtype=np.float64, fast=True)
    np.testing.assert_allclose(input_gradient(fused, image, 3, 5), input_gradient(network64, image, 3, 5),
                               rtol=1e-12, atol=1e-14)


def test_the_serving_float32_network_agrees_with_float64(network64, image):
    served = Network(DEFAULT_SPEC, params=network64.params, dtype=np.float32)
    saliency = input_gradient(served, image.astype(np.float32), 6)
    assert saliency.dtype == np.float32
    np.testing.assert_allclose(saliency, input_gradient(network64, image, 6), rtol=1e-3, atol=1e-6)


def test_the_networks_own_layers_are_left_as_they_were(network64, image):
    first_convolution = network64.layers[0][1]
    input_gradient(network64, image, 1)
    assert first_convolution.input_grad is False  # training still skips the image's gradient
    assert not hasattr(first_convolution, "col")  # no forward state left on the shared layer


def test_concurrent_calls_do_not_disturb_each_other(network64):
    rng = np.random.default_rng(5)
    images = rng.random((8, 28, 28))
    expected = [input_gradient(network64, images[i], i) for i in range(8)]
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(8)

    def run(i: int) -> None:
        start.wait()
        for _ in range(3):
            results[i] = input_gradient(network64, images[i], i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(8):
        np.testing.assert_array_equal(results[i], expected[i])


@pytest.mark.parametrize(
    ("images", "targets", "versus"),
    [
        (np.zeros((28, 28)), [1], [None]),
        (np.zeros((2, 28, 28)), [1], [None, None]),
        (np.zeros((1, 28, 28)), [1], []),
        (np.zeros((1, 28, 28)), [10], [None]),
        (np.zeros((1, 28, 28)), [-1], [None]),
        (np.zeros((1, 28, 28)), [1], [10]),
    ],
    ids=["one image without N", "fewer targets", "no versus", "target 10", "target -1", "versus 10"],
)
def test_malformed_arguments_are_refused(network64, images, targets, versus):
    with pytest.raises(ValueError):
        input_gradients(network64, images, targets, versus)
