"""HTTP request → typed inputs: which images a request sends and which extras it asks for.

Nothing here decodes an image: an image file stays bytes (``EncodedImage``) and a pixel array
stays the JSON value it was sent as (``PixelArray``) until preprocessing reads it. Every refusal
is an ``ApiError`` with a code from ``app.errors.CODES``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import time
from dataclasses import dataclass

from flask import current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from app import gradients_request
from app.errors import ApiError
from app.gradients_request import GradientsRequest

try:  # gunicorn's framing errors for a malformed chunked body, raised while the body is read
    from gunicorn.http.errors import ParseException as _ServerFramingError
except ImportError:  # pragma: no cover - gunicorn is a runtime dependency
    _ServerFramingError = ()

RAW_IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
# The extras a request may ask for with include, in the query string only (a comma list, repeated or
# not; duplicates are harmless): the convolution maps, the saliency, the hidden layer and scores, the
# preprocessing steps, one backward pass and a few SGD steps (/predict only: app.gradients_request), the
# first convolution's filters (the weights of the training snapshot answering, app.replay).
INCLUDE_OPTIONS = ("feature_maps", "saliency", "layers", "steps", "gradients", "filters")
# Names one include list may hold, duplicates counted: bounds the parsing of a list that repeats
# them a million times (the query's length bounds how many lists there are).
MAX_INCLUDE_VALUES = 16
CLASSES = 10  # versus names one of the digits 0-9
# The body is read in pieces this large, so that the cost of reading it can be watched.
READ_SIZE = 64 * 1024
# A chunked body of a million 1-byte chunks costs the server seconds to de-chunk: a body that has
# taken this much CPU and is still arriving is refused rather than read on.
MAX_BODY_READ_CPU_SECONDS = 0.25
# json builds a Python list per array, and a body of a million "[]" costs it most of a second.
# A batch of 32 pixel arrays holds 929 arrays; counting "[" (strings included) bounds them all
# before json starts.
MAX_JSON_ARRAYS = 4096
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")
# A multipart part's headers (its Content-Disposition with the filename, a Content-Type) end
# within this many bytes: Werkzeug parses them in Python a character at a time, and a 4 MiB
# filename would cost it a second. Checked, with the count of parts, before it starts.
MAX_PART_HEADER_BYTES = 8 * 1024
# As Werkzeug reads multipart framing: after a boundary, spaces and a line break (CRLF, LF or
# CR), or "--" for the last one; a part's headers end at a blank line.
_AFTER_BOUNDARY = re.compile(rb"--|[^\S\r\n]*(?:\r\n|\n|\r)")
_BLANK_LINE = re.compile(rb"\r\n\r\n|\r\r|\n\n")


@dataclass(frozen=True)
class EncodedImage:
    """An image file's bytes (PNG, JPEG, WebP, GIF), uploaded or decoded from base64."""

    data: bytes


@dataclass(frozen=True)
class PixelArray:
    """A JSON value sent as ``pixels``: said to be 28 rows of 28 numbers (preprocessing checks)."""

    pixels: object


ImageInput = EncodedImage | PixelArray


@dataclass(frozen=True)
class PredictRequest:
    """The images of a request, in order (a malformed batch entry as its ApiError), the extras asked
    for, and the class the saliency compares with (None: the answer's score alone)."""

    images: list[ImageInput | ApiError]
    include: frozenset[str]
    versus: int | None = None
    gradients: GradientsRequest | None = None  # with include=gradients
    snapshot: int | None = None  # the training snapshot that answers (app.replay); None: the served weights


def _extras(images: list[ImageInput | ApiError], body: MultiDict | dict) -> PredictRequest:
    """The request for ``images`` with the include, versus, gradients' parameters and snapshot of the
    query string; a ``body`` (the multipart form or the JSON document) that carries them is refused."""
    for name in ("include", "versus", "snapshot", *gradients_request.PARAMETERS):
        if name in body:
            raise ApiError("invalid_parameter", f"{name} goes in the query string "
                           f"(e.g. ?include=saliency&versus=3), not in the body")
    include = _include(request.args.getlist("include"))
    return PredictRequest(images, include, _versus(request.args.getlist("versus")),
                          gradients_request.parse(request.args, include),
                          current_app.extensions["replay"].parse(request.args.getlist("snapshot")))


def parse_predict() -> PredictRequest:
    """The one image of a /predict request: a raw image body, JSON, or a multipart file part."""
    if request.mimetype in RAW_IMAGE_TYPES:
        return _extras([EncodedImage(read_body())], {})
    if request.is_json:
        document = json_object(read_body())
        image = _json_image(document, "the JSON body")
        return _extras([image], document)
    if request.mimetype == "multipart/form-data":
        form, files = _multipart()
        images = _multipart_images(form, files)
        if len(images) > 1:
            raise ApiError("invalid_parameter", "send one image to /predict, several to /predict/batch")
        return _extras(images, form)
    raise _unsupported_media_type()


def parse_batch() -> PredictRequest:
    """The images of a /predict/batch request: JSON ``{"images": [...]}`` or repeated file parts."""
    if request.is_json:
        document = json_object(read_body())
        if "images" not in document:
            raise ApiError("missing_field", "the JSON body needs a field 'images' (a list)")
        entries = document["images"]
        if not isinstance(entries, list):
            raise ApiError("invalid_parameter", "'images' must be a list")
        _check_batch_size(len(entries))
        images: list[ImageInput | ApiError] = []
        for index, entry in enumerate(entries):
            try:
                images.append(_json_image(entry, f"images[{index}]"))
            except ApiError as exc:
                images.append(exc.without_traceback())
        return _one_image_extras_refused(_extras(images, document))
    if request.mimetype == "multipart/form-data":
        form, files = _multipart()
        images = _multipart_images(form, files)
        _check_batch_size(len(images))
        return _one_image_extras_refused(_extras(images, form))
    raise _unsupported_media_type()


def _one_image_extras_refused(batch: PredictRequest) -> PredictRequest:
    """A batch request, refused when it asks for what only /predict answers."""
    if batch.gradients is not None:
        raise ApiError("invalid_parameter", "include=gradients is for /predict, one image at a time: "
                       f"its lesson costs up to {gradients_request.MAX_STEPS} forward and backward passes "
                       "and a pass over the sample digits")
    return batch


def read_body() -> bytes:
    """The request body, through Werkzeug's stream (which enforces MAX_CONTENT_LENGTH with a 413).

    A body that ends early, a malformed chunked encoding, or one that keeps the server de-chunking
    tiny chunks for more than MAX_BODY_READ_CPU_SECONDS is a 400, never a 500.
    """
    stream = request.stream
    # With a Content-Length, exactly that many bytes: one more read would be taken by Werkzeug's
    # limit for a body larger than the limit when the length is exactly the limit.
    expected = request.content_length
    pieces, size = [], 0
    cpu_at_start = time.thread_time()
    try:
        while expected is None or size < expected:
            piece = stream.read(READ_SIZE if expected is None else min(READ_SIZE, expected - size))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
            if time.thread_time() - cpu_at_start > MAX_BODY_READ_CPU_SECONDS:
                raise ApiError("too_fragmented", "the request body arrives in too many tiny chunks; "
                               "send it with a Content-Length or in larger chunks")
    except _ServerFramingError as exc:
        raise ApiError("invalid_chunked_body",
                       f"the chunked body is malformed: {shorten(str(exc))}") from None
    except OSError:  # the client reset the connection, or the chunked body stopped mid-way
        raise ApiError("incomplete_body", "the request body ended before all of it arrived") from None
    if expected is not None and size < expected:
        raise ApiError("incomplete_body", "the request body ended before all of it arrived")
    return b"".join(pieces)


def shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def json_object(body: bytes) -> dict:
    """The body as a JSON object (any encoding JSON allows; NaN and Infinity refused)."""
    if body.count(b"[") > MAX_JSON_ARRAYS:
        raise ApiError("invalid_json", f"the JSON body holds more than {MAX_JSON_ARRAYS} arrays")
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError("invalid_json", "the JSON body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiError("invalid_json", f"the body is not valid JSON: {shorten(str(exc))}") from None
    if not isinstance(document, dict):
        raise ApiError("invalid_json", "the JSON body must be an object")
    return document


def _json_image(entry: object, where: str) -> ImageInput:
    """An image given in JSON: a data URL/base64 string, or an object with 'image' or 'pixels'."""
    if isinstance(entry, str):
        return EncodedImage(decode_base64_image(entry))
    if not isinstance(entry, dict):
        raise ApiError("invalid_parameter", f"{where} must be a string or an object")
    if "image" in entry and "pixels" in entry:
        raise ApiError("invalid_parameter", f"{where}: send either 'image' or 'pixels', not both")
    if "pixels" in entry:
        return PixelArray(entry["pixels"])
    if "image" not in entry:
        raise ApiError("missing_field", f"{where} needs a field 'image' (base64) or 'pixels'")
    if not isinstance(entry["image"], str):
        raise ApiError("invalid_parameter", f"{where}: 'image' must be a data URL or base64 string")
    return EncodedImage(decode_base64_image(entry["image"]))


def decode_base64_image(text: str) -> bytes:
    """The bytes of an image given as a data URL (any media type) or plain/URL-safe base64."""
    if text[:5].lower() == "data:":
        header, comma, text = text[5:].partition(",")
        if not comma:
            raise ApiError("invalid_base64", "a data URL needs a comma before its data")
        if not header.lower().endswith(";base64"):
            raise ApiError("invalid_base64", "a data URL must be base64-encoded (';base64,')")
    compact = "".join(text.split()).translate(_URLSAFE_TO_STANDARD)
    compact += "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("invalid_base64", "the image is not valid base64") from None


def _multipart() -> tuple[MultiDict, MultiDict]:
    """The text fields and file parts of a multipart body; malformed or cut short is a 400.

    Parsed by Werkzeug from the body read above (so chunked framing and the body limit are
    handled once), with its errors raised rather than silently giving an empty form.
    """
    body = read_body()
    max_parts = current_app.config["MAX_FORM_PARTS"]
    boundary = request.mimetype_params.get("boundary", "")
    if boundary.isascii():  # else Werkzeug refuses it below
        _check_part_headers(body, boundary.encode(), max_parts)
    parser = FormDataParser(max_form_memory_size=len(body) + 1, max_form_parts=max_parts, silent=False)
    try:
        _, form, files = parser.parse(io.BytesIO(body), request.mimetype, len(body), request.mimetype_params)
    except RequestEntityTooLarge:  # the only limit that can fire: a field is never larger than the body
        raise _too_many_parts(max_parts) from None
    except ValueError as exc:
        raise ApiError("invalid_multipart", f"the multipart body is malformed or cut short: {exc}") from None
    return form, files


def _too_many_parts(max_parts: int) -> ApiError:
    return ApiError("too_many_parts", f"the multipart body has more than {max_parts} parts")


def _check_part_headers(body: bytes, boundary: bytes, max_parts: int) -> None:
    """Refuse a multipart body with more than ``max_parts`` parts, or a part whose headers run
    past MAX_PART_HEADER_BYTES, before Werkzeug parses any of them. C-speed searches only, a
    bounded number: what else is malformed is left to Werkzeug to refuse."""
    delimiter = b"--" + boundary
    # Every part's boundary line and the last one: more, and there are more parts than allowed
    # (or the boundary appears inside a part, which a client's boundary is chosen never to do).
    if body.count(delimiter) > max_parts + 1:
        raise _too_many_parts(max_parts)
    position, first = 0, True
    while (found := body.find(delimiter, position)) != -1:
        position = found + len(delimiter)
        after = _AFTER_BOUNDARY.match(body, position)
        # A boundary line starts after a line break, the first one anywhere (after a preamble).
        if after is None or not (first or body[found - 1 : found] in (b"\r", b"\n")):
            continue
        if after.group() == b"--":
            return  # the last boundary: what follows is never parsed
        first, headers = False, after.end()
        blank = _BLANK_LINE.search(body, headers, headers + MAX_PART_HEADER_BYTES + 4)
        if blank is None and len(body) - headers <= MAX_PART_HEADER_BYTES:
            return  # cut short within the limit: Werkzeug says so
        if blank is None or blank.start() - headers > MAX_PART_HEADER_BYTES:
            raise ApiError("invalid_multipart", f"a part's headers are longer than "
                           f"{MAX_PART_HEADER_BYTES} bytes, the limit (a long filename?)")
        # The part's data starts after the blank line's first line break, which Werkzeug lets
        # the next boundary's line break share when the data is empty.
        position = (blank.start() + blank.end()) // 2


def _multipart_images(form: MultiDict, files: MultiDict) -> list[ImageInput | ApiError]:
    if "image" in form:
        # A part without a filename: its bytes would have been decoded as text, so refuse it.
        raise ApiError("invalid_parameter", "send each 'image' part as a file (a part with a filename)")
    images: list[ImageInput | ApiError] = [EncodedImage(part.read()) for part in files.getlist("image")]
    if not images:
        raise ApiError("missing_field", "the multipart body has no file part named 'image'")
    return images


def _include(lists: list[str]) -> frozenset[str]:
    """The extras asked for in the query's comma lists ("saliency,layers"): every name one of
    INCLUDE_OPTIONS, at most MAX_INCLUDE_VALUES in one list."""
    found: list[str] = []
    for value in lists:
        # maxsplit: a value of a million commas is not split a million times.
        listed = value.split(",", MAX_INCLUDE_VALUES)
        if len(listed) > MAX_INCLUDE_VALUES:
            raise ApiError("invalid_parameter", f"an include list names at most {MAX_INCLUDE_VALUES} values")
        found += listed
    unknown = [name for name in found if name not in INCLUDE_OPTIONS]
    if unknown:
        shown = shorten(repr(unknown[0]), 40)
        raise ApiError("invalid_parameter", f"unknown include option {shown}; known: {list(INCLUDE_OPTIONS)}")
    return frozenset(found)


def _versus(values: list[str]) -> int | None:
    """The digit 0-9 the saliency compares the answer with (None when not given); given twice, both
    must name the same digit."""
    digits = set()
    for value in values:
        if len(value) == 1 and value in "0123456789":
            digits.add(int(value))
        else:
            raise ApiError("invalid_parameter", f"versus must be a digit 0-9, not {shorten(repr(value), 40)}")
    if len(digits) > 1:
        raise ApiError("invalid_parameter", f"versus given as {sorted(digits)}: give one digit")
    return digits.pop() if digits else None


def _check_batch_size(count: int) -> None:
    limit = current_app.config["MAX_BATCH_SIZE"]
    if count == 0:
        raise ApiError("empty_batch", "the batch holds no images")
    if count > limit:
        raise ApiError("batch_too_large", f"a batch holds at most {limit} images, not {count}")


def _unsupported_media_type() -> ApiError:
    sent = request.mimetype or "no Content-Type"
    return ApiError(
        "unsupported_media_type",
        f"cannot read {sent}: send multipart/form-data (field 'image'), application/json, "
        f"or a raw body of type {', '.join(sorted(RAW_IMAGE_TYPES))}",
    )
