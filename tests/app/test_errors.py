"""Every refusal is a JSON error with the documented code and status; the catch-all 500 exists but no
input reaches it. (Size limits: test_limits.py; security headers: test_security_headers.py.)"""

from __future__ import annotations

import io
import logging

import pytest
from PIL import Image

from app import create_app, errors, preprocessing
from harness.api_checks import assert_error, b64
from harness.images import encode
from harness.pictures import draw_digit_seven, plain_png

ZEROS = [[0] * 28] * 28
PNG = encode(draw_digit_seven(), "PNG")


def raw(data: bytes | str, content_type: str | None = None) -> dict:
    return {"data": data} if content_type is None else {"data": data, "content_type": content_type}


def body(document: object, **query: str) -> dict:
    return {"json": document, "query_string": query}


def multipart(**fields: object) -> dict:
    return {"data": fields, "content_type": "multipart/form-data"}


def file(data: bytes = PNG, name: str = "digit.png") -> tuple:
    return (io.BytesIO(data), name)


MULTIPART_ONE_IMAGE = (b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
                      + PNG + b"\r\n--b--\r\n")


def pixels_with(value: object) -> list:
    return [[value] + [0] * 27] + ZEROS[1:]


BAD_PREDICT_REQUESTS = [
    pytest.param(raw(b"hello"), 415, "unsupported_media_type", id="no content type"),
    pytest.param(raw("7", "text/plain"), 415, "unsupported_media_type", id="text/plain"),
    pytest.param(raw({"image": "x"}), 415, "unsupported_media_type", id="form urlencoded"),
    pytest.param(raw(PNG, "image/tiff"), 415, "unsupported_media_type", id="tiff is not a raw type"),
    pytest.param(raw(PNG, "image/bmp"), 415, "unsupported_media_type", id="bmp is not a raw type"),
    pytest.param(raw(b"<svg/>", "image/svg+xml"), 415, "unsupported_media_type", id="svg"),
    pytest.param(raw('{"image": "', "application/json"), 400, "invalid_json", id="truncated json"),
    pytest.param(body([1, 2]), 400, "invalid_json", id="json array"),
    pytest.param(body("iVBOR"), 400, "invalid_json", id="json string"),
    pytest.param(raw('{"pixels": NaN}', "application/json"), 400, "invalid_json", id="json NaN"),
    pytest.param(raw('{"pixels": [[Infinity]]}', "application/json"), 400, "invalid_json", id="json inf"),
    pytest.param(raw("[" * 100_000 + "]" * 100_000, "application/json"), 400, "invalid_json",
                 id="deeply nested json"),
    pytest.param(raw(b'{"image": "\xff\xfe\xfa"}', "application/json"), 400, "invalid_json",
                 id="json not utf-8"),
    pytest.param(raw(b"", "application/json"), 400, "invalid_json", id="empty json body"),
    pytest.param(body({"picture": b64(PNG)}), 400, "missing_field", id="json without image"),
    pytest.param(body({"image": 5}), 400, "invalid_parameter", id="image not a string"),
    pytest.param(body({"image": b64(PNG), "pixels": ZEROS}), 400, "invalid_parameter", id="image and pixels"),
    pytest.param(body({"image": "iVBOR$$$"}), 400, "invalid_base64", id="bad base64 characters"),
    pytest.param(body({"image": "iVBORw0KG"}), 400, "invalid_base64", id="impossible base64 length"),
    pytest.param(body({"image": "iVBORé"}), 400, "invalid_base64", id="non-ascii base64"),
    pytest.param(body({"image": "data:image/png,%89PNG"}), 400, "invalid_base64", id="data url not base64"),
    pytest.param(body({"image": "data:image/png;base64"}), 400, "invalid_base64", id="data url no comma"),
    pytest.param(body({"image": b64(b"hello, world")}), 400, "invalid_image", id="base64 of text"),
    pytest.param(body({"image": ""}), 400, "invalid_image", id="empty base64"),
    pytest.param(raw(b"\x00\x01garbage" * 10, "image/png"), 400, "invalid_image", id="random raw bytes"),
    pytest.param(raw(b"", "image/png"), 400, "invalid_image", id="empty raw body"),
    pytest.param(raw(PNG[: len(PNG) // 2], "image/png"), 400, "invalid_image", id="truncated png"),
    pytest.param(body({"pixels": ZEROS[:27]}), 400, "invalid_pixels", id="pixels too few rows"),
    pytest.param(body({"pixels": [[0] * 27] + ZEROS[1:]}), 400, "invalid_pixels", id="pixels short row"),
    pytest.param(body({"pixels": "0" * 784}), 400, "invalid_pixels", id="pixels a string"),
    pytest.param(body({"pixels": [0] * 784}), 400, "invalid_pixels", id="pixels flat"),
    pytest.param(body({"pixels": None}), 400, "invalid_pixels", id="pixels null"),
    pytest.param(body({"pixels": pixels_with(-1)}), 400, "invalid_pixels", id="pixels negative"),
    pytest.param(body({"pixels": pixels_with(256)}), 400, "invalid_pixels", id="pixels above 255"),
    pytest.param(body({"pixels": pixels_with(10**400)}), 400, "invalid_pixels", id="pixels huge integer"),
    pytest.param(body({"pixels": pixels_with("0")}), 400, "invalid_pixels", id="pixels with a string"),
    pytest.param(body({"pixels": pixels_with(True)}), 400, "invalid_pixels", id="pixels with a boolean"),
    pytest.param(body({"pixels": pixels_with([0])}), 400, "invalid_pixels", id="pixels too deep"),
    pytest.param(body({"pixels": ZEROS}, include="all"), 400, "invalid_parameter", id="unknown include"),
    pytest.param(body({"pixels": ZEROS}, include="feature_maps,x"), 400, "invalid_parameter",
                 id="include comma list"),
    pytest.param(body({"pixels": ZEROS, "include": "feature_maps"}), 400, "invalid_parameter",
                 id="include as a json string"),
    pytest.param(body({"pixels": ZEROS, "include": [{}]}), 400, "invalid_parameter", id="include an object"),
    pytest.param(multipart(picture=file()), 400, "missing_field", id="multipart without image"),
    pytest.param(multipart(image=[file(), file()]), 400, "invalid_parameter", id="multipart with two images"),
    pytest.param(multipart(image=b64(PNG)), 400, "invalid_parameter", id="multipart image as text"),
    pytest.param(multipart(image=file(), include="x"), 400, "invalid_parameter", id="multipart bad include"),
    pytest.param(raw(b"--x\r\n", "multipart/form-data"), 400, "invalid_multipart",
                 id="multipart no boundary"),
    pytest.param(raw(MULTIPART_ONE_IMAGE[:-12], "multipart/form-data; boundary=b"), 400, "invalid_multipart",
                 id="multipart cut short"),
    pytest.param(raw(MULTIPART_ONE_IMAGE.replace(b"--b--", b"--c--"), "multipart/form-data; boundary=b"), 400,
                 "invalid_multipart", id="multipart without its closing boundary"),
    pytest.param(raw(plain_png(200, 200), "image/png"), 422, "no_digit_found", id="blank white page"),
    pytest.param(raw(encode(Image.new("RGBA", (280, 280)), "PNG"), "image/png"), 422, "no_digit_found",
                 id="empty transparent canvas"),
    pytest.param(raw(plain_png(1001, 1000), "image/png"), 413, "image_too_large", id="above the pixel limit"),
    pytest.param(body({"image": b64(plain_png(2000, 600))}), 413, "image_too_large",
                 id="pixel limit in base64"),
]


@pytest.mark.parametrize(("kwargs", "status", "code"), BAD_PREDICT_REQUESTS)
def test_bad_predict_request_gets_its_error(client, kwargs, status, code):
    assert_error(client.post("/predict", **kwargs), status, code)


def test_a_png_sent_as_jpeg_is_still_read(client, canvas_png):
    # The bytes decide the format; the Content-Type only says "an image file".
    assert client.post("/predict", data=canvas_png, content_type="image/jpeg").status_code == 200


def test_error_messages_say_what_was_wrong(client):
    error = assert_error(client.post("/predict", json={"pixels": ZEROS[:3]}), 400, "invalid_pixels")
    assert "28" in error["message"]
    error = assert_error(client.post("/predict", data="x", content_type="text/csv"), 415,
                         "unsupported_media_type")
    assert "text/csv" in error["message"] and "image/png" in error["message"]

# --- batch -----------------------------------------------------------------------------------


BAD_BATCH_REQUESTS = [
    ("no images field", {"json": {"image": "x"}}, 400, "missing_field"),
    ("images not a list", {"json": {"images": "x"}}, 400, "invalid_parameter"),
    ("empty batch", {"json": {"images": []}}, 400, "empty_batch"),
    ("one over the limit", {"json": {"images": [{"pixels": ZEROS}] * 9}}, 413, "batch_too_large"),
    ("far over the limit", {"json": {"images": ["x"] * 10_000}}, 413, "batch_too_large"),
    ("include a string", {"json": {"images": [{"pixels": ZEROS}], "include": "feature_maps"}}, 400,
     "invalid_parameter"),
    ("bad json", {"data": "{", "content_type": "application/json"}, 400, "invalid_json"),
    ("raw image body", {"data": b"\x89PNG", "content_type": "image/png"}, 415, "unsupported_media_type"),
    ("text", {"data": "x", "content_type": "text/plain"}, 415, "unsupported_media_type"),
    ("multipart without images", {"data": {"x": "1"}, "content_type": "multipart/form-data"}, 400,
     "missing_field"),
    ("multipart image as text", {"data": {"image": "{}"}, "content_type": "multipart/form-data"}, 400,
     "invalid_parameter"),
]


@pytest.mark.parametrize(("kwargs", "status", "code"), [c[1:] for c in BAD_BATCH_REQUESTS],
                         ids=[c[0] for c in BAD_BATCH_REQUESTS])
def test_bad_batch_request_gets_its_error(client, kwargs, status, code):
    assert_error(client.post("/predict/batch", **kwargs), status, code)


def test_a_multipart_batch_over_the_limit_is_refused(client, canvas_png):
    files = [(io.BytesIO(canvas_png), f"{i}.png") for i in range(9)]
    response = client.post("/predict/batch", data={"image": files}, content_type="multipart/form-data")
    assert_error(response, 413, "batch_too_large")


def test_batch_slot_errors_use_the_documented_codes(client, canvas_png):
    images = [b64(b"junk"), "!!", {"pixels": [[300] * 28] * 28}, b64(plain_png(200, 200)),
              b64(plain_png(1200, 1000))]
    results = client.post("/predict/batch", json={"images": images}).get_json()["results"]
    assert [r["error"]["code"] for r in results] == [
        "invalid_image", "invalid_base64", "invalid_pixels", "no_digit_found", "image_too_large"
    ]

# --- routing errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nothing-here", "/predict/", "/api", "/api/model/x", "/static/none.js"])
def test_unknown_paths_are_json_404(client, path):
    assert_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("get", "/predict", "POST"), ("put", "/predict/batch", "POST"), ("post", "/healthz", "GET"),
     ("delete", "/api/model", "GET"), ("patch", "/openapi.json", "GET")],
)
def test_wrong_methods_are_json_405_with_allow(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert_error(response, 405, "method_not_allowed")
    assert allowed in response.headers["Allow"]


# --- the catch-all ---------------------------------------------------------------------------


def test_an_unexpected_exception_is_a_json_500_without_details(tiny_weights, caplog):
    app = create_app({"WEIGHTS_PATH": str(tiny_weights)})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom")
    error = assert_error_500(response)
    assert "secret" not in response.get_data(as_text=True) and "Traceback" not in error["message"]
    assert "secret internal detail" in caplog.text  # logged for the operator
    assert response.headers["X-Frame-Options"] == "DENY"


def assert_error_500(response) -> dict:
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["code"] == "internal_error"
    return body["error"]


@pytest.mark.parametrize(
    ("name", "code", "status"),
    [("InvalidImage", "invalid_image", 400), ("ImageTooLarge", "image_too_large", 413),
     ("InvalidPixels", "invalid_pixels", 400), ("NoDigitFound", "no_digit_found", 422)],
)
def test_each_preprocessing_error_is_an_api_error_with_its_own_code(name, code, status):
    error = getattr(preprocessing, name)("a message for people")
    assert isinstance(error, errors.ApiError) and isinstance(error, preprocessing.PreprocessingError)
    assert (error.code, error.status, error.message) == (code, status, "a message for people")
    assert code in errors.codes_for(errors.SLOT, status)


def test_error_response_has_the_one_documented_shape(app):
    with app.test_request_context():
        response = errors.error_response(418, "teapot", "short and stout")
    assert response.status_code == 418
    assert response.get_json() == {"error": {"code": "teapot", "message": "short and stout"}}
