"""What the app tests check the API against: small limits for a cheap test app, the registry of
error codes by status, and the network run directly on the input a request sends."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from app.errors import CODES
from app.preprocessing import to_mnist
from harness.preprocessing import load_image

# Small limits, so that the limit tests stay cheap.
TEST_LIMITS = {
    "MAX_CONTENT_LENGTH": 512 * 1024,
    "MAX_IMAGE_PIXELS": 1000 * 1000,
    "MAX_REQUEST_PIXELS": 2 * 1000 * 1000,
    "MAX_BATCH_SIZE": 8,
    "MAX_FORM_PARTS": 40,
}
# The registry the API raises from: every code answered must be in it, with its status.
CODES_BY_STATUS: dict[int, set[str]] = {}
for _code, _error in CODES.items():
    CODES_BY_STATUS.setdefault(_error.status, set()).add(_code)
# Every extra a request can ask for, as one include list.
ALL_EXTRAS = "feature_maps,saliency,layers,steps,filters"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def assert_error(response, status: int, code: str) -> dict:
    """The response is the one JSON error shape with ``status`` and ``code``; returns its error."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert code in CODES_BY_STATUS[status]
    assert body["error"]["message"]
    return body["error"]


def pixels_image(pixels: list[list[int]]) -> np.ndarray:
    """A JSON pixel array (28 rows of 28 levels 0-255) as the network input (28, 28) in [0, 1]."""
    return np.asarray(pixels, dtype=np.float32) / 255


def file_input(data: bytes, steps: list | None = None) -> np.ndarray:
    """The network input (28, 28) the app makes of an image file, without going through HTTP (its
    preprocessing stages appended to ``steps`` when given)."""
    return to_mnist(load_image(data, max_pixels=10**9), steps)


def run_network(app, image: np.ndarray, keep: tuple[str, ...] = ()) -> tuple[np.ndarray, dict]:
    """(probabilities (10,) float64, {layer: its values}) for one (28, 28) image, from the app's
    network run directly."""
    probabilities, kept = app.extensions["model"].network.predict(image[np.newaxis, np.newaxis], keep=keep)
    return probabilities[0].astype(np.float64), {name: value[0] for name, value in kept.items()}


def assert_result_matches(result: dict, image: np.ndarray, probabilities: np.ndarray) -> None:
    """``result`` is the network's answer ``probabilities`` for the input ``image`` (28, 28)."""
    assert result["probabilities"] == pytest.approx(probabilities.tolist(), rel=1e-5, abs=1e-7)
    assert result["digit"] == int(np.argmax(probabilities))
    assert result["confidence"] == result["probabilities"][result["digit"]]
    assert abs(sum(result["probabilities"]) - 1.0) <= 1e-6
    assert result["input"] == np.rint(image * 255).astype(int).tolist()
    assert set(result["timing_ms"]) == {"preprocess", "inference"}
    assert all(value >= 0 for value in result["timing_ms"].values())


def expected_for_file(app, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(network input (28, 28), probabilities (10,)) for an image file, without going through HTTP."""
    image = file_input(data)
    return image, run_network(app, image)[0]
