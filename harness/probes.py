"""Requests to the service whose right answers are known: each way to send a digit, and the bad
inputs with the documented refusal of each. The deploy tests and ``python -m bench.load`` send them.

Expected answers: with MNIST (MNIST_DIR), test digits whose label the served model reads in-process
for every request kind; without it, drawn digits and the in-process app's own answers.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from werkzeug.http import HTTP_STATUS_CODES

from app.errors import CODES, SECURITY_HEADERS
from harness.images import encode, png

VALID_KINDS = ("png", "jpeg", "multipart", "data_url", "pixels")


@dataclass(frozen=True)
class Probe:
    """One request and the answer it must get: ``digit`` for a 200, ``code`` for an error."""

    kind: str
    body: bytes
    content_type: str
    status: int
    digit: int | None = None
    code: str | None = None
    path: str = "/predict"


def _multipart(field_name: str, filename: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def digit_probes(image: np.ndarray, digit: int | None) -> list[Probe]:
    """The five valid ways to send one digit. ``image``: (28, 28) uint8, white ink on black.

    Files are the digit at 5× scale, as a drawing would be: PNG white on black, JPEG dark ink on
    light paper (the service must read both)."""
    large = Image.fromarray(image).resize((140, 140), Image.Resampling.BILINEAR)
    png = encode(large, "PNG")
    jpeg = encode(Image.eval(large, lambda v: 255 - v), "JPEG", quality=90)
    multipart, multipart_type = _multipart("image", "digit.png", png, "image/png")
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    return [
        Probe("png", png, "image/png", 200, digit),
        Probe("jpeg", jpeg, "image/jpeg", 200, digit),
        Probe("multipart", multipart, multipart_type, 200, digit),
        Probe("data_url", json.dumps({"image": data_url}).encode(), "application/json", 200, digit),
        Probe("pixels", json.dumps({"pixels": image.tolist()}).encode(), "application/json", 200, digit),
    ]


def bad_probes(sample_png: bytes) -> list[Probe]:
    """Bad inputs and the documented refusal of each (API contract)."""
    blank = encode(Image.new("L", (140, 140), 255), "PNG")
    return [
        Probe(
            "bad:truncated_png", sample_png[: len(sample_png) // 2], "image/png", 400, code="invalid_image"
        ),
        Probe("bad:not_an_image", b"this is not a picture " * 20, "image/png", 400, code="invalid_image"),
        Probe("bad:blank_page", blank, "image/png", 422, code="no_digit_found"),
        # A header declaring 5000 × 5000 over almost no data: decoding before checking would allocate it.
        Probe("bad:huge_dimensions", png(5000, 5000, 0, b"\0" * 64), "image/png", 413,
              code="image_too_large"),
        Probe(
            "bad:pixels_shape",
            json.dumps({"pixels": [[0] * 27] * 28}).encode(),
            "application/json",
            400,
            code="invalid_pixels",
        ),
        Probe("bad:json_syntax", b'{"pixels": [[0, 1', "application/json", 400, code="invalid_json"),
        Probe(
            "bad:base64",
            json.dumps({"image": "data:image/png;base64,@@@"}).encode(),
            "application/json",
            400,
            code="invalid_base64",
        ),
        Probe("bad:media_type", b"seven", "text/plain", 415, code="unsupported_media_type"),
    ]


def padded_pixels_body(pixels: np.ndarray, size: int) -> bytes:
    """A JSON {"pixels": ...} body of exactly ``size`` bytes (trailing spaces are valid JSON)."""
    body = json.dumps({"pixels": pixels.tolist()}).encode()
    if len(body) > size:
        raise ValueError(f"{size} bytes cannot hold the {len(body)}-byte document")
    return body + b" " * (size - len(body))


def mnist_test_digits(mnist_dir: str | Path, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random MNIST test images (count, 28, 28) uint8 and their labels."""
    from model.mnist import find_file, read_idx

    images = read_idx(find_file(mnist_dir, "t10k-images-idx3-ubyte"))
    labels = read_idx(find_file(mnist_dir, "t10k-labels-idx1-ubyte"))
    chosen = np.random.default_rng(seed).choice(len(labels), size=count, replace=False)
    return images[chosen], labels[chosen].astype(int)


def drawn_digits() -> np.ndarray:
    """A few digits drawn with thick strokes, (N, 28, 28) uint8 white on black, for when MNIST
    is not at hand; their expected answers come from the in-process app."""
    strokes = [
        [("line", (14, 4, 14, 23))],  # 1
        [("ellipse", (7, 4, 20, 23))],  # 0
        [("line", (7, 5, 21, 5)), ("line", (21, 5, 11, 23))],  # 7
        [("line", (8, 4, 8, 14)), ("line", (8, 14, 21, 14)), ("line", (18, 4, 18, 23))],  # 4
    ]
    images = []
    for shapes in strokes:
        canvas = Image.new("L", (28, 28), 0)
        draw = ImageDraw.Draw(canvas)
        for shape, box in shapes:
            if shape == "line":
                draw.line(box, fill=255, width=3)
            else:
                draw.ellipse(box, outline=255, width=3)
        images.append(np.asarray(canvas))
    return np.stack(images)


def answer_in_process(app, probe: Probe) -> tuple[int, dict]:
    """What the app answers ``probe`` with in this process: (status, JSON body)."""
    response = app.test_client().post(probe.path, data=probe.body, content_type=probe.content_type)
    return response.status_code, response.get_json(silent=True) or {}


def build_probes(weights: str | Path, mnist_dir: str | Path | None, count: int = 40, seed: int = 0) -> dict:
    """Valid and bad probes whose expected answers are checked against the in-process app.

    Returns {"valid": [...], "bad": [...], "source": str, "dropped": int}. With MNIST, a digit is
    kept only if the model reads its label in every request kind in-process (the figure
    ``dropped`` says how many were not); without MNIST, the in-process answer is the expectation.
    A bad probe the in-process app does not refuse as documented raises AssertionError.
    """
    from app import create_app

    app = create_app({"WEIGHTS_PATH": str(weights)})
    valid: list[Probe] = []
    dropped = 0
    if mnist_dir is not None:
        images, labels = mnist_test_digits(mnist_dir, count, seed)
        source = f"{count} MNIST test digits"
        for image, label in zip(images, labels, strict=True):
            probes = digit_probes(image, int(label))
            answers = [answer_in_process(app, probe) for probe in probes]
            if all(status == 200 and body.get("digit") == label for status, body in answers):
                valid.extend(probes)
            else:
                dropped += 1
    else:
        source = "drawn digits (MNIST_DIR not set): expected = in-process answers"
        for image in drawn_digits():
            for probe in digit_probes(image, None):
                status, body = answer_in_process(app, probe)
                if status == 200:
                    valid.append(Probe(probe.kind, probe.body, probe.content_type, 200, body["digit"]))
                else:
                    dropped += 1
    bad = bad_probes(valid[0].body if valid else encode(Image.new("L", (28, 28)), "PNG"))
    for probe in bad:
        status, body = answer_in_process(app, probe)
        code = body.get("error", {}).get("code")
        assert (status, code) == (probe.status, probe.code), f"{probe.kind}: in-process {status} {code}"
    return {"valid": valid, "bad": bad, "source": source, "dropped": dropped}


def assert_json_error(status: int, headers: dict, body: bytes, expected_status: int) -> dict:
    """An error the proxy or gunicorn answered itself, before the app saw the request: the API's
    JSON shape and the app's security headers. Returns the error: {"code": ..., "message": ...}."""
    assert status == expected_status, body[:300]
    assert headers.get("Content-Type", "").startswith("application/json")
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"} and error["message"]
    # The app's code for this status where it has one, else the name it would give it.
    known = [code for code, entry in CODES.items() if entry.status == status]
    assert error["code"] in known or error["code"] == HTTP_STATUS_CODES[status].lower().replace(" ", "_")
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name
    return error
