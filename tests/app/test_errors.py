"""Every refusal is a JSON error with the documented code and status; every response carries the
security headers; the catch-all 500 exists but no input reaches it."""

from __future__ import annotations

import base64
import io
import json
import logging

import pytest
from PIL import Image

from app import create_app, errors
from harness import hostile
from tests.app.conftest import draw_digit_seven, encode

# The registry the API raises from: every code answered must be in it, with its status.
CODES_BY_STATUS: dict[int, set[str]] = {}
for _code, _error in errors.CODES.items():
    CODES_BY_STATUS.setdefault(_error.status, set()).add(_code)
ZEROS = [[0] * 28] * 28


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert code in CODES_BY_STATUS[status]
    assert body["error"]["message"]
    return body["error"]


def _png(width: int, height: int, colour=(255, 255, 255)) -> bytes:
    return encode(Image.new("RGB", (width, height), colour), "PNG")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


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
    pytest.param(raw(_png(200, 200), "image/png"), 422, "no_digit_found", id="blank white page"),
    pytest.param(raw(encode(Image.new("RGBA", (280, 280)), "PNG"), "image/png"), 422, "no_digit_found",
                 id="empty transparent canvas"),
    pytest.param(raw(_png(1001, 1000), "image/png"), 413, "image_too_large", id="above the pixel limit"),
    pytest.param(body({"image": b64(_png(2000, 600))}), 413, "image_too_large", id="pixel limit in base64"),
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


# --- size limits -------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_before_reading(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert_error(client.post("/predict", data=b"\x89PNG" + b"\0" * limit, content_type="image/png"),
                 413, "payload_too_large")
    assert_error(client.post("/predict", json={"image": "A" * limit}), 413, "payload_too_large")
    big_part = {"image": (io.BytesIO(b"\0" * limit), "big.png")}
    assert_error(client.post("/predict", data=big_part, content_type="multipart/form-data"),
                 413, "payload_too_large")


@pytest.mark.parametrize("terminated", [False, True], ids=["plain server", "server that ends the stream"])
def test_a_body_at_the_limit_is_read(app, client, terminated):
    # gunicorn marks its input as terminated, and then Werkzeug's stream enforces the limit itself.
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps({"image": b64(b"\0" * 100)}).encode()
    body += b" " * (limit - len(body))
    environ = {"wsgi.input_terminated": True} if terminated else {}
    response = client.post("/predict", data=body, content_type="application/json", environ_overrides=environ)
    assert_error(response, 400, "invalid_image")


def _post_chunked(client, path: str, body: bytes, content_type: str):
    stream = io.BytesIO(body)
    response = client.post(
        path,
        input_stream=stream,
        headers={"Content-Type": content_type, "Transfer-Encoding": "chunked"},
        # What a server that de-chunks the body itself (gunicorn) tells the app.
        environ_overrides={"wsgi.input_terminated": True},
    )
    return response, stream.tell()


@pytest.mark.parametrize("content_type", ["image/png", "application/json", "multipart/form-data; boundary=b"])
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_a_chunked_body_over_the_limit_is_refused_without_reading_it_all(app, client, content_type, path):
    if path == "/predict/batch" and content_type == "image/png":
        return  # not an accepted batch form (415 before reading)
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b"--b\r\nContent-Disposition: form-data; name=image; filename=a.png\r\n\r\n" + b"1" * (limit * 4)
    response, read = _post_chunked(client, path, body, content_type)
    assert_error(response, 413, "payload_too_large")
    assert read <= limit + 128 * 1024  # stopped near the limit, not read to the end


def test_a_chunked_body_is_read_up_to_just_under_the_limit(app, client):
    # Werkzeug's limit on a stream of unknown length refuses a body that reaches it: without a
    # length, a body of exactly the limit cannot be told from a longer one without reading past.
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps({"image": b64(b"\0" * 100)}).encode()
    response, _ = _post_chunked(client, "/predict", body + b" " * (limit - 1 - len(body)), "application/json")
    assert_error(response, 400, "invalid_image")
    response, _ = _post_chunked(client, "/predict", body + b" " * (limit - len(body)), "application/json")
    assert_error(response, 413, "payload_too_large")


def test_a_chunked_image_under_the_limit_is_predicted(client, canvas_png):
    response, _ = _post_chunked(client, "/predict", canvas_png, "image/png")
    assert response.status_code == 200


@pytest.fixture
def decoded_sizes(monkeypatch) -> list[tuple[int, int]]:
    """The size of every image Pillow decodes during the test (none when a limit stops it first)."""
    from PIL import ImageFile

    decoded = []
    original_load = ImageFile.ImageFile.load

    def spying_load(self):
        decoded.append(self.size)
        return original_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spying_load)
    return decoded


def test_the_pixel_limit_is_checked_before_decoding(client, decoded_sizes):
    assert_error(client.post("/predict", data=_png(1500, 1500), content_type="image/png"),
                 413, "image_too_large")
    assert decoded_sizes == []


def test_a_decompression_bomb_is_refused_naming_our_limit(app, client):
    # 20000 × 20000 pixels declared: far over the pixel limit, and over Pillow's own bomb check.
    bomb = hostile.png(20000, 20000, 0, b"")  # a valid header, no image data
    error = assert_error(client.post("/predict", data=bomb, content_type="image/png"), 413, "image_too_large")
    assert str(app.config["MAX_IMAGE_PIXELS"]) in error["message"]
    assert "178956970" not in error["message"]  # Pillow's limit is not ours


class ResetStream(io.RawIOBase):
    """A request body whose client resets the connection after ``good`` bytes."""

    def __init__(self, good: bytes):
        self.good = io.BytesIO(good)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.good.readinto(buffer)
        if not count:
            raise ConnectionResetError(104, "Connection reset by peer")
        return count


MULTIPART_HEAD = b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'


@pytest.mark.parametrize(
    ("path", "content_type", "head"),
    [
        ("/predict", "image/png", PNG[:100]),
        ("/predict", "application/json", b'{"image": "iVBOR'),
        ("/predict", "multipart/form-data; boundary=b", MULTIPART_HEAD + PNG[:100]),
        ("/predict/batch", "application/json", b'{"images": ["iVBOR'),
        ("/predict/batch", "multipart/form-data; boundary=b", MULTIPART_HEAD + PNG[:100]),
    ],
)
@pytest.mark.parametrize("reset", [True, False], ids=["reset", "closed early"])
def test_a_body_cut_short_is_a_clean_400(app, path, content_type, head, reset, caplog):
    stream = ResetStream(head) if reset else io.BytesIO(head)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().post(
            path,
            content_type=content_type,
            # The body as the server hands it over: 5000 bytes announced, fewer arriving.
            environ_overrides={"wsgi.input": stream, "CONTENT_LENGTH": "5000"},
        )
    assert_error(response, 400, "incomplete_body")
    assert "unhandled" not in caplog.text


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
    images = [b64(b"junk"), "!!", {"pixels": [[300] * 28] * 28}, b64(_png(200, 200)), b64(_png(1200, 1000))]
    results = client.post("/predict/batch", json={"images": images}).get_json()["results"]
    assert [r["error"]["code"] for r in results] == [
        "invalid_image", "invalid_base64", "invalid_pixels", "no_digit_found", "image_too_large"
    ]


def test_a_multipart_body_over_the_part_limit_is_a_400_naming_the_limit(app, client):
    limit = app.config["MAX_FORM_PARTS"]
    fields = {"include": ["feature_maps"] * limit, "image": file()}
    error = assert_error(client.post("/predict/batch", data=fields, content_type="multipart/form-data"),
                         400, "too_many_parts")
    assert str(limit) in error["message"]


def test_images_declaring_more_pixels_together_than_a_request_may_are_refused_before_decoding(
    app, client, decoded_sizes
):
    side = int(app.config["MAX_IMAGE_PIXELS"] ** 0.5)  # each image alone is within its limit
    count = app.config["MAX_REQUEST_PIXELS"] // side**2 + 1
    files = [file(_png(side, side)) for _ in range(count)]
    response = client.post("/predict/batch", data={"image": files}, content_type="multipart/form-data")
    error = assert_error(response, 413, "too_many_pixels")
    assert str(app.config["MAX_REQUEST_PIXELS"]) in error["message"]
    assert decoded_sizes == []


def test_a_failed_batch_image_leaves_no_image_or_exception_alive(client):
    # With the cyclic collector off, a failed slot that kept its exception (whose traceback holds
    # the decoded image in a reference cycle) would leave Images behind after the request.
    import gc

    from PIL import Image as PILImage

    blank = b64(_png(900, 900))  # decodes fully, then has no digit: 422 in its slot
    def alive_images() -> int:
        return sum(isinstance(thing, PILImage.Image) for thing in gc.get_objects())

    gc.collect()
    before = alive_images()
    gc.disable()
    try:
        results = client.post("/predict/batch", json={"images": [blank, blank, "!!"]}).get_json()["results"]
        after = alive_images()
    finally:
        gc.enable()
    assert [r["error"]["code"] for r in results] == ["no_digit_found", "no_digit_found", "invalid_base64"]
    assert after == before


class TrickleStream(io.RawIOBase):
    """A de-chunked body the server hands over one byte per read, each read costing some CPU, as a
    body of 1-byte chunks costs the server that de-chunks it."""

    def __init__(self, size: int):
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self.left or not len(buffer):
            return 0
        self.left -= 1
        buffer[0] = 0x20
        sum(range(300))  # the server's work for one tiny chunk
        return 1


def test_a_body_that_costs_too_much_to_read_is_refused_partway(app):
    size = app.config["MAX_CONTENT_LENGTH"]
    stream = TrickleStream(size)
    response = app.test_client().post(
        "/predict", content_type="application/json", headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": stream, "wsgi.input_terminated": True},
    )
    assert_error(response, 400, "too_fragmented")
    assert stream.left > 0  # refused before all of it was read


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


def test_error_response_has_the_one_documented_shape(app):
    with app.test_request_context():
        response = errors.error_response(418, "teapot", "short and stout")
    assert response.status_code == 418
    assert response.get_json() == {"error": {"code": "teapot", "message": "short and stout"}}


# --- security headers ----------------------------------------------------------------------------


def _assert_security_headers(response) -> None:
    for name, value in errors.SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/", {}),
        ("get", "/favicon.ico", {}),
        ("get", "/healthz", {}),
        ("get", "/readyz", {}),
        ("get", "/api/model", {}),
        ("get", "/openapi.json", {}),
        ("post", "/predict", {"json": {"pixels": ZEROS}}),
        ("post", "/predict/batch", {"json": {"images": [{"pixels": ZEROS}]}}),
        ("post", "/predict", {"json": {"pixels": 1}}),  # 400
        ("post", "/predict", {"data": "x", "content_type": "text/plain"}),  # 415
        ("post", "/predict", {"data": b"\0" * 600_000, "content_type": "image/png"}),  # 413
        ("get", "/missing", {}),  # 404
        ("get", "/predict", {}),  # 405
    ],
)
def test_every_response_carries_the_security_headers(client, method, path, kwargs):
    _assert_security_headers(getattr(client, method)(path, **kwargs))


def test_static_files_carry_the_security_headers(tiny_weights, tmp_path):
    app = create_app({"WEIGHTS_PATH": str(tiny_weights)})
    assert app.has_static_folder, "the static route exists when static/ does"
    (tmp_path / "probe.css").write_text("body { color: black; }\n")
    app.static_folder = str(tmp_path)
    response = app.test_client().get("/static/probe.css")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "body { color: black; }\n"
    _assert_security_headers(response)


def test_a_view_may_choose_its_own_policy_and_still_gets_the_other_headers(tiny_weights):
    app = create_app({"WEIGHTS_PATH": str(tiny_weights)})

    @app.get("/strict")
    def strict():
        return "x", 200, {"Content-Security-Policy": "default-src 'none'"}

    response = app.test_client().get("/strict")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    for name, value in errors.SECURITY_HEADERS.items():
        if name != "Content-Security-Policy":
            assert response.headers[name] == value
