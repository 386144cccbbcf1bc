"""POST /predict/number: a whole number read digit by digit with the same network.

The request is parsed as /predict's (every single-image form; a 28×28 pixel array is one digit
and is refused here) and bounded as /predict's (``pipeline.each_opened``: pixels declared, the
worker's large-decode turns). Its image is decoded and cut into digits
(``preprocessing.number``), the network judging the cuts; the digits are then read together
with the extras asked for, each answered as /predict answers one image (``responses``) with its
box. The number's verdict is the least sure of its digits'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from time import perf_counter

import numpy as np
from PIL import Image

from app import pipeline, preprocessing, responses
from app.decode_turns import LargeDecodes
from app.errors import ApiError
from app.inference import Predictor
from app.preprocessing.number import Digit, Reading, read_number
from app.request_parsing import PixelArray, PredictRequest
from model.verdict import VERDICTS

# The least sure first: a number is as sure as its least sure digit.
LEAST_SURE_FIRST = tuple(reversed(VERDICTS))  # not_a_digit, unsure, digit


@dataclass(frozen=True)
class NumberInput:
    """The digits cut from one image, their boxes [x, y, width, height] in the uploaded image's
    pixels, and the milliseconds decoding and cutting took."""

    digits: list[Digit]
    boxes: list[list[int]]
    preprocess_ms: float


def read(request: PredictRequest, config: Mapping, turns: LargeDecodes, predictor: Predictor) -> dict:
    """The JSON-ready answer to a /predict/number ``request``. Raises the ApiError that stopped it."""
    if request.gradients is not None:
        raise ApiError("invalid_parameter", "include=gradients is for /predict, one digit at a time; "
                       "choose a digit of the number and send it there")
    def cut(item: Image.Image | PixelArray | ApiError) -> NumberInput | ApiError:
        return _cut(item, predictor, steps="steps" in request.include)

    [found] = pipeline.each_opened(request.images, config, turns, cut)
    if isinstance(found, ApiError):
        raise found
    share = found.preprocess_ms / len(found.digits)
    inputs = [pipeline.NetworkInput(digit.image, share, digit.steps) for digit in found.digits]
    predictions, inference_ms = pipeline.inference(predictor, inputs, request)
    digits = [
        {**responses.prediction_result(prediction, item, predictor, inference_ms, request.include),
         "box": box}
        for prediction, item, box in zip(predictions, inputs, found.boxes, strict=True)
    ]
    return {
        "number": "".join(str(digit["digit"]) for digit in digits),
        "verdict": least_sure([digit["verdict"] for digit in digits]),
        "digits": digits,
    }


def least_sure(verdicts: list[str]) -> str:
    """The least sure of ``verdicts``: not_a_digit, else unsure, else digit."""
    return min(verdicts, key=LEAST_SURE_FIRST.index)


def _cut(
    item: Image.Image | PixelArray | ApiError, predictor: Predictor, steps: bool
) -> NumberInput | ApiError:
    if isinstance(item, ApiError):
        return item
    if isinstance(item, PixelArray):
        return ApiError("invalid_parameter", "a pixel array is one digit in MNIST form: send it to /predict; "
                        "/predict/number reads an image file")
    started = perf_counter()
    declared = item.size

    def reader(images: np.ndarray) -> list[Reading]:
        return [Reading(p.digit, p.confidence, p.verdict.label) for p in predictor.predict(images)]

    try:
        decoded = preprocessing.decode(item)
        digits = read_number(decoded, reader, steps)
    except preprocessing.PreprocessingError as exc:
        return exc.without_traceback()
    boxes = [_box(digit.box, decoded.size, declared) for digit in digits]
    return NumberInput(digits, boxes, (perf_counter() - started) * 1e3)


def _box(
    box: tuple[float, float, float, float], decoded: tuple[int, int], declared: tuple[int, int]
) -> list[int]:
    """``box`` (left, top, right, bottom) in the decoded image's pixels as [x, y, width, height]
    in the uploaded image's own pixels, upright. A large JPEG is decoded at a reduced scale, the
    same on both sides; EXIF rotation may have swapped them."""
    scale = max(declared) / max(decoded)
    width, height = round(decoded[0] * scale), round(decoded[1] * scale)
    left, top, right, bottom = (v * scale for v in box)
    x0, y0 = min(max(int(left), 0), width - 1), min(max(int(top), 0), height - 1)
    x1, y1 = min(max(round(right), x0 + 1), width), min(max(round(bottom), y0 + 1), height)
    return [x0, y0, x1 - x0, y1 - y0]
