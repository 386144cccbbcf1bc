"""Every successful prediction carries the verdict of the model's rule (digit, unsure, not_a_digit)
and its scores; the model card describes the rule."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from app import create_app
from harness.api_checks import TEST_LIMITS, b64, file_input, pixels_image, run_network
from model import checkpoint
from model.verdict import VERDICTS


def assert_verdict_of(app, result: dict, image: np.ndarray) -> None:
    """The result's verdict is the one the model's rule gives for this image."""
    probabilities, kept = run_network(app, image, keep=("relu2",))
    [expected] = app.extensions["model"].verdict_rule.judge(probabilities[np.newaxis], kept["relu2"][None])
    assert result["verdict"] == expected.label
    assert result["verdict"] in VERDICTS
    assert set(result["verdict_scores"]) == {"novelty", "margin"}
    assert result["verdict_scores"]["novelty"] == pytest.approx(expected.novelty, rel=1e-5)
    assert result["verdict_scores"]["margin"] == pytest.approx(expected.margin, rel=1e-5, abs=1e-6)
    top, runner_up = sorted(result["probabilities"])[-1:-3:-1]
    assert result["verdict_scores"]["margin"] == pytest.approx(top - runner_up, abs=1e-6)


def test_a_single_prediction_carries_the_rules_verdict(app, client, digit_pixels):
    result = client.post("/predict", json={"pixels": digit_pixels}).get_json()
    assert_verdict_of(app, result, pixels_image(digit_pixels))


def test_every_result_of_a_batch_carries_its_own_verdict(app, client, digit_pixels, canvas_png):
    blank = [[0] * 28] * 28
    images = [{"pixels": digit_pixels}, b64(canvas_png), "@@@", {"pixels": blank}]
    results = client.post("/predict/batch", json={"images": images}).get_json()["results"]
    assert_verdict_of(app, results[0], pixels_image(digit_pixels))
    assert_verdict_of(app, results[1], file_input(canvas_png))
    assert set(results[2]) == {"error"}  # a refused image has no verdict
    assert_verdict_of(app, results[3], pixels_image(blank))


def test_each_of_the_three_verdicts_reaches_the_api(tmp_path, tiny_network, tiny_verdict_rule):
    # Noise images and a blank one; the rule's margin limit is set between the noise images'
    # margins, so that some are "unsure", some "digit", and the blank one is "not_a_digit".
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (8, 28, 28))
    images[-1] = 0
    probabilities, kept = tiny_network.predict(images[:, np.newaxis].astype(np.float32) / 255,
                                               keep=("relu2",))
    novelty, margin = tiny_verdict_rule.scores(probabilities, kept["relu2"])
    assert novelty[-1] > 1 and (novelty[:-1] <= 1).all()
    rule = dataclasses.replace(tiny_verdict_rule, margin_limit=float(np.median(margin[:-1])))
    weights = tmp_path / "model.npz"
    checkpoint.save(weights, tiny_network, {}, verdict_rule=rule)
    client = create_app({"WEIGHTS_PATH": str(weights), **TEST_LIMITS}).test_client()
    response = client.post("/predict/batch", json={"images": [{"pixels": p} for p in images.tolist()]})
    verdicts = [result["verdict"] for result in response.get_json()["results"]]
    assert verdicts == [v.label for v in rule.judge(probabilities.astype(np.float64), kept["relu2"])]
    assert set(verdicts) == set(VERDICTS)
    assert verdicts[-1] == "not_a_digit"
    assert client.get("/api/model").get_json()["verdict_rule"]["margin_limit"] == round(rule.margin_limit, 4)


def test_the_model_card_describes_the_verdict_rule(app, client):
    card = client.get("/api/model").get_json()
    assert card["verdict_rule"] == json.loads(json.dumps(app.extensions["model"].verdict_rule.describe()))
    assert card["verdict_rule"]["novelty_limit"] == 1.0
