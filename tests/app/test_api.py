"""Every endpoint and every input form of the API, checked against the network run directly."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from app import create_app
from app.preprocessing import to_mnist
from app.responses import input_levels
from harness.preprocessing import load_image
from model import checkpoint
from model.network import Network
from tests.conftest import fit_tiny_verdict_rule

LARGE = 10**9


def network_on(app, image: np.ndarray) -> np.ndarray:
    """The probabilities (10,) the app's network gives for one (28, 28) image, computed directly."""
    probabilities, _ = app.extensions["model"].network.predict(image[np.newaxis, np.newaxis])
    return probabilities[0]


def expected_for_file(app, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(network input (28, 28), probabilities) for an image file, without going through HTTP."""
    image = to_mnist(load_image(data, max_pixels=LARGE))
    return image, network_on(app, image)


def assert_result_matches(result: dict, image: np.ndarray, probabilities: np.ndarray) -> None:
    assert result["probabilities"] == pytest.approx(probabilities.tolist(), rel=1e-5, abs=1e-7)
    assert result["digit"] == int(np.argmax(probabilities))
    assert result["confidence"] == result["probabilities"][result["digit"]]
    assert abs(sum(result["probabilities"]) - 1.0) <= 1e-6
    assert result["input"] == np.rint(image * 255).astype(int).tolist()
    assert set(result["timing_ms"]) == {"preprocess", "inference"}
    assert all(value >= 0 for value in result["timing_ms"].values())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- health, readiness, model card -----------------------------------------------------------


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_the_loaded_model(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "parameter_count": app.extensions["model"].network.parameter_count,
    }


def test_readyz_is_503_without_a_model(tiny_weights):
    app = create_app({"WEIGHTS_PATH": str(tiny_weights), "TESTING": True})
    del app.extensions["model"]
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "not_ready"


def test_model_card_adds_the_architecture_computed_from_the_spec(app, client):
    card = client.get("/api/model").get_json()
    network = app.extensions["model"].network
    assert card["name"] == "tiny random-weight test model"  # from the card file
    assert card["parameter_count"] == network.parameter_count == 30 * 25 + 30 + 4320 * 100 + 100 + 1010
    layers = card["architecture"]
    assert [layer["name"] for layer in layers] == network.layer_names
    shapes = {layer["name"]: layer["output_shape"] for layer in layers}
    assert shapes["conv1"] == shapes["relu1"] == [30, 24, 24]
    assert shapes["pool1"] == [30, 12, 12]
    assert shapes["affine2"] == [10]
    assert {layer["name"]: layer["parameters"] for layer in layers}["conv1"] == 30 * 25 + 30


def test_model_card_keeps_what_training_wrote(tmp_path):
    weights = tmp_path / "trained.npz"
    card = {
        "test_accuracy": 0.991,
        "parameter_count": 433890,
        "confusion_matrix": np.eye(10, dtype=int).tolist(),
        "history": [{"epoch": 1, "loss": 0.3, "train_accuracy": 0.9, "test_accuracy": 0.95, "seconds": 3.0}],
    }
    network = Network(rng=np.random.default_rng(5))
    checkpoint.save(weights, network, card, verdict_rule=fit_tiny_verdict_rule(network))
    served = create_app({"WEIGHTS_PATH": str(weights)}).test_client().get("/api/model").get_json()
    assert {key: served[key] for key in card} == card
    assert "architecture" in served


# --- the result's JSON -------------------------------------------------------------------------


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


@pytest.mark.parametrize("media_type", ["image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp"])
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
    assert_result_matches(response.get_json(), image, network_on(app, image))
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
        {"json": {"pixels": "PIXELS", "include": ["feature_maps"]}},
        {"data": {"image": "FILE", "include": "feature_maps"}, "content_type": "multipart/form-data"},
        {"query_string": {"include": "feature_maps"}, "data": "RAW", "content_type": "image/png"},
    ],
    ids=["query", "json-field", "multipart-field", "raw-body-query"],
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


# --- /predict/batch --------------------------------------------------------------------------


def test_batch_answers_in_order_with_errors_in_their_slots(app, client, digit_pixels, paper_png, canvas_png):
    shifted = np.roll(np.asarray(digit_pixels), 5, axis=1).tolist()
    response = client.post(
        "/predict/batch",
        json={
            "images": [
                {"pixels": digit_pixels},
                "data:image/png;base64," + b64(paper_png),
                "not base64 at all!",
                {"pixels": [[1, 2, 3]]},
                {"image": b64(canvas_png)},
                {"pixels": shifted},
                42,
                {"neither": True},
            ]
        },
    )
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert len(results) == 8
    pixels_image = np.asarray(digit_pixels, dtype=np.float32) / 255
    shifted_image = np.asarray(shifted, dtype=np.float32) / 255
    assert_result_matches(results[0], pixels_image, network_on(app, pixels_image))
    assert_result_matches(results[1], *expected_for_file(app, paper_png))
    assert results[2] == {"error": {"code": "invalid_base64", "message": results[2]["error"]["message"]}}
    assert results[3]["error"]["code"] == "invalid_pixels"
    assert_result_matches(results[4], *expected_for_file(app, canvas_png))
    assert_result_matches(results[5], shifted_image, network_on(app, shifted_image))
    assert results[6]["error"]["code"] == "invalid_parameter"
    assert results[7]["error"]["code"] == "missing_field"


def test_batch_of_multipart_files_keeps_their_order(app, client, paper_png, canvas_png, digit_files):
    files = [paper_png, canvas_png, digit_files["image/gif"]]
    response = client.post(
        "/predict/batch",
        data={"image": [(io.BytesIO(data), f"{i}.png") for i, data in enumerate(files)]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert len(results) == 3
    for result, data in zip(results, files, strict=True):
        assert_result_matches(result, *expected_for_file(app, data))


def test_batch_runs_the_good_images_through_the_network_at_once(app, client, digit_pixels, monkeypatch):
    network = app.extensions["model"].network
    batch_sizes = []
    original = network.predict

    def counting_predict(x, keep=()):
        batch_sizes.append(x.shape)
        return original(x, keep=keep)

    monkeypatch.setattr(network, "predict", counting_predict)
    images = [{"pixels": digit_pixels}, "@@@", {"pixels": digit_pixels}, {"pixels": digit_pixels}]
    response = client.post("/predict/batch", json={"images": images})
    assert response.status_code == 200
    assert batch_sizes == [(3, 1, 28, 28)]


def test_batch_with_no_readable_image_still_answers_every_slot(client):
    response = client.post("/predict/batch", json={"images": ["@@@", {"pixels": []}]})
    assert response.status_code == 200
    codes = [result["error"]["code"] for result in response.get_json()["results"]]
    assert codes == ["invalid_base64", "invalid_pixels"]


def test_batch_feature_maps_come_with_every_result(client, digit_pixels):
    response = client.post(
        "/predict/batch?include=feature_maps", json={"images": [{"pixels": digit_pixels}] * 2}
    )
    assert response.status_code == 200
    for result in response.get_json()["results"]:
        _assert_maps(result)


def test_batch_up_to_the_limit_is_accepted(app, client, digit_pixels):
    limit = app.config["MAX_BATCH_SIZE"]
    response = client.post("/predict/batch", json={"images": [{"pixels": digit_pixels}] * limit})
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == limit


# --- the factory -----------------------------------------------------------------------------


def test_two_apps_in_one_process_are_independent(tiny_weights):
    first = create_app({"WEIGHTS_PATH": str(tiny_weights), "MAX_BATCH_SIZE": 2})
    second = create_app({"WEIGHTS_PATH": str(tiny_weights), "MAX_BATCH_SIZE": 3})
    assert first.extensions["model"] is not second.extensions["model"]
    images = {"images": [{"pixels": [[0] * 28] * 28}] * 3}
    assert first.test_client().post("/predict/batch", json=images).status_code == 413
    assert second.test_client().post("/predict/batch", json=images).status_code == 200
    assert not first.debug and not second.debug


def test_environment_settings_apply_and_config_overrides_them(tiny_weights, monkeypatch):
    monkeypatch.setenv("DIGIT_LENS_WEIGHTS_PATH", str(tiny_weights))
    monkeypatch.setenv("DIGIT_LENS_MAX_BATCH_SIZE", "5")
    monkeypatch.setenv("DIGIT_LENS_MAX_IMAGE_PIXELS", "1234")
    app = create_app({"MAX_IMAGE_PIXELS": 99})
    assert app.config["WEIGHTS_PATH"] == str(tiny_weights)
    assert app.config["MAX_BATCH_SIZE"] == 5
    assert app.config["MAX_IMAGE_PIXELS"] == 99


def test_a_malformed_environment_setting_is_named(monkeypatch, tiny_weights):
    monkeypatch.setenv("DIGIT_LENS_MAX_BATCH_SIZE", "lots")
    with pytest.raises(ValueError, match="DIGIT_LENS_MAX_BATCH_SIZE"):
        create_app({"WEIGHTS_PATH": str(tiny_weights)})


def test_missing_weights_stop_start_up_with_a_clear_error(tmp_path):
    with pytest.raises(checkpoint.CheckpointError, match="not found"):
        create_app({"WEIGHTS_PATH": str(tmp_path / "absent.npz")})
