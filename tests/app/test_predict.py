"""/predict: every input form gives the network's own answer, in one JSON result of documented
fields; feature maps on request."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from app.responses import input_levels
from harness.api_checks import assert_result_matches, b64, expected_for_file, run_network


def test_the_input_is_answered_as_the_image_rounded_to_levels_0_to_255():
    rng = np.random.default_rng(0)
    image = rng.uniform(-0.2, 1.2, (28, 28)).astype(np.float32)
    image[0, :4] = [0.0, 1.0, 0.5 / 255, 254.5 / 255]  # the ends and two halves
    levels = input_levels(image)
    assert levels == np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(int).tolist()
    assert all(type(level) is int for row in levels for level in row)  # plain JSON integers


# Each include option and the fields it adds to a result.
INCLUDED_FIELDS = {
    "feature_maps": {"feature_maps", "pooled_maps"},
    "saliency": {"saliency"},
    "layers": {"layers"},
    "steps": {"steps"},
}


@pytest.mark.parametrize("include", [[], *([option] for option in INCLUDED_FIELDS), list(INCLUDED_FIELDS)],
                         ids=lambda include: ",".join(include) or "none")
def test_a_result_is_one_json_object_with_exactly_the_documented_fields(client, digit_pixels, include):
    query = f"?include={','.join(include)}" if include else ""
    response = client.post(f"/predict{query}", json={"pixels": digit_pixels})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    result = json.loads(response.get_data(as_text=True), parse_constant=pytest.fail)
    fields = {"digit", "confidence", "probabilities", "verdict", "verdict_scores", "input", "timing_ms"}
    assert set(result) == fields.union(*(INCLUDED_FIELDS[option] for option in include))
    assert result["input"] == digit_pixels


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32-le"])
def test_a_json_body_is_read_in_every_encoding_json_allows(client, digit_pixels, encoding):
    body = json.dumps({"pixels": digit_pixels}).encode(encoding)
    response = client.post("/predict", data=body, content_type="application/json")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["input"] == digit_pixels


# --- JSON pixels -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [256, 1000, 10**14], ids=str)
def test_an_out_of_range_pixel_is_named_in_its_error_whether_integer_or_float(client, digit_pixels, value):
    pixels = [row[:] for row in digit_pixels]
    pixels[2][3] = value
    compact = json.dumps({"pixels": pixels}, separators=(",", ":"))
    as_floats = json.dumps({"pixels": [[float(v) for v in row] for row in pixels]})
    answers = [
        client.post("/predict", data=body, content_type="application/json") for body in (compact, as_floats)
    ]
    assert [answer.status_code for answer in answers] == [400, 400]
    assert answers[0].get_json() == answers[1].get_json()
    assert "pixels[2][3]" in answers[0].get_json()["error"]["message"]


def test_integer_and_float_pixels_give_the_same_answer(client, digit_pixels):
    compact = json.dumps({"pixels": digit_pixels}, separators=(",", ":"))
    as_floats = json.dumps({"pixels": [[v / 255 for v in row] for row in digit_pixels]})
    results = [
        client.post("/predict", data=body, content_type="application/json").get_json()
        for body in (compact, as_floats)
    ]
    for result in results:
        del result["timing_ms"]
    assert results[0] == results[1]


# --- /predict: every input form gives the network's own answer ---------------------------------


def test_canvas_png_is_read_exactly_as_the_network_sees_it(app, client, canvas_png):
    response = client.post("/predict", data=canvas_png, content_type="image/png")
    assert response.status_code == 200, response.get_json()
    assert_result_matches(response.get_json(), *expected_for_file(app, canvas_png))
    assert "feature_maps" not in response.get_json()


@pytest.mark.parametrize("media_type", ["image/png", "image/jpeg", "image/webp", "image/gif"])
def test_raw_body_of_every_accepted_type_is_predicted(app, client, digit_files, media_type):
    data = digit_files[media_type]
    response = client.post("/predict", data=data, content_type=media_type)
    assert response.status_code == 200, response.get_json()
    assert_result_matches(response.get_json(), *expected_for_file(app, data))


def test_content_type_parameters_are_ignored(app, client, canvas_png):
    response = client.post("/predict", data=canvas_png, headers={"Content-Type": "IMAGE/PNG; name=x"})
    assert response.status_code == 200
    assert_result_matches(response.get_json(), *expected_for_file(app, canvas_png))


def _as_data_url(data: bytes) -> dict:
    return {"json": {"image": "data:image/png;base64," + b64(data)}}


def _as_data_url_with_another_type(data: bytes) -> dict:
    return {"json": {"image": "data:application/octet-stream;base64," + b64(data)}}


def _as_plain_base64(data: bytes) -> dict:
    return {"json": {"image": b64(data)}}


def _as_urlsafe_unpadded_base64(data: bytes) -> dict:
    return {"json": {"image": base64.urlsafe_b64encode(data).decode().rstrip("=")}}


def _as_wrapped_base64(data: bytes) -> dict:
    text = b64(data)
    return {"json": {"image": "\n".join(text[i : i + 76] for i in range(0, len(text), 76))}}


def _as_multipart_file(data: bytes) -> dict:
    return {"data": {"image": (io.BytesIO(data), "digit.png")}, "content_type": "multipart/form-data"}


@pytest.mark.parametrize(
    "form",
    [
        _as_data_url,
        _as_data_url_with_another_type,
        _as_plain_base64,
        _as_urlsafe_unpadded_base64,
        _as_wrapped_base64,
        _as_multipart_file,
    ],
)
def test_every_way_of_sending_an_image_gives_the_same_answer(app, client, paper_png, form):
    response = client.post("/predict", **form(paper_png))
    assert response.status_code == 200, response.get_json()
    assert_result_matches(response.get_json(), *expected_for_file(app, paper_png))


def test_pixels_skip_preprocessing(app, client, digit_pixels):
    response = client.post("/predict", json={"pixels": digit_pixels})
    assert response.status_code == 200, response.get_json()
    image = np.asarray(digit_pixels, dtype=np.float32) / 255
    assert_result_matches(response.get_json(), image, run_network(app, image)[0])
    assert response.get_json()["input"] == digit_pixels


def test_pixels_on_the_0_to_1_scale_read_like_0_to_255(client, digit_pixels):
    unit_scale = (np.asarray(digit_pixels) / 255).tolist()
    on_255 = client.post("/predict", json={"pixels": digit_pixels}).get_json()
    on_1 = client.post("/predict", json={"pixels": unit_scale}).get_json()
    assert on_1["probabilities"] == on_255["probabilities"]
    assert on_1["input"] == on_255["input"]


def test_blank_pixels_are_still_predicted(client):
    # Pixels are taken as given: no ink search, so no no_digit_found.
    response = client.post("/predict", json={"pixels": [[0] * 28] * 28})
    assert response.status_code == 200


def test_responses_are_compact_json(client, digit_pixels):
    body = client.post("/predict", json={"pixels": digit_pixels}).get_data(as_text=True)
    assert ", " not in body and ": " not in body and "\n " not in body


# --- feature maps ------------------------------------------------------------------------------


def _assert_maps(result: dict) -> None:
    assert result["feature_maps"]["layer"] == "relu1"
    assert result["feature_maps"]["shape"] == [30, 24, 24]
    assert len(base64.b64decode(result["feature_maps"]["data"])) == 30 * 24 * 24
    assert result["pooled_maps"]["layer"] == "pool1"
    assert result["pooled_maps"]["shape"] == [30, 12, 12]
    assert len(base64.b64decode(result["pooled_maps"]["data"])) == 30 * 12 * 12
    for maps in (result["feature_maps"], result["pooled_maps"]):
        assert len(maps["scale"]) == 30
        assert maps["dtype"] == "uint8" and maps["encoding"] == "base64"


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"query_string": {"include": "feature_maps"}, "json": {"pixels": "PIXELS"}},
        {"query_string": {"include": "feature_maps"}, "data": {"image": "FILE"},
         "content_type": "multipart/form-data"},
        {"query_string": {"include": "feature_maps"}, "data": "RAW", "content_type": "image/png"},
    ],
    ids=["json-body-query", "multipart-body-query", "raw-body-query"],
)
def test_feature_maps_can_be_asked_for_in_every_request_form(
    client, digit_pixels, canvas_png, request_kwargs
):
    kwargs = json.loads(json.dumps(request_kwargs))
    if "json" in kwargs:
        kwargs["json"]["pixels"] = digit_pixels
    if kwargs.get("data") == "RAW":
        kwargs["data"] = canvas_png
    elif isinstance(kwargs.get("data"), dict):
        kwargs["data"]["image"] = (io.BytesIO(canvas_png), "canvas.png")
    response = client.post("/predict", **kwargs)
    assert response.status_code == 200, response.get_json()
    _assert_maps(response.get_json())


def test_feature_maps_are_left_out_unless_asked_for(client, digit_pixels):
    result = client.post("/predict", json={"pixels": digit_pixels}).get_json()
    assert "feature_maps" not in result and "pooled_maps" not in result


def test_batch_feature_maps_come_with_every_result(client, digit_pixels):
    response = client.post(
        "/predict/batch?include=feature_maps", json={"images": [{"pixels": digit_pixels}] * 2}
    )
    assert response.status_code == 200
    for result in response.get_json()["results"]:
        _assert_maps(result)
