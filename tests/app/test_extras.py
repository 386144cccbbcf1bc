"""What a prediction carries beyond the answer: the verdict on every result, and on request the
saliency (versus a second digit), the hidden layer and scores, the preprocessing steps; the
misread test digits beside the model card."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import math

import numpy as np
import pytest

from app import api, create_app
from app.preprocessing import to_mnist
from app.request_parsing import MAX_INCLUDE_VALUES
from app.responses import saliency_values
from harness.preprocessing import load_image
from model import checkpoint, evaluate
from model.saliency import input_gradient
from model.verdict import VERDICTS
from tests.app.conftest import TEST_LIMITS, tiny_misread_document

ALL = "feature_maps,saliency,layers,steps"
STEP_NAMES = ["received", "ink", "cropped", "fitted", "centred"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def pixels_image(pixels: list[list[int]]) -> np.ndarray:
    return np.asarray(pixels, dtype=np.float32) / 255


def direct(app, image: np.ndarray) -> tuple[np.ndarray, dict]:
    """(probabilities (10,), {relu2, affine2}) for one (28, 28) image, from the network itself."""
    probabilities, kept = app.extensions["model"].network.predict(image[np.newaxis, np.newaxis],
                                                                  keep=("relu2", "affine2"))
    return probabilities[0].astype(np.float64), {name: value[0] for name, value in kept.items()}


def file_input(data: bytes) -> np.ndarray:
    return to_mnist(load_image(data, max_pixels=10**9))


# --- the verdict: on every successful prediction ------------------------------------------------


def assert_verdict_of(app, result: dict, image: np.ndarray) -> None:
    """The result's verdict is the one the model's rule gives for this image."""
    probabilities, kept = direct(app, image)
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


# --- include: a comma list, in every request form ---------------------------------------------


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"query_string": {"include": ALL}},
        {"query_string": [("include", "feature_maps,saliency"), ("include", "layers,steps")]},
        {"json_include": ["feature_maps", "saliency", "layers", "steps"]},
        {"json_include": ["saliency", "layers"], "query_string": {"include": "feature_maps,steps"}},
        {"form": {"include": ALL}},
        {"form": {"include": ["saliency,layers", "feature_maps"]}, "query_string": {"include": "steps"}},
        {"query_string": {"include": "steps,saliency,steps,layers,feature_maps,layers"}},
    ],
    ids=["query", "query-repeated", "json", "json-and-query", "form", "form-and-query", "duplicates"],
)
def test_every_extra_can_be_asked_for_in_every_request_form(client, canvas_png, request_kwargs):
    kwargs = {"query_string": request_kwargs.get("query_string", {})}
    if "json_include" in request_kwargs:
        kwargs["json"] = {"image": b64(canvas_png), "include": request_kwargs["json_include"]}
    elif "form" in request_kwargs:
        kwargs["data"] = {"image": (io.BytesIO(canvas_png), "canvas.png"), **request_kwargs["form"]}
        kwargs["content_type"] = "multipart/form-data"
    else:
        kwargs.update(data=canvas_png, content_type="image/png")
    response = client.post("/predict", **kwargs)
    assert response.status_code == 200, response.get_json()
    assert {"feature_maps", "pooled_maps", "saliency", "layers", "steps"} <= set(response.get_json())


def test_extras_are_left_out_unless_asked_for(client, canvas_png):
    result = client.post("/predict?include=layers", data=canvas_png, content_type="image/png").get_json()
    assert "layers" in result
    assert not {"feature_maps", "saliency", "steps"} & set(result)


def _query(include: str, versus: str | None = None) -> dict:
    query = {"include": include}
    if versus is not None:
        query["versus"] = versus
    return {"query_string": query}


BAD_EXTRAS = [
    pytest.param(_query("saliency,x"), id="unknown name in a list"),
    pytest.param(_query("Saliency"), id="names are case-sensitive"),
    pytest.param(_query("saliency, layers"), id="a space in the list"),
    pytest.param(_query(""), id="empty include"),
    pytest.param(_query("saliency,"), id="trailing comma"),
    pytest.param(_query(",".join(["layers"] * (MAX_INCLUDE_VALUES + 1))), id="too many names in a list"),
    pytest.param(_query("layers" + "," * 1_000), id="a thousand commas"),
    pytest.param({"json_extra": {"include": ["layers"] * (MAX_INCLUDE_VALUES + 1)}}, id="json list too long"),
    pytest.param({"json_extra": {"include": ["saliency,layers"]}}, id="json names are not comma lists"),
    pytest.param({"json_extra": {"include": "saliency"}}, id="json include a string"),
    pytest.param({"json_extra": {"include": [7]}}, id="json include a number"),
    pytest.param(_query("saliency", "10"), id="versus 10"),
    pytest.param(_query("saliency", "-1"), id="versus -1"),
    pytest.param(_query("saliency", "1.5"), id="versus 1.5"),
    pytest.param(_query("saliency", "07"), id="versus 07"),
    pytest.param(_query("saliency", "one"), id="versus a word"),
    pytest.param(_query("saliency", ""), id="versus empty"),
    pytest.param({"query_string": [("include", "saliency"), ("versus", "1"), ("versus", "2")]},
                 id="two different versus"),
    pytest.param({"json_extra": {"versus": True}}, id="json versus true"),
    pytest.param({"json_extra": {"versus": "7"}}, id="json versus a string"),
    pytest.param({"json_extra": {"versus": 7.5}}, id="json versus 7.5"),
    pytest.param({"json_extra": {"versus": [1]}}, id="json versus a list"),
    pytest.param({"json_extra": {"versus": 10**100}}, id="json versus huge"),
    pytest.param({"json_extra": {"versus": 2}, **_query("saliency", "x")}, id="bad query versus beside json"),
]


@pytest.mark.parametrize("kwargs", BAD_EXTRAS)
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_a_bad_include_or_versus_is_a_400_that_names_it(client, digit_pixels, path, kwargs):
    image = {"pixels": digit_pixels}
    body = {"images": [image]} if path.endswith("batch") else dict(image)
    body.update(kwargs.get("json_extra", {}))
    response = client.post(path, json=body, query_string=kwargs.get("query_string", {}))
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameter"
    assert "include" in error["message"] or "versus" in error["message"]


@pytest.mark.parametrize("field", ["include", "versus"])
def test_a_bad_form_field_is_a_400(client, canvas_png, field):
    data = {"image": (io.BytesIO(canvas_png), "a.png"), field: "11"}
    response = client.post("/predict", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_parameter"


# --- saliency ---------------------------------------------------------------------------------


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
    from tests.conftest import skip_or_fail

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


@pytest.mark.parametrize("where", ["query", "json", "form"])
def test_saliency_versus_another_digit_is_the_gradient_of_the_score_difference(
    app, client, canvas_png, where
):
    image = file_input(canvas_png)
    answer = int(np.argmax(direct(app, image)[0]))
    versus = (answer + 3) % 10
    if where == "query":
        kwargs = {"data": canvas_png, "content_type": "image/png",
                  "query_string": {"include": "saliency", "versus": str(versus)}}
    elif where == "json":
        kwargs = {"json": {"image": b64(canvas_png), "include": ["saliency"], "versus": versus}}
    else:
        kwargs = {"data": {"image": (io.BytesIO(canvas_png), "a.png"), "include": "saliency",
                           "versus": str(versus)}, "content_type": "multipart/form-data"}
    saliency = client.post("/predict", **kwargs).get_json()["saliency"]
    assert (saliency["target"], saliency["versus"]) == (answer, versus)
    expected = input_gradient(app.extensions["model"].network, image, answer, versus)
    np.testing.assert_allclose(saliency["values"], expected, rtol=0, atol=np.abs(expected).max() * 1e-3)


def test_the_body_versus_is_used_over_the_querys(client, digit_pixels):
    result = client.post("/predict?include=saliency&versus=1", json={"pixels": digit_pixels, "versus": 2})
    answer = result.get_json()
    assert answer["saliency"]["versus"] == (None if answer["digit"] == 2 else 2)


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


# --- layers -----------------------------------------------------------------------------------


def test_layers_are_the_hidden_units_and_the_scores_before_softmax(app, client, digit_pixels):
    result = client.post("/predict?include=layers", json={"pixels": digit_pixels}).get_json()
    layers = result["layers"]
    _, kept = direct(app, pixels_image(digit_pixels))
    assert layers["hidden"]["layer"] == "relu2" and layers["logits"]["layer"] == "affine2"
    assert len(layers["hidden"]["values"]) == 100 and min(layers["hidden"]["values"]) >= 0
    np.testing.assert_allclose(layers["hidden"]["values"], kept["relu2"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layers["logits"]["values"], kept["affine2"], rtol=1e-5, atol=1e-6)
    # softmax turns the scores into the probabilities answered.
    scores = np.asarray(layers["logits"]["values"])
    softmax = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose(softmax, result["probabilities"], rtol=1e-4, atol=1e-6)


# --- steps ------------------------------------------------------------------------------------


def assert_step_shapes(steps: list[dict]) -> None:
    for step in steps:
        assert set(step) == {"name", "title", "width", "height", "pixels", "ink"}
        assert step["title"] and step["ink"] in ("dark", "light")
        pixels = np.asarray(step["pixels"])
        assert pixels.shape == (step["height"], step["width"])
        assert pixels.min() >= 0 and pixels.max() <= 255


def test_steps_of_an_upload_follow_it_to_the_network_input(client, paper_png):
    result = client.post("/predict?include=steps", data=paper_png, content_type="image/png").get_json()
    steps = result["steps"]
    assert [step["name"] for step in steps] == STEP_NAMES
    assert_step_shapes(steps)
    assert max(steps[0]["width"], steps[0]["height"]) <= 64
    assert steps[0]["ink"] == "dark"  # dark ink on paper, as a person sees it
    assert max(steps[3]["width"], steps[3]["height"]) == 20  # fitted to the 20×20 box
    assert steps[-1]["pixels"] == result["input"]  # the last stage is what the network saw


def test_the_steps_of_a_canvas_drawing_are_the_preprocessings_own(client, canvas_png):
    result = client.post("/predict?include=steps", data=canvas_png, content_type="image/png").get_json()
    stages = []
    to_mnist(load_image(canvas_png, max_pixels=10**9), stages)
    assert [step["name"] for step in result["steps"]] == [stage.name for stage in stages]
    for step, stage in zip(result["steps"], stages, strict=True):
        assert step["pixels"] == stage.pixels.tolist() and step["title"] == stage.title


def test_a_pixel_array_has_one_step_the_network_input(client, digit_pixels):
    result = client.post("/predict?include=steps", json={"pixels": digit_pixels}).get_json()
    [step] = result["steps"]
    assert (step["name"], step["width"], step["height"], step["ink"]) == ("centred", 28, 28, "light")
    assert step["pixels"] == digit_pixels == result["input"]


def test_a_batch_gives_each_image_its_own_steps(client, digit_pixels, paper_png, canvas_png):
    images = [{"pixels": digit_pixels}, b64(paper_png), b64(canvas_png), "@@@"]
    results = client.post("/predict/batch?include=steps", json={"images": images}).get_json()["results"]
    assert [len(result.get("steps", [])) for result in results] == [1, 5, 5, 0]
    assert results[1]["steps"] != results[2]["steps"]


# --- cost -------------------------------------------------------------------------------------


def test_a_full_batch_with_every_extra_is_answered(app, client, canvas_png):
    limit = app.config["MAX_BATCH_SIZE"]
    images = [b64(canvas_png)] * limit
    response = client.post(f"/predict/batch?include={ALL}&versus=1", json={"images": images})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == limit
    assert all({"saliency", "layers", "steps", "feature_maps"} <= set(result) for result in results)


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


# --- /api/model/misread ----------------------------------------------------------------------


def test_misread_digits_are_served_as_written_beside_the_weights(app, client, served_weights):
    response = client.get("/api/model/misread")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document == json.loads(evaluate.misread_path(served_weights).read_text())
    assert document["count"] == len(document["digits"]) > 0
    for digit in document["digits"]:
        assert digit["label"] != digit["predicted"]
        assert np.asarray(digit["pixels"]).shape == (28, 28)


def test_the_app_reads_the_misread_digits_where_model_evaluate_writes_them(tmp_path):
    weights = tmp_path / "some" / "model.npz"
    expected = tmp_path / "some" / "model.misread.json"
    assert api.misread_path(weights) == evaluate.misread_path(weights) == expected


def test_misread_digits_are_read_once_per_app(tmp_path, tiny_weights, tiny_network):
    import shutil

    weights = tmp_path / "model.npz"
    shutil.copyfile(tiny_weights, weights)
    evaluate.write_misread(evaluate.misread_path(weights), tiny_misread_document(tiny_network))
    client = create_app({"WEIGHTS_PATH": str(weights), **TEST_LIMITS}).test_client()
    first = client.get("/api/model/misread").get_data()
    evaluate.misread_path(weights).write_text('{"count": 0, "digits": []}')
    assert client.get("/api/model/misread").get_data() == first


@pytest.mark.parametrize("content", [None, "{not json", b"\xff\xfe"], ids=["absent", "not json", "not text"])
def test_without_readable_misread_digits_the_endpoint_says_so(tmp_path, tiny_weights, content):
    import shutil

    weights = tmp_path / "model.npz"
    shutil.copyfile(tiny_weights, weights)
    if content is not None:
        path = evaluate.misread_path(weights)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    client = create_app({"WEIGHTS_PATH": str(weights), **TEST_LIMITS}).test_client()
    response = client.get("/api/model/misread")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "misread_unavailable"
    assert "model.misread.json" in error["message"]
    assert client.get("/api/model").status_code == 200  # the rest of the API is unaffected
