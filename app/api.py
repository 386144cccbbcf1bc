"""The REST API: parse a request, preprocess, run the network, answer in JSON.

Every refusal is an ``ApiError`` (answered by ``errors.error_response``); preprocessing's own
errors keep their code and status.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from time import perf_counter

import numpy as np
from flask import Blueprint, Response, current_app, request

from app import feature_maps, openapi
from app.errors import ApiError
from app.inference import Prediction, Predictor
from app.preprocessing import SIZE, PreprocessingError, from_pixel_values, from_pixels, preprocess

bp = Blueprint("api", __name__)

RAW_IMAGE_TYPES = frozenset(openapi.RAW_IMAGE_TYPES)
INCLUDE_OPTIONS = frozenset({"feature_maps"})
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")


def _level_text_table(ending: bytes) -> np.ndarray:
    """(256,) of 8 bytes each: the JSON text of each level 0–255 and ``ending``, NUL-padded."""
    return np.array([str(level).encode() + ending for level in range(256)], dtype="S8").view(np.uint64)


# For the 784 numbers of a result's "input": each level's text inside a row and at a row's end.
_LEVEL_TEXT = _level_text_table(b",")
_LEVEL_TEXT_ROW_END = _level_text_table(b"],[")


@dataclass(frozen=True)
class ImageInput:
    """One image as the client sent it.

    kind "file": ``value`` is the bytes of an image file; "base64": a data URL or base64 text of
    one; "pixels": a JSON array already in MNIST form; "pixel values": such an array already
    read into (28, 28) float64 values.
    """

    kind: str
    value: object


# --- reading the request -------------------------------------------------------------------


def _read_body() -> bytes:
    """The request body, never more than MAX_CONTENT_LENGTH bytes read into memory."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    stream = request.environ["wsgi.input"]
    try:
        if length is not None:
            # Exactly Content-Length bytes, straight from the server's stream.
            body = stream.read(length) if length else b""
            if len(body) < length:
                raise _incomplete_body()
            return body
        if "wsgi.input_terminated" not in request.environ:
            return b""  # no length and a server that does not end the stream: nothing safe to read
        # A chunked body that the server de-chunks: read one byte past the limit to tell a body of
        # exactly the limit from a longer one (Werkzeug's own limited stream cannot).
        chunks, size = [], 0
        while size <= limit:
            chunk = stream.read(min(64 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError:  # the client reset the connection mid-body
        raise _incomplete_body() from None
    if size > limit:
        raise _too_large(limit)
    return b"".join(chunks)


def _incomplete_body() -> ApiError:
    return ApiError(400, "incomplete_body", "the request body ended before all of it arrived")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"request body is larger than {limit} bytes")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


# One decoder for every request: json.loads(..., parse_constant=...) builds a new one each call.
_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _json_body(body: bytes | None = None) -> dict:
    """The request's JSON object (``body``: the request body when already read)."""
    if body is None:
        body = _read_body()
    try:
        # What json.loads does with bytes: the encoding from the first bytes (UTF-8, -16, -32).
        document = _JSON_DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except RecursionError:
        raise ApiError(400, "invalid_json", "the JSON body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ApiError(400, "invalid_json", "the JSON body must be an object")
    return document


_JSON_WHITESPACE = b" \t\n\r"
_PIXELS_KEY = re.compile(rb'[ \t\n\r]*\{[ \t\n\r]*"pixels"[ \t\n\r]*:')
_SPACED_DIGITS = re.compile(rb"[0-9][ \t\n\r]+[0-9]")  # two numbers with no comma between: not JSON
_COMMAS_PER_ROW = [SIZE - 1] * SIZE
_POWERS_OF_TEN = 10 ** np.arange(1, 15, dtype=np.int64)  # 10 … 10¹⁴: digits of n = 1 + powers ≤ n


def integer_pixels(body: bytes) -> np.ndarray | None:
    """The (28, 28) float64 values of a JSON body that is exactly ``{"pixels": [28 rows of 28
    non-negative integers]}`` (whitespace anywhere JSON allows it), or None for any other body.

    That is how programs send pixels, and reading it here takes less than half the time of
    json.loads, which makes 784 Python ints, and of checking each one's type. Any other body,
    valid or not, goes through json and from_pixels, so what is accepted and every refusal stay
    the same."""
    key = _PIXELS_KEY.match(body)
    if key is None:
        return None
    rest = body[key.end() :]
    compact = rest.translate(None, _JSON_WHITESPACE)
    if len(compact) != len(rest) and _SPACED_DIGITS.search(rest):
        return None
    # Counted before splitting: a large body of "],[" must not become a million small objects.
    if not (compact.startswith(b"[[") and compact.endswith(b"]]}") and compact.count(b"],[") == SIZE - 1):
        return None
    rows = compact[2:-3].split(b"],[")
    if [row.count(b",") for row in rows] != _COMMAS_PER_ROW:
        return None
    numbers = b",".join(rows)
    missing_number = b",," in numbers or numbers.startswith(b",") or numbers.endswith(b",")
    if missing_number or numbers.translate(None, b"0123456789,"):  # or anything but digits
        return None
    # 784 numbers of digits only. Parsed as integers: NumPy's float parser takes five times as long.
    try:
        values = np.fromstring(numbers, dtype=np.int64, sep=",")
    except ValueError:  # NumPy met something it cannot read: json will say what is wrong
        return None
    # Plain JSON integers, exact as floats: under 10¹⁵, and no leading zero (the text is exactly
    # as long as the numbers written plainly).
    plain_length = 2 * values.size - 1 + int(np.searchsorted(_POWERS_OF_TEN, values, side="right").sum())
    if values.size != SIZE * SIZE or values.max() >= 10**15 or len(numbers) != plain_length:
        return None
    return values.reshape(SIZE, SIZE).astype(np.float64)


def _unsupported_media_type() -> ApiError:
    sent = request.mimetype or "no Content-Type"
    return ApiError(
        415,
        "unsupported_media_type",
        f"cannot read {sent}: send multipart/form-data (field 'image'), application/json, "
        f"or a raw body of type {', '.join(sorted(RAW_IMAGE_TYPES))}",
    )


def _include_feature_maps(values: Iterable[object]) -> bool:
    """Whether the ``include`` values (each exactly "feature_maps") ask for feature maps."""
    values = list(values)
    unknown = [value for value in values if not (isinstance(value, str) and value in INCLUDE_OPTIONS)]
    if unknown:
        shown = repr(unknown[0])
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise ApiError(
            400, "invalid_parameter", f"unknown include option {shown}; known: {sorted(INCLUDE_OPTIONS)}"
        )
    return "feature_maps" in values


def _json_include(document: dict) -> list[object]:
    include = document.get("include", [])
    if not isinstance(include, list):
        raise ApiError(400, "invalid_parameter", 'include must be a list of strings, e.g. ["feature_maps"]')
    return include


def _json_image(entry: object, where: str) -> ImageInput:
    """An image given in JSON: a data URL/base64 string, or an object with 'image' or 'pixels'."""
    if isinstance(entry, str):
        return ImageInput("base64", entry)
    if not isinstance(entry, dict):
        raise ApiError(400, "invalid_parameter", f"{where} must be a string or an object")
    if "image" in entry and "pixels" in entry:
        raise ApiError(400, "invalid_parameter", f"{where}: send either 'image' or 'pixels', not both")
    if "pixels" in entry:
        return ImageInput("pixels", entry["pixels"])
    if "image" not in entry:
        raise ApiError(400, "missing_field", f"{where} needs a field 'image' (base64) or 'pixels'")
    if not isinstance(entry["image"], str):
        raise ApiError(400, "invalid_parameter", f"{where}: 'image' must be a data URL or base64 string")
    return ImageInput("base64", entry["image"])


def _multipart_images() -> list[ImageInput]:
    if "image" in request.form:
        # A part without a filename: its bytes would have been decoded as text, so refuse it.
        raise ApiError(400, "invalid_parameter", "send each 'image' part as a file (a part with a filename)")
    return [ImageInput("file", part.read()) for part in request.files.getlist("image")]


def _single_request() -> tuple[ImageInput, bool]:
    """The image of a /predict request and whether feature maps are wanted."""
    include = request.args.getlist("include")
    mimetype = request.mimetype
    if mimetype in RAW_IMAGE_TYPES:
        return ImageInput("file", _read_body()), _include_feature_maps(include)
    if request.is_json:
        body = _read_body()
        values = integer_pixels(body)
        if values is not None:
            return ImageInput("pixel values", values), _include_feature_maps(include)
        document = _json_body(body)
        image = _json_image(document, "the JSON body")
        return image, _include_feature_maps([*include, *_json_include(document)])
    if mimetype == "multipart/form-data":
        images = _multipart_images()
        include_maps = _include_feature_maps([*include, *request.form.getlist("include")])
        if not images:
            raise ApiError(400, "missing_field", "the multipart body has no part named 'image'")
        if len(images) > 1:
            raise ApiError(400, "invalid_parameter", "send one image to /predict, several to /predict/batch")
        return images[0], include_maps
    raise _unsupported_media_type()


def _batch_request() -> tuple[list[ImageInput | ApiError], bool]:
    """The images of a /predict/batch request (a malformed entry as its ApiError), and the include flag."""
    include = request.args.getlist("include")
    if request.is_json:
        document = _json_body()
        if "images" not in document:
            raise ApiError(400, "missing_field", "the JSON body needs a field 'images' (a list)")
        entries = document["images"]
        if not isinstance(entries, list):
            raise ApiError(400, "invalid_parameter", "'images' must be a list")
        _check_batch_size(len(entries))
        include_maps = _include_feature_maps([*include, *_json_include(document)])
        images: list[ImageInput | ApiError] = []
        for index, entry in enumerate(entries):
            try:
                images.append(_json_image(entry, f"images[{index}]"))
            except ApiError as exc:
                images.append(exc)
        return images, include_maps
    if request.mimetype == "multipart/form-data":
        images = _multipart_images()
        if not images:
            raise ApiError(400, "missing_field", "the multipart body has no part named 'image'")
        _check_batch_size(len(images))
        return list(images), _include_feature_maps([*include, *request.form.getlist("include")])
    raise _unsupported_media_type()


def _check_batch_size(count: int) -> None:
    limit = current_app.config["MAX_BATCH_SIZE"]
    if count == 0:
        raise ApiError(400, "empty_batch", "the batch holds no images")
    if count > limit:
        raise ApiError(413, "batch_too_large", f"a batch holds at most {limit} images, not {count}")


# --- preprocessing, inference, response ----------------------------------------------------


def decode_base64_image(text: str) -> bytes:
    """The bytes of an image given as a data URL (any media type) or plain/URL-safe base64."""
    if text[:5].lower() == "data:":
        header, comma, text = text[5:].partition(",")
        if not comma:
            raise ApiError(400, "invalid_base64", "a data URL needs a comma before its data")
        if not header.lower().endswith(";base64"):
            raise ApiError(400, "invalid_base64", "a data URL must be base64-encoded (';base64,')")
    compact = "".join(text.split()).translate(_URLSAFE_TO_STANDARD)
    compact += "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid_base64", "the image is not valid base64") from None


def to_network_input(image: ImageInput) -> np.ndarray:
    """The (28, 28) float32 image in [0, 1], white ink on black, that the network reads."""
    try:
        if image.kind == "pixels":
            return from_pixels(image.value)
        if image.kind == "pixel values":
            return from_pixel_values(image.value)
        data = image.value if image.kind == "file" else decode_base64_image(image.value)
        return preprocess(data, max_pixels=current_app.config["MAX_IMAGE_PIXELS"])
    except PreprocessingError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None


def input_json(image: np.ndarray) -> str:
    """The (28, 28) image in [0, 1] as JSON: 28 rows of 28 ints 0–255. Looked up in a table of
    the levels' text and the padding dropped: a fifth of the time json.dumps takes."""
    levels = np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    text = _LEVEL_TEXT.take(levels)  # (28, 28) of 8 bytes
    text[:, -1] = _LEVEL_TEXT_ROW_END.take(levels[:, -1])
    return "[[" + text.tobytes().translate(None, b"\0")[:-2].decode("ascii") + "]"


def result_json(prediction: Prediction, image: np.ndarray, preprocess_ms: float, inference_ms: float) -> str:
    """The JSON text of the result for one image: the prediction, timings, feature maps if any,
    and the (28, 28) input the network saw as 0–255 ints."""
    # 8 significant digits: short in JSON, and ten of them still sum to 1 within 1e-7.
    probabilities = [float(f"{p:.8g}") for p in prediction.probabilities.tolist()]
    result = {
        "digit": prediction.digit,
        "confidence": probabilities[prediction.digit],
        "probabilities": probabilities,
        "timing_ms": {"preprocess": round(preprocess_ms, 3), "inference": round(inference_ms, 3)},
    }
    predictor = _predictor()
    maps = prediction.activations.get(predictor.maps_layer)
    if maps is not None:
        result["feature_maps"] = feature_maps.encode(predictor.maps_layer, maps)
    pooled = prediction.activations.get(predictor.pooled_layer)
    if pooled is not None:
        result["pooled_maps"] = feature_maps.encode(predictor.pooled_layer, pooled)
    # The input goes last, spliced in as text (json cannot take a pre-encoded part).
    return f'{json.dumps(result, separators=(",", ":"))[:-1]},"input":{input_json(image)}}}'


def _predictor() -> Predictor:
    return current_app.extensions["model"]


def _json_response(payload: object) -> Response:
    return current_app.json.response(payload)


def _json_text_response(body: str) -> Response:
    """A response whose JSON text is already written (as current_app.json.response writes it)."""
    return current_app.response_class(f"{body}\n", mimetype="application/json")


def _cached_json(key: str, build) -> Response:
    """A JSON response whose body is serialised once per app (the model card, the OpenAPI document)."""
    body = current_app.extensions.get(key)
    if body is None:
        body = current_app.extensions[key] = current_app.json.dumps(build())
    return current_app.response_class(body, mimetype="application/json")


# --- routes ------------------------------------------------------------------------------


@bp.post("/predict")
def predict():
    image_input, include_maps = _single_request()
    started = perf_counter()
    image = to_network_input(image_input)
    preprocessed = perf_counter()
    [prediction] = _predictor().predict(image[np.newaxis], feature_maps=include_maps)
    finished = perf_counter()
    return _json_text_response(
        result_json(prediction, image, (preprocessed - started) * 1e3, (finished - preprocessed) * 1e3)
    )


@bp.post("/predict/batch")
def predict_batch():
    images, include_maps = _batch_request()
    # Each slot: (network input, preprocess ms) or the error for that image.
    slots: list[tuple[np.ndarray, float] | ApiError] = []
    for image_input in images:
        if isinstance(image_input, ApiError):
            slots.append(image_input)
            continue
        started = perf_counter()
        try:
            slots.append((to_network_input(image_input), (perf_counter() - started) * 1e3))
        except ApiError as exc:
            slots.append(exc)
    good = [slot[0] for slot in slots if not isinstance(slot, ApiError)]
    predictions: list[Prediction] = []
    inference_ms = 0.0
    if good:
        started = perf_counter()
        # One network call for the whole batch: far faster than one per image.
        predictions = _predictor().predict(np.stack(good), feature_maps=include_maps)
        inference_ms = (perf_counter() - started) * 1e3 / len(good)
    results = []
    next_prediction = iter(predictions)
    for slot in slots:
        if isinstance(slot, ApiError):
            results.append(current_app.json.dumps({"error": {"code": slot.code, "message": slot.message}}))
        else:
            image, preprocess_ms = slot
            results.append(result_json(next(next_prediction), image, preprocess_ms, inference_ms))
    return _json_text_response(f'{{"results":[{",".join(results)}]}}')


@bp.get("/api/model")
def model_card():
    return _cached_json("digit_lens.model_card_json", lambda: _predictor().card)


@bp.get("/healthz")
def healthz():
    return _json_response({"status": "ok"})


@bp.get("/readyz")
def readyz():
    predictor = current_app.extensions.get("model")
    if predictor is None:
        raise ApiError(503, "not_ready", "the model is not loaded")
    return _json_response({"status": "ready", "parameter_count": predictor.network.parameter_count})


@bp.get("/openapi.json")
def openapi_document():
    return _cached_json("digit_lens.openapi_json", lambda: openapi.document(current_app.config))
