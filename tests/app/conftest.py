"""Fixtures for the web app: a test app on the tiny random-weight checkpoint, and digit images."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app import create_app
from harness.api_checks import TEST_LIMITS
from harness.images import encode
from harness.pictures import draw_digit_one_on_paper, draw_digit_seven
from harness.tiny_model import save_tiny_replay, tiny_misread_document
from model import checkpoint, evaluate


@pytest.fixture(scope="session")
def served_weights(tmp_path_factory, tiny_weights, tiny_network) -> Path:
    """The tiny checkpoint and, beside it, its misread digits and training replay: what a trained
    model ships with."""
    path = tmp_path_factory.mktemp("served") / "tiny.npz"
    shutil.copyfile(tiny_weights, path)
    shutil.copyfile(checkpoint.card_path(tiny_weights), checkpoint.card_path(path))
    evaluate.write_misread(evaluate.misread_path(path), tiny_misread_document(tiny_network))
    save_tiny_replay(path, tiny_network)
    return path


@pytest.fixture(scope="session")
def app(served_weights):
    """The app on the tiny checkpoint, with TEST_LIMITS."""
    return create_app({"WEIGHTS_PATH": str(served_weights), "TESTING": True, **TEST_LIMITS})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def canvas_png() -> bytes:
    """A 280×280 RGBA canvas drawing of a 7, as the page sends it."""
    return encode(draw_digit_seven(), "PNG")


@pytest.fixture(scope="session")
def digit_files() -> dict[str, bytes]:
    """The same drawing of a 7 as a file of every raw media type the API accepts."""
    drawing = draw_digit_seven(140)
    formats = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}
    return {media_type: encode(drawing, pillow_format) for media_type, pillow_format in formats.items()}


@pytest.fixture(scope="session")
def paper_png() -> bytes:
    return encode(draw_digit_one_on_paper(), "PNG")


@pytest.fixture(scope="session")
def digit_pixels() -> list[list[int]]:
    """A 28×28 MNIST-form digit (white on black, 0–255): a vertical bar with a flag, a 1."""
    pixels = np.zeros((28, 28), dtype=np.int64)
    pixels[4:24, 13:16] = 255
    pixels[5:8, 10:13] = 180
    return pixels.tolist()
