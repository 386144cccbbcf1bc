"""include=gradients on /predict: one backward pass and a few SGD steps on the request's image
(model.lesson), its three query parameters, their bounds, and the served network left unchanged."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from app.gradients_request import DEFAULT_LEARNING_RATE, DEFAULT_STEPS, MAX_LEARNING_RATE, MAX_STEPS
from harness.api_checks import assert_error, pixels_image
from model.lesson import teach


def gradients_of(client, digit_pixels, query: str) -> tuple[dict, dict]:
    response = client.post(f"/predict?include=gradients{query}", json={"pixels": digit_pixels})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    result = response.get_json()
    return result, result["gradients"]


def test_the_gradients_are_the_lessons_of_the_served_network(app, client, digit_pixels):
    result, gradients = gradients_of(client, digit_pixels, "&label=3&learning_rate=0.05&steps=2")
    sample = app.extensions["mnist_sample"]
    lesson = teach(app.extensions["model"].network, pixels_image(digit_pixels), 3, 0.05, 2, sample)
    assert (gradients["label"], gradients["learning_rate"], gradients["steps"]) == (3, 0.05, 2)
    assert gradients["loss"] == pytest.approx(lesson.gradients.loss, rel=1e-5)
    np.testing.assert_allclose(gradients["scores"], lesson.gradients.scores, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(gradients["hidden"], lesson.gradients.hidden, rtol=1e-5, atol=1e-12)
    filters, pixels = np.asarray(gradients["filters"]), np.asarray(gradients["input"])
    assert filters.shape == (30, 5, 5) and pixels.shape == (28, 28)
    # 4 significant digits of the largest magnitude.
    expected_filters = lesson.gradients.filters[:, 0]
    np.testing.assert_allclose(filters, expected_filters, atol=np.abs(expected_filters).max() * 1e-3)
    expected_input = lesson.gradients.input[0]
    np.testing.assert_allclose(pixels, expected_input, atol=np.abs(expected_input).max() * 1e-3)
    after = gradients["after"]
    np.testing.assert_allclose(after["probabilities"], lesson.probabilities_after, rtol=1e-5, atol=1e-9)
    assert math.fsum(after["probabilities"]) == pytest.approx(1.0, abs=1e-7)
    np.testing.assert_allclose(after["filter_change"], lesson.filter_change, rtol=1e-5)
    assert after["sample_accuracy"] == {
        "before": lesson.sample_accuracy[0], "after": lesson.sample_accuracy[1], "digits": len(sample)
    }
    assert result["digit"] == int(np.argmax(result["probabilities"]))


def test_the_loss_and_the_scores_gradient_follow_from_the_answers_probabilities(client, digit_pixels):
    result, gradients = gradients_of(client, digit_pixels, "&label=8")
    probabilities = np.asarray(result["probabilities"])
    assert gradients["loss"] == pytest.approx(-math.log(probabilities[8] + 1e-7), rel=1e-4)
    np.testing.assert_allclose(gradients["scores"], probabilities - np.eye(10)[8], atol=1e-6)


def test_without_a_label_the_answer_is_taken_at_the_default_rate_and_steps(client, digit_pixels):
    result, gradients = gradients_of(client, digit_pixels, "")
    assert gradients["label"] == result["digit"]
    assert (gradients["learning_rate"], gradients["steps"]) == (DEFAULT_LEARNING_RATE, DEFAULT_STEPS)


def test_the_most_expensive_lesson_allowed_is_answered(client, digit_pixels):
    query = f"&label=0&learning_rate={MAX_LEARNING_RATE}&steps={MAX_STEPS}"
    _, gradients = gradients_of(client, digit_pixels, query)
    assert gradients["steps"] == MAX_STEPS and gradients["learning_rate"] == MAX_LEARNING_RATE
    assert all(math.isfinite(p) for p in gradients["after"]["probabilities"])


def test_the_served_network_never_changes(app, client, digit_pixels):
    network = app.extensions["model"].network
    before = {name: value.copy() for name, value in network.params.items()}
    answer = client.post("/predict", json={"pixels": digit_pixels}).get_json()["probabilities"]
    gradients_of(client, digit_pixels, f"&label=2&learning_rate=1&steps={MAX_STEPS}")
    for name, value in network.params.items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    assert client.post("/predict", json={"pixels": digit_pixels}).get_json()["probabilities"] == answer


def test_the_parameters_without_include_gradients_change_nothing(client, digit_pixels):
    plain = client.post("/predict", json={"pixels": digit_pixels}).get_json()
    response = client.post("/predict?label=3&learning_rate=0.5&steps=4", json={"pixels": digit_pixels})
    assert response.status_code == 200
    result = response.get_json()
    assert "gradients" not in result and result["probabilities"] == plain["probabilities"]


@pytest.mark.parametrize(
    "query",
    [
        "label=10", "label=-1", "label=a", "label=", "label=3&label=4",
        "learning_rate=0", "learning_rate=-0.1", "learning_rate=1.5", "learning_rate=nan",
        "learning_rate=inf", "learning_rate=1e400", "learning_rate=abc", "learning_rate=",
        "learning_rate=0x1",
        "learning_rate=0.1&learning_rate=0.2",
        "steps=0", f"steps={MAX_STEPS + 1}", "steps=1.5", "steps=x", "steps=", "steps=-1", "steps=٣",
    ],
)
@pytest.mark.parametrize("include", ["gradients", None])
def test_bad_parameters_are_refused_with_or_without_include_gradients(client, digit_pixels, query, include):
    url = f"/predict?{query}" + (f"&include={include}" if include else "")
    error = assert_error(client.post(url, json={"pixels": digit_pixels}), 400, "invalid_parameter")
    assert query.split("=")[0] in error["message"]


@pytest.mark.parametrize("name", ["label", "learning_rate", "steps"])
def test_the_parameters_in_a_body_are_refused(client, digit_pixels, canvas_png, name):
    json_body = client.post("/predict?include=gradients", json={"pixels": digit_pixels, name: 1})
    assert "query string" in assert_error(json_body, 400, "invalid_parameter")["message"]
    form = {"image": (io.BytesIO(canvas_png), "a.png"), name: "1"}
    multipart = client.post("/predict?include=gradients", data=form, content_type="multipart/form-data")
    assert_error(multipart, 400, "invalid_parameter")


def test_a_batch_cannot_ask_for_gradients(client, digit_pixels):
    images = {"images": [{"pixels": digit_pixels}]}
    response = client.post("/predict/batch?include=saliency,gradients", json=images)
    assert "/predict" in assert_error(response, 400, "invalid_parameter")["message"]


def test_an_upload_gets_its_gradients_too(client, canvas_png):
    response = client.post("/predict?include=gradients&steps=3", data=canvas_png, content_type="image/png")
    assert response.status_code == 200
    gradients = response.get_json()["gradients"]
    assert gradients["steps"] == 3 and len(gradients["after"]["filter_change"]) == 30
