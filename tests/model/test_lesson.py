"""One backward pass and a few SGD steps on one image (model.lesson): the gradients against
finite differences (float64), the steps against the update done by hand, and the network given
left exactly as it was."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from harness.ci import skip_or_fail
from harness.gradients import numerical_gradient
from harness.networks import SMALL_SPEC
from model import checkpoint, sample
from model.lesson import backward_pass, private_copy, teach
from model.network import DEFAULT_SPEC, Network

# Each spec with the layer whose output gradient is shown as "hidden" and the filters' layer.
NETWORKS = {
    "small": (SMALL_SPEC, "max", "conv"),
    "seed": (DEFAULT_SPEC, "relu2", "conv1"),
}


def random_image(spec: dict, seed: int) -> np.ndarray:
    """Stroke-like: most pixels 0, some ink; (C, H, W) float64."""
    rng = np.random.default_rng(seed)
    shape = spec["input_shape"]
    return rng.random(shape) * (rng.random(shape) < 0.4)


def loss_after(network: Network, x: np.ndarray, label: int, start: int = 0) -> float:
    """The cross-entropy of label for activation x (N, ...) fed into layer ``start`` onwards,
    by the layers' inference pass (not the forward/backward under test)."""
    for _, layer in network.layers[start:]:
        x = layer.predict(x)
    return network.head.forward(x, np.array([label]))


@pytest.fixture(scope="module", params=list(NETWORKS))
def case(request):
    spec, hidden, filters = NETWORKS[request.param]
    network = Network(spec, rng=np.random.default_rng(3), dtype=np.float64, fast=False)
    image = random_image(spec, 5)
    label = 2
    gradients = backward_pass(private_copy(network), image, label, hidden, filters)
    return network, image, label, hidden, filters, gradients


def test_the_scores_gradient_is_the_probabilities_minus_the_one_hot_label(case):
    network, image, label, _, _, gradients = case
    probabilities, _ = network.predict(image[np.newaxis])
    one_hot = np.eye(probabilities.shape[1])[label]
    np.testing.assert_allclose(gradients.scores, probabilities[0] - one_hot, rtol=1e-10, atol=1e-12)
    assert gradients.loss == pytest.approx(-np.log(probabilities[0, label] + 1e-7), rel=1e-10)


def test_the_scores_gradient_matches_finite_differences(case):
    network, image, label, _, _, gradients = case
    scores = image[np.newaxis]
    for _, layer in network.layers:
        scores = layer.predict(scores)
    numeric = numerical_gradient(lambda: loss_after(network, scores, label, len(network.layers)), scores)
    np.testing.assert_allclose(gradients.scores, numeric[0], rtol=1e-5, atol=1e-8)


def test_the_hidden_gradient_matches_finite_differences(case):
    network, image, label, hidden, _, gradients = case
    position = network.layer_names.index(hidden)
    activation = image[np.newaxis]
    for _, layer in network.layers[: position + 1]:
        activation = layer.predict(activation)
    numeric = numerical_gradient(lambda: loss_after(network, activation, label, position + 1), activation)
    assert np.abs(numeric).max() > 0  # not zero against zero
    np.testing.assert_allclose(gradients.hidden, numeric[0], rtol=1e-5, atol=1e-8)


def test_the_filters_gradient_matches_finite_differences(case):
    network, image, label, _, filters, gradients = case
    params = {name: value.copy() for name, value in network.params.items()}
    probe = Network(network.spec, params, dtype=np.float64, fast=False)
    weights = probe.params[f"{filters}.W"]  # shared with the layer: perturbed in place
    numeric = numerical_gradient(lambda: loss_after(probe, image[np.newaxis], label), weights)
    assert np.abs(numeric).max() > 0
    np.testing.assert_allclose(gradients.filters, numeric, rtol=1e-5, atol=1e-8)


def test_the_input_gradient_matches_finite_differences(case):
    network, image, label, _, _, gradients = case
    probe = image[np.newaxis].copy()
    numeric = numerical_gradient(lambda: loss_after(network, probe, label), probe)
    assert np.abs(numeric).max() > 0
    np.testing.assert_allclose(gradients.input, numeric[0], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(("learning_rate", "steps"), [(0.01, 1), (0.003, 4)])
def test_the_steps_are_the_sgd_update_done_by_hand(learning_rate, steps):
    network = Network(DEFAULT_SPEC, rng=np.random.default_rng(8), dtype=np.float64)
    image, label = random_image(DEFAULT_SPEC, 9), 6
    lesson = teach(network, image, label, learning_rate, steps)
    by_hand = private_copy(network)
    for _ in range(steps):
        grads = backward_pass(by_hand, image, label).params
        for name in by_hand.params:
            by_hand.params[name][...] = by_hand.params[name] - learning_rate * grads[name]
    expected, _ = by_hand.predict(image[np.newaxis])
    np.testing.assert_allclose(lesson.probabilities_after, expected[0], rtol=1e-9, atol=1e-12)
    moved = by_hand.params["conv1.W"] - network.params["conv1.W"]
    np.testing.assert_allclose(lesson.filter_change, np.sqrt((moved**2).sum(axis=(1, 2, 3))), rtol=1e-9)
    assert lesson.filter_change.shape == (30,) and lesson.filter_change.max() > 0
    # The first step's gradients are the ones reported.
    first = backward_pass(private_copy(network), image, label)
    np.testing.assert_allclose(lesson.gradients.filters, first.filters, rtol=1e-12)


def test_steps_toward_a_label_raise_its_probability():
    network = Network(DEFAULT_SPEC, rng=np.random.default_rng(8))
    image = random_image(DEFAULT_SPEC, 9).astype(np.float32)
    lesson = teach(network, image, 4, 0.01, 5)
    assert lesson.probabilities_after[4] > lesson.gradients.probabilities[4]


def test_the_network_given_is_left_exactly_as_it_was():
    network = Network(DEFAULT_SPEC, rng=np.random.default_rng(8))
    params = {name: value.copy() for name, value in network.params.items()}
    arrays = {name: value for name, value in network.params.items()}
    state = [sorted(vars(layer)) for _, layer in network.layers]
    teach(network, random_image(DEFAULT_SPEC, 9), 3, 1.0, 3)
    for name, value in network.params.items():
        assert value is arrays[name]
        np.testing.assert_array_equal(value, params[name], err_msg=name)
    # No forward state (what backward needs) left on the shared layers either.
    assert [sorted(vars(layer)) for _, layer in network.layers] == state
    assert network.layers[0][1].input_grad is False


def test_lessons_on_one_network_in_threads_give_what_one_alone_gives():
    network = Network(DEFAULT_SPEC, rng=np.random.default_rng(8))
    images = [random_image(DEFAULT_SPEC, seed).astype(np.float32) for seed in range(4)]
    alone = [teach(network, image, 1, 0.01, 2).probabilities_after for image in images]
    together = [None] * len(images)

    def run(i):
        together[i] = teach(network, images[i], 1, 0.01, 2).probabilities_after

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for expected, got in zip(alone, together, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_the_sample_accuracy_is_counted_before_and_after_the_steps():
    network = Network(DEFAULT_SPEC, rng=np.random.default_rng(8))
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    digits = sample.Sample(images, (np.arange(30) % 10).astype(np.uint8))
    lesson = teach(network, images[0] / 255.0, 7, 0.5, 3, digits)
    before, after = lesson.sample_accuracy
    assert before == digits.accuracy(network)
    student = private_copy(network)
    for _ in range(3):
        grads = backward_pass(student, images[0] / 255.0, 7).params
        for name in student.params:
            student.params[name] -= 0.5 * grads[name]
    assert after == digits.accuracy(student)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"label": 10}, "label"), ({"label": -1}, "label"), ({"steps": 0}, "steps"),
     ({"image": np.zeros((27, 28))}, "images")],
)
def test_bad_lessons_are_refused(change, message):
    network = Network(DEFAULT_SPEC, rng=np.random.default_rng(8))
    arguments = {"image": np.zeros((28, 28)), "label": 3, "learning_rate": 0.1, "steps": 1, **change}
    with pytest.raises(ValueError, match=message):
        teach(network, **arguments)


def test_teaching_the_committed_weights_that_a_four_is_a_nine_costs_other_digits():
    """The page's lesson, on the served weights: twenty steps towards a wrong label at a high rate
    teach this digit and visibly cost the others; towards its true label they cost nothing."""
    if not checkpoint.DEFAULT_WEIGHTS.is_file():
        skip_or_fail(f"no committed weights at {checkpoint.DEFAULT_WEIGHTS}")
    network, digits = checkpoint.load(checkpoint.DEFAULT_WEIGHTS), sample.load()
    four = digits.images[np.flatnonzero(digits.labels == 4)[0], 0]
    wrong = teach(network, four, 9, 0.003, 20, digits)
    before, after = wrong.sample_accuracy
    assert wrong.probabilities_after[9] > 0.5 > wrong.gradients.probabilities[9]
    assert after < before - 0.05
    right = teach(network, four, 4, 0.003, 20, digits)
    assert right.sample_accuracy[1] >= before - 0.005
