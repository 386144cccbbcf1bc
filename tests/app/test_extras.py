"""What a prediction carries on request beyond the answer (include, in the query string): the
feature maps, the saliency, the hidden layer and scores, the preprocessing steps."""

from __future__ import annotations

import io

import numpy as np
import pytest

from app.request_parsing import MAX_INCLUDE_VALUES
from harness.api_checks import ALL_EXTRAS, b64, file_input, pixels_image, run_network

STEP_NAMES = ["received", "ink", "cropped", "fitted", "centred"]


# --- include: a comma list in the query string, whatever the body -------------------------------


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"query_string": {"include": ALL_EXTRAS}},
        {"query_string": [("include", "feature_maps,saliency"), ("include", "layers,steps")]},
        {"json_body": True, "query_string": {"include": ALL_EXTRAS}},
        {"form_body": True,
         "query_string": [("include", "saliency,layers"), ("include", "feature_maps,steps")]},
        {"query_string": {"include": "steps,saliency,steps,layers,feature_maps,layers"}},
    ],
    ids=["query", "query-repeated", "json-body", "form-body", "duplicates"],
)
def test_every_extra_can_be_asked_for_with_every_body_form(client, canvas_png, request_kwargs):
    kwargs = {"query_string": request_kwargs["query_string"]}
    if "json_body" in request_kwargs:
        kwargs["json"] = {"image": b64(canvas_png)}
    elif "form_body" in request_kwargs:
        kwargs["data"] = {"image": (io.BytesIO(canvas_png), "canvas.png")}
        kwargs["content_type"] = "multipart/form-data"
    else:
        kwargs.update(data=canvas_png, content_type="image/png")
    response = client.post("/predict", **kwargs)
    assert response.status_code == 200, response.get_json()
    assert {"feature_maps", "pooled_maps", "saliency", "layers", "steps"} <= set(response.get_json())


def _form(data: bytes, **fields) -> dict:
    return {"data": {"image": (io.BytesIO(data), "a.png"), **fields}, "content_type": "multipart/form-data"}


# Each builds the request from the canvas PNG; include and versus are in the body.
BODY_EXTRAS = [
    pytest.param("/predict", lambda png: {"json": {"image": b64(png), "include": ["feature_maps"]}},
                 id="json include"),
    pytest.param("/predict", lambda png: {"json": {"image": b64(png), "include": ["saliency", "layers"]},
                                          "query_string": {"include": "steps"}}, id="json include and query"),
    pytest.param("/predict", lambda png: {"json": {"image": b64(png), "versus": 2},
                                          "query_string": {"include": "saliency", "versus": "1"}},
                 id="json versus beside the query's"),
    pytest.param("/predict", lambda png: {"json": {"image": b64(png), "versus": None}},
                 id="json versus null"),
    pytest.param("/predict", lambda png: _form(png, include="feature_maps"), id="form include"),
    pytest.param("/predict", lambda png: _form(png, include=["saliency,layers", "feature_maps"]),
                 id="form include repeated"),
    pytest.param("/predict", lambda png: {**_form(png, versus="3"), "query_string": {"include": "saliency"}},
                 id="form versus"),
    pytest.param("/predict/batch", lambda png: {"json": {"images": [b64(png)], "include": ["layers"]}},
                 id="batch json include"),
    pytest.param("/predict/batch", lambda png: {"json": {"images": [b64(png)], "versus": 4}},
                 id="batch json versus"),
    pytest.param("/predict/batch", lambda png: _form(png, include="steps"), id="batch form include"),
]


@pytest.mark.parametrize(("path", "build"), BODY_EXTRAS)
def test_include_or_versus_in_the_body_is_a_400_pointing_to_the_query_string(client, canvas_png, path, build):
    response = client.post(path, **build(canvas_png))
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameter"
    assert "query string" in error["message"] and "?include=saliency" in error["message"]


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


# --- layers -----------------------------------------------------------------------------------


def test_layers_are_the_hidden_units_and_the_scores_before_softmax(app, client, digit_pixels):
    result = client.post("/predict?include=layers", json={"pixels": digit_pixels}).get_json()
    layers = result["layers"]
    _, kept = run_network(app, pixels_image(digit_pixels), keep=("relu2", "affine2"))
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
    file_input(canvas_png, stages)
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
    response = client.post(f"/predict/batch?include={ALL_EXTRAS}&versus=1", json={"images": images})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == limit
    assert all({"saliency", "layers", "steps", "feature_maps"} <= set(result) for result in results)
