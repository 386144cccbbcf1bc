"""Accuracy of the real model on the generated real-world set, through ``POST /predict``.

Uses the committed weights (model/weights/digit_lens.npz) and the MNIST test digits; without
either the tests skip (and fail under CI=true). ``python -m harness.realworld --report``
prints the same figures as a table.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness import realworld
from harness.ci import skip_or_fail
from model import checkpoint
from model.mnist import load_mnist

pytestmark = [pytest.mark.slow, pytest.mark.mnist]

OVERALL_FLOOR = 0.985  # with the faint kinds in the set (issue 11's target)
# Re-rendered MNIST digits are what the network was trained on, so each of those kinds must be
# read almost perfectly; typed and mouse-drawn digits are further from MNIST, and one miss in a
# kind of ~20 images costs 5 points.
KIND_FLOORS = {kind: 0.85 if kind.startswith(("typed", "canvas")) else 0.92 for kind in realworld.ALL_KINDS}


@pytest.fixture(scope="module")
def app():
    weights = checkpoint.DEFAULT_WEIGHTS
    if not weights.is_file():
        skip_or_fail(f"the trained weights {weights} are not committed yet")
    from app import create_app

    return create_app({"WEIGHTS_PATH": str(weights), "TESTING": True})


@pytest.fixture(scope="module")
def mnist_test(mnist_dir) -> tuple[np.ndarray, np.ndarray]:
    data = load_mnist(mnist_dir)
    return data.test_images, data.test_labels


@pytest.fixture(scope="module")
def outcomes(app, mnist_test) -> dict[str, list[realworld.Outcome]]:
    samples = realworld.generate(*mnist_test)
    return realworld.evaluate(samples, realworld.api_classifier(app))


def _misread_as_is(app, images: np.ndarray, labels: np.ndarray, index: int) -> bool:
    """Whether the model misreads MNIST test digit ``index`` itself, sent as its 28×28 pixels."""
    response = app.test_client().post("/predict", json={"pixels": images[index].tolist()})
    return response.get_json()["digit"] != int(labels[index])


def test_overall_accuracy_through_the_api_is_at_least_98_5_percent(outcomes):
    everything = [o for kind in outcomes.values() for o in kind]
    assert len(everything) >= 600
    overall = realworld.accuracy(everything)
    assert overall >= OVERALL_FLOOR, "\n" + realworld.report_table(outcomes)


@pytest.mark.parametrize("kind", realworld.ALL_KINDS)
def test_each_kind_of_image_meets_its_accuracy_floor(outcomes, app, mnist_test, kind):
    """A kind tests its rendering and the preprocessing: an MNIST digit that the model misreads
    even as its own 28×28 pixels is the model's miss, counted overall but not against the kind."""
    if kind not in outcomes:
        skip_or_fail(f"no {kind} images were generated (fonts missing? see harness.realworld.FONT_FILES)")
    misread = [
        f"true {o.sample.label}, got {o.predicted if o.error is None else o.error}: {o.sample.note}"
        for o in outcomes[kind]
        if not o.correct
        and (o.sample.mnist_index is None or not _misread_as_is(app, *mnist_test, o.sample.mnist_index))
    ]
    kind_accuracy = 1 - len(misread) / len(outcomes[kind])
    assert kind_accuracy >= KIND_FLOORS[kind], "\n".join(misread)


def test_the_network_input_of_every_read_image_is_mnist_shaped(outcomes):
    for kind_outcomes in outcomes.values():
        for o in kind_outcomes:
            if o.error is None:
                assert o.network_input.shape == (28, 28)
                assert o.network_input.max() > 200  # the stroke core is full ink, as in MNIST


def test_generation_is_deterministic_for_a_seed():
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[6:22, 12:16] = 255
    for render in [*realworld.MNIST_KINDS.values(), *realworld.FAINT_KINDS.values()]:
        first, second = render(rng_a, digit), render(rng_b, digit)
        assert first[0] == second[0], first[2]
    assert [s.data for s in realworld.canvas_samples(np.random.default_rng(3))] == [
        s.data for s in realworld.canvas_samples(np.random.default_rng(3))
    ]


def test_every_template_digit_is_drawn_with_ink_inside_the_canvas():
    for sample in realworld.canvas_samples(np.random.default_rng(11)):
        from io import BytesIO

        from PIL import Image

        alpha = np.asarray(Image.open(BytesIO(sample.data)).getchannel("A"))
        assert alpha.max() > 128, sample.note
        # The strokes stay clear of the edges (nothing is cut off by the canvas border).
        assert alpha[0].max() == alpha[-1].max() == alpha[:, 0].max() == alpha[:, -1].max() == 0, sample.note
