"""include=saliency: the gradient of the answer's score (minus a versus digit's) with respect to each
input pixel, as the network's own backward pass gives it, once per batch."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from app import create_app
from app.responses import saliency_values
from harness.api_checks import b64, file_input, pixels_image, run_network
from harness.ci import skip_or_fail
from model import checkpoint
from model.saliency import input_gradient


def test_saliency_is_the_input_gradient_of_the_answers_score(app, client, digit_pixels):
    result = client.post("/predict?include=saliency", json={"pixels": digit_pixels}).get_json()
    saliency = result["saliency"]
    assert set(saliency) == {"target", "versus", "values"}
    assert saliency["target"] == result["digit"] and saliency["versus"] is None
    values = np.asarray(saliency["values"])
    assert values.shape == (28, 28)
    expected = input_gradient(app.extensions["model"].network, pixels_image(digit_pixels), result["digit"])
    # Rounded to 4 significant digits of the largest magnitude.
    np.testing.assert_allclose(values, expected, rtol=0, atol=np.abs(expected).max() * 1e-3)
    assert np.abs(values).max() > 0


@pytest.fixture(scope="module")
def trained_client():
    """The app on the committed, trained weights (their gradients are large enough to check
    through the API's rounding; the tiny random network's are not)."""
    if not checkpoint.DEFAULT_WEIGHTS.is_file():
        skip_or_fail(f"no committed weights at {checkpoint.DEFAULT_WEIGHTS}")
    return create_app({"WEIGHTS_PATH": str(checkpoint.DEFAULT_WEIGHTS)}).test_client()


def test_the_served_saliency_matches_finite_differences_of_the_served_scores(trained_client, digit_pixels):
    # End to end, in the API's own units: pixels on the 0-1 scale in, scores (include=layers) out.
    # A little noise: with flat ink, neighbouring windows tie for the pooling maximum, where the
    # scores have kinks and no finite difference converges.
    client = trained_client
    noise = np.random.default_rng(8).uniform(0.02, 0.08, (28, 28))
    image = pixels_image(digit_pixels).astype(np.float64) * 0.9 + noise

    def scores(x: np.ndarray) -> np.ndarray:
        result = client.post("/predict?include=layers", json={"pixels": x.tolist()}).get_json()
        return np.asarray(result["layers"]["logits"]["values"])

    result = client.post("/predict?include=saliency,layers&versus=3", json={"pixels": image.tolist()})
    saliency = result.get_json()["saliency"]
    target, versus = saliency["target"], saliency["versus"]
    values = np.asarray(saliency["values"])
    step = 1e-3
    for flat in np.argsort(-np.abs(values), axis=None)[:6]:
        pixel = np.unravel_index(flat, values.shape)
        low, high = image.copy(), image.copy()
        high[pixel] += step
        low[pixel] -= step
        difference = scores(high) - scores(low)
        compared = difference[target] - (difference[versus] if versus is not None else 0.0)
        estimate = compared / (2 * step)
        assert estimate == pytest.approx(values[pixel], rel=0.05, abs=0.02 * np.abs(values).max()), pixel


@pytest.mark.parametrize("body", ["raw", "json", "form"])
def test_saliency_versus_another_digit_is_the_gradient_of_the_score_difference(
    app, client, canvas_png, body
):
    image = file_input(canvas_png)
    answer = int(np.argmax(run_network(app, image)[0]))
    versus = (answer + 3) % 10
    kwargs = {"query_string": {"include": "saliency", "versus": str(versus)}}
    if body == "raw":
        kwargs.update(data=canvas_png, content_type="image/png")
    elif body == "json":
        kwargs["json"] = {"image": b64(canvas_png)}
    else:
        kwargs.update(data={"image": (io.BytesIO(canvas_png), "a.png")}, content_type="multipart/form-data")
    saliency = client.post("/predict", **kwargs).get_json()["saliency"]
    assert (saliency["target"], saliency["versus"]) == (answer, versus)
    expected = input_gradient(app.extensions["model"].network, image, answer, versus)
    np.testing.assert_allclose(saliency["values"], expected, rtol=0, atol=np.abs(expected).max() * 1e-3)


def test_versus_the_answer_itself_gives_the_answers_own_saliency(client, digit_pixels):
    plain = client.post("/predict?include=saliency", json={"pixels": digit_pixels}).get_json()
    same = client.post(f"/predict?include=saliency&versus={plain['digit']}", json={"pixels": digit_pixels})
    assert same.status_code == 200
    assert same.get_json()["saliency"] == plain["saliency"]


def test_versus_without_saliency_changes_nothing(client, digit_pixels):
    with_versus = client.post("/predict?versus=3", json={"pixels": digit_pixels}).get_json()
    without = client.post("/predict", json={"pixels": digit_pixels}).get_json()
    for result in (with_versus, without):
        del result["timing_ms"]
    assert with_versus == without


def test_a_batch_has_each_images_saliency_for_its_own_answer(app, client, digit_pixels, canvas_png):
    images = [{"pixels": digit_pixels}, b64(canvas_png)]
    results = client.post("/predict/batch?include=saliency&versus=5", json={"images": images}).get_json()
    network = app.extensions["model"].network
    for result, image in zip(results["results"], [pixels_image(digit_pixels), file_input(canvas_png)],
                             strict=True):
        versus = None if result["digit"] == 5 else 5
        assert (result["saliency"]["target"], result["saliency"]["versus"]) == (result["digit"], versus)
        expected = input_gradient(network, image, result["digit"], versus)
        np.testing.assert_allclose(result["saliency"]["values"], expected, rtol=0,
                                   atol=np.abs(expected).max() * 1e-3)


def test_saliency_values_keep_four_significant_digits_of_the_largest_and_no_negative_zero():
    saliency = np.zeros((28, 28), dtype=np.float32)
    saliency[0, :4] = [0.123456, -0.0000004, 0.00004444, -0.05]
    values = saliency_values(saliency)
    assert values[0][:4] == [0.1235, 0.0, 0.0, -0.05]
    assert all(math.copysign(1, v) > 0 for row in values for v in row if v == 0)  # no "-0.0" in JSON
    assert saliency_values(np.zeros((28, 28))) == [[0.0] * 28] * 28


def test_saliency_for_a_batch_runs_the_network_backward_once(app, client, digit_pixels, monkeypatch):
    from app import inference

    calls = []
    original = inference.input_gradients

    def counting(network, images, targets, versus):
        calls.append(len(images))
        return original(network, images, targets, versus)

    monkeypatch.setattr(inference, "input_gradients", counting)
    client.post("/predict/batch?include=saliency", json={"images": [{"pixels": digit_pixels}] * 5})
    client.post("/predict/batch", json={"images": [{"pixels": digit_pixels}] * 5})
    assert calls == [5]
