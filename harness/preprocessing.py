"""An image file straight to the network input, for tests and benchmarks: the app's own road is
``open_image`` → ``decode`` → ``to_mnist`` (app/pipeline.py), with limits checked between them."""

from __future__ import annotations

import numpy as np
from PIL import Image

from app.preprocessing import Step, decode, open_image, to_mnist


def load_image(data: bytes, max_pixels: int) -> Image.Image:
    """``decode(open_image(data, max_pixels))``: the decoded image in the file ``data``."""
    return decode(open_image(data, max_pixels))


def preprocess(data: bytes, max_pixels: int, steps: list[Step] | None = None) -> np.ndarray:
    """``to_mnist(load_image(data, max_pixels), steps)``: the network input (28, 28) for the
    image file ``data``, or a PreprocessingError."""
    return to_mnist(load_image(data, max_pixels), steps)
