"""The limits on what one request may cost: its body's size and how it arrives, its images' declared
pixels, its parts; each refused with its documented code before the cost is paid."""

from __future__ import annotations

import io
import json
import logging

import pytest

from app.request_parsing import MAX_PART_HEADER_BYTES
from harness.api_checks import assert_error, b64
from harness.images import encode, png
from harness.pictures import draw_digit_seven, plain_png

PNG = encode(draw_digit_seven(), "PNG")


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
    assert_error(client.post("/predict", data=plain_png(1500, 1500), content_type="image/png"),
                 413, "image_too_large")
    assert decoded_sizes == []


def test_a_decompression_bomb_is_refused_naming_our_limit(app, client):
    # 20000 × 20000 pixels declared: far over the pixel limit, and over Pillow's own bomb check.
    bomb = png(20000, 20000, 0, b"")  # a valid header, no image data
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


def test_a_multipart_body_over_the_part_limit_is_a_400_naming_the_limit(app, client):
    limit = app.config["MAX_FORM_PARTS"]
    fields = {"include": ["feature_maps"] * limit, "image": (io.BytesIO(PNG), "digit.png")}
    error = assert_error(client.post("/predict/batch", data=fields, content_type="multipart/form-data"),
                         400, "too_many_parts")
    assert str(limit) in error["message"]


def test_images_declaring_more_pixels_together_than_a_request_may_are_refused_before_decoding(
    app, client, decoded_sizes
):
    side = int(app.config["MAX_IMAGE_PIXELS"] ** 0.5)  # each image alone is within its limit
    count = app.config["MAX_REQUEST_PIXELS"] // side**2 + 1
    files = [(io.BytesIO(plain_png(side, side)), f"{i}.png") for i in range(count)]
    response = client.post("/predict/batch", data={"image": files}, content_type="multipart/form-data")
    error = assert_error(response, 413, "too_many_pixels")
    assert str(app.config["MAX_REQUEST_PIXELS"]) in error["message"]
    assert decoded_sizes == []


def test_a_failed_batch_image_leaves_no_image_or_exception_alive(client):
    # With the cyclic collector off, a failed slot that kept its exception (whose traceback holds
    # the decoded image in a reference cycle) would leave Images behind after the request.
    import gc

    from PIL import Image as PILImage

    blank = b64(plain_png(900, 900))  # decodes fully, then has no digit: 422 in its slot
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


@pytest.fixture
def parsed_part_headers(monkeypatch) -> list[bytes]:
    """The header blocks of multipart parts Werkzeug parses during the test."""
    from werkzeug.sansio.multipart import MultipartDecoder

    parsed = []
    original = MultipartDecoder._parse_headers

    def spying_parse_headers(self, data):
        parsed.append(bytes(data))
        return original(self, data)

    monkeypatch.setattr(MultipartDecoder, "_parse_headers", spying_parse_headers)
    return parsed


def _part(headers: bytes, data: bytes, line_break: bytes = b"\r\n") -> bytes:
    return b"--b" + line_break + headers + line_break + line_break + data + line_break


def _disposition(filename: bytes) -> bytes:
    return b'Content-Disposition: form-data; name="image"; filename="' + filename + b'"'


def _header_block(size: int) -> bytes:
    """A part's headers of exactly ``size`` bytes: its disposition, the filename padding it out."""
    return _disposition(b"a" * (size - len(_disposition(b""))))


@pytest.mark.parametrize(
    "headers",
    [
        _disposition(b"a" * 100_000),
        b"\r\n".join([b"X-Note: " + b"v" * 1000] * 20 + [_disposition(b"digit.png")]),
        _header_block(MAX_PART_HEADER_BYTES + 1),
    ],
    ids=["a 100 KB filename", "20 long headers", "one byte over the limit"],
)
def test_a_part_whose_headers_run_past_the_limit_is_refused_before_they_are_parsed(
    client, parsed_part_headers, headers
):
    body = _part(headers, PNG) + b"--b--\r\n"
    response = client.post("/predict", data=body, content_type="multipart/form-data; boundary=b")
    error = assert_error(response, 400, "invalid_multipart")
    assert str(MAX_PART_HEADER_BYTES) in error["message"]
    assert parsed_part_headers == []


@pytest.mark.parametrize("line_break", [b"\r\n", b"\n", b"\r"], ids=["CRLF", "LF", "CR"])
def test_part_headers_at_the_limit_are_read_with_any_line_break(client, parsed_part_headers, line_break):
    body = b"a preamble" + _part(_header_block(MAX_PART_HEADER_BYTES), PNG, line_break) + b"--b--"
    response = client.post("/predict", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 200, response.get_json()
    assert [len(block) for block in parsed_part_headers] == [MAX_PART_HEADER_BYTES]


def test_a_boundary_repeated_past_the_part_limit_is_refused_before_any_part_is_parsed(
    app, client, parsed_part_headers
):
    limit = app.config["MAX_FORM_PARTS"]
    body = _part(_disposition(b"digit.png"), PNG) + b"x--b\r\n" * (limit + 1)
    response = client.post("/predict/batch", data=body, content_type="multipart/form-data; boundary=b")
    error = assert_error(response, 400, "too_many_parts")
    assert str(limit) in error["message"]
    assert parsed_part_headers == []


def test_a_refused_request_leaves_none_of_its_input_alive(client):
    # With the cyclic collector off, a request kept alive by its error's traceback (the view's
    # frame holds it) would keep its pixel list, megabytes of Python numbers, after the answer.
    import gc

    def long_lists() -> int:
        return sum(isinstance(thing, list) and len(thing) > 10_000 for thing in gc.get_objects())

    body = json.dumps({"pixels": [0.5] * 50_000}).encode()
    gc.collect()
    gc.disable()
    try:
        response = client.post("/predict", data=body, content_type="application/json")
        alive = long_lists()
    finally:
        gc.enable()
    assert_error(response, 400, "invalid_pixels")
    assert alive == 0
