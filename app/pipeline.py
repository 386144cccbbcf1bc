"""Serving in three steps, as a model server's handler splits them: preprocess → inference →
postprocess (``app.responses``).

``preprocess`` bounds the cost of a whole request before any pixel is decoded: every image's
header is read first, and images that together declare more than MAX_REQUEST_PIXELS are refused.
A request holding a large image then waits its turn (``app.decode_turns``): what a worker process
holds in memory is bounded by how many large images it decodes at once, not by its threads.
A failed image leaves its ApiError behind, without the traceback whose frames would hold the
decoded image alive.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from time import perf_counter
from typing import TypeVar

import numpy as np
from PIL import Image

from app import preprocessing
from app.decode_turns import LargeDecodes
from app.errors import ApiError
from app.inference import Prediction, Predictor
from app.preprocessing.steps import light_step
from app.request_parsing import EncodedImage, ImageInput, PixelArray, PredictRequest

T = TypeVar("T")


@dataclass(frozen=True)
class NetworkInput:
    """One image in MNIST form, (28, 28) float32 in [0, 1], what preprocessing it cost, and its
    stages as small images when asked for (a pixel array has one: the network input)."""

    image: np.ndarray
    preprocess_ms: float
    steps: list[preprocessing.Step] | None = None


def preprocess(
    images: list[ImageInput | ApiError], config: Mapping, turns: LargeDecodes, steps: bool = False
) -> list[NetworkInput | ApiError]:
    """Each image as the network's input (with its ``steps`` if asked for), or the error that
    stopped it; order kept. Bounded as ``each_opened`` says."""
    return each_opened(images, config, turns, lambda item: _to_network_input(item, steps))


def each_opened(
    images: list[ImageInput | ApiError], config: Mapping, turns: LargeDecodes,
    convert: Callable[[Image.Image | PixelArray | ApiError], T],
) -> list[T]:
    """``convert`` of each image, in order: an image file opened (its header read, its pixels not
    yet decoded), a pixel array or an error as it is.

    Raises ApiError("too_many_pixels") when the images' headers declare more than
    ``config["MAX_REQUEST_PIXELS"]`` together: refused before any of them is decoded. When one
    of them declares more than ``config["LARGE_IMAGE_PIXELS"]``, they are decoded in one of the
    worker's large-decode ``turns`` (ServerBusy when its queue is full).
    """
    opened = [_open(image, config["MAX_IMAGE_PIXELS"]) for image in images]
    declared = sum(item.width * item.height for item in opened if isinstance(item, Image.Image))
    budget = config["MAX_REQUEST_PIXELS"]
    if declared > budget:
        raise ApiError("too_many_pixels", f"the images declare {declared} pixels together; "
                       f"one request may decode at most {budget}")
    large = config["LARGE_IMAGE_PIXELS"]
    if any(isinstance(item, Image.Image) and item.width * item.height > large for item in opened):
        turn = turns.turn(large)
    else:
        turn = contextlib.nullcontext()
    results: list[T] = []
    with turn:
        for index, item in enumerate(opened):
            opened[index] = None  # each decoded image is freed as soon as it is in MNIST form
            results.append(convert(item))
    return results


def _open(image: ImageInput | ApiError, max_pixels: int) -> Image.Image | PixelArray | ApiError:
    """An image file's header read (pixels not decoded yet); anything else as it is."""
    if not isinstance(image, EncodedImage):
        return image
    try:
        return preprocessing.open_image(image.data, max_pixels)
    except preprocessing.PreprocessingError as exc:
        return exc.without_traceback()


def _to_network_input(item: Image.Image | PixelArray | ApiError, steps: bool) -> NetworkInput | ApiError:
    if isinstance(item, ApiError):
        return item
    started = perf_counter()
    stages: list[preprocessing.Step] | None = [] if steps else None
    try:
        if isinstance(item, PixelArray):
            image = preprocessing.from_pixels(item.pixels)
            if steps:  # already in MNIST form: the network input is its only stage
                stages.append(light_step("centred", image))
        else:
            image = preprocessing.to_mnist(preprocessing.decode(item), stages)
    except preprocessing.PreprocessingError as exc:
        return exc.without_traceback()
    return NetworkInput(image, (perf_counter() - started) * 1e3, stages)


def inference(
    predictor: Predictor, inputs: list[NetworkInput], request: PredictRequest
) -> tuple[list[Prediction], float]:
    """The network's predictions for ``inputs`` in one call, with the extras ``request`` asks
    for, and the milliseconds per image."""
    if not inputs:
        return [], 0.0
    started = perf_counter()
    predictions = predictor.predict(
        np.stack([item.image for item in inputs]),
        feature_maps="feature_maps" in request.include,
        saliency="saliency" in request.include,
        versus=request.versus,
    )
    return predictions, (perf_counter() - started) * 1e3 / len(inputs)
