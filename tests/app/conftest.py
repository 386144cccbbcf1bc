"""Fixtures for the web app: a test app on the tiny random-weight checkpoint, and digit images."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app import create_app
from model import checkpoint, evaluate

# The formats a client may send as a raw body, with the Pillow format that writes each.
RAW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}


def draw_digit_seven(size: int = 280) -> Image.Image:
    """A canvas-style drawing: black strokes on a transparent background (ink only in alpha)."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    s = size / 280
    draw.line([(70 * s, 60 * s), (210 * s, 60 * s), (120 * s, 230 * s)], fill=(0, 0, 0, 255),
              width=max(1, round(18 * s)), joint="curve")
    return image


def draw_digit_one_on_paper(size: int = 120) -> Image.Image:
    """Dark ink on light paper, as a scan or photo would be."""
    image = Image.new("RGB", (size, size), (235, 232, 225))
    draw = ImageDraw.Draw(image)
    draw.line([(size * 0.5, size * 0.15), (size * 0.5, size * 0.85)], fill=(20, 20, 30),
              width=max(2, size // 12))
    draw.line([(size * 0.5, size * 0.15), (size * 0.35, size * 0.3)], fill=(20, 20, 30),
              width=max(2, size // 14))
    return image


def encode(image: Image.Image, pillow_format: str, **options) -> bytes:
    """The image saved as a file of ``pillow_format``, flattened to RGB where the format needs it."""
    if pillow_format in ("JPEG", "BMP") and image.mode == "RGBA":
        white = Image.new("RGB", image.size, (255, 255, 255))
        white.paste(image, mask=image.getchannel("A"))
        image = white
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()


# Small limits, so that the limit tests stay cheap.
TEST_LIMITS = {
    "MAX_CONTENT_LENGTH": 512 * 1024,
    "MAX_IMAGE_PIXELS": 1000 * 1000,
    "MAX_REQUEST_PIXELS": 2 * 1000 * 1000,
    "MAX_BATCH_SIZE": 8,
    "MAX_FORM_PARTS": 40,
}


def tiny_misread_document(network) -> dict:
    """What model.evaluate writes beside weights, for the tiny network on made-up "test digits"."""
    images = np.random.default_rng(2).integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    labels = np.arange(40) % 10
    probabilities, _ = network.predict(images[:, np.newaxis].astype(np.float32) / 255)
    return evaluate.misread_digits(images, labels, probabilities.argmax(axis=1))


@pytest.fixture(scope="session")
def served_weights(tmp_path_factory, tiny_weights, tiny_network) -> Path:
    """The tiny checkpoint and, beside it, its misread digits: what a trained model ships with."""
    path = tmp_path_factory.mktemp("served") / "tiny.npz"
    shutil.copyfile(tiny_weights, path)
    shutil.copyfile(checkpoint.card_path(tiny_weights), checkpoint.card_path(path))
    evaluate.write_misread(evaluate.misread_path(path), tiny_misread_document(tiny_network))
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
    return {media_type: encode(drawing, pillow_format) for media_type, pillow_format in RAW_FORMATS.items()}


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
