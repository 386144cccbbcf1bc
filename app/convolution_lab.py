"""POST /api/convolve: the convolution lab's request, checked, and its answer.

    {"pixels": H×H numbers, "kernel": F×F numbers, "stride": s, "pad": p,
     "pool": {"kind": "max" | "average", "size": k, "stride": t}}
    → {"map": [[...]], "map_shape": [OH, OW], "map_remainder": r,
       "pooled": [[...]], "pooled_shape": [PH, PW], "pooled_remainder": q}

The work is ``model.convolution_lab`` (the network's own layers); this module only reads the JSON
— every value checked before an array is built — and refuses what does not fit with a message a
learner can act on.
"""

from __future__ import annotations

import json

from flask import request

from app import responses
from app.errors import ApiError
from app.request_parsing import json_object, read_body, shorten
from model.convolution_lab import POOLINGS, Window, convolve, pool

# The request is small (a 28×28 picture and a filter): a body longer than this is refused before
# its JSON is parsed, whatever MAX_CONTENT_LENGTH allows for images.
MAX_BODY_BYTES = 64 * 1024
# Bounds of what the lab accepts, as (smallest, largest).
INPUT_SIDES = (1, 28)  # the picture: H×H, the network's 28×28 at most
KERNEL_SIDES = (1, 7)
STRIDES = (1, 4)
PADS = (0, 3)
POOL_SIDES = (1, 4)
POOL_STRIDES = (1, 4)
# Every number sent lies within ±MAX_MAGNITUDE (a picture in 0-1 or 0-255, a filter's weights).
MAX_MAGNITUDE = 1000.0
# What the optional fields are when left out: the Convolution layer's defaults, and the network's
# own 2×2 max pooling (a pool without "stride" strides by its size, as the Pooling layer does).
DEFAULT_STRIDE, DEFAULT_PAD = 1, 0
DEFAULT_POOL = {"kind": "max", "size": 2}
FIELDS = {"pixels", "kernel", "stride", "pad", "pool"}
POOL_FIELDS = {"kind", "size", "stride"}


def _shown(value: object) -> str:
    """``value`` as it was in the JSON, cut short."""
    return shorten(json.dumps(value), 40)


def _is_number(value: object) -> bool:
    # bool is an int in Python, but true is not a number in JSON.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _whole_number(value: object, name: str, bounds: tuple[int, int]) -> int:
    """``value`` as an int within ``bounds``; 2.0 counts as 2, as JSON Schema's integer does."""
    low, high = bounds
    whole = _is_number(value) and (isinstance(value, int) or value.is_integer())
    if not (whole and low <= value <= high):
        raise ApiError("invalid_parameter", f"{name} must be a whole number from {low} to {high}, "
                       f"not {_shown(value)}")
    return int(value)


def _square(value: object, name: str, bounds: tuple[int, int]) -> list[list[float]]:
    """``value`` as rows of numbers, checked square (side within ``bounds``) and finite."""
    low, high = bounds
    side = len(value) if isinstance(value, list) else 0
    shape = f"a square array of numbers, {low}×{low} to {high}×{high} (a list of equally long rows)"
    if not low <= side <= high:
        raise ApiError("invalid_parameter", f"{name} must be {shape}")
    for index, row in enumerate(value):
        if not isinstance(row, list) or len(row) != side:
            raise ApiError("invalid_parameter", f"{name} must be {shape}: it has {side} rows, and row "
                           f"{index} is not a list of {side} numbers")
        for number in row:
            if not _is_number(number):
                raise ApiError("invalid_parameter", f"{name} holds {_shown(number)} in row {index}: "
                               "only numbers")
            # Also false for NaN and for infinity (JSON's 1e999 reads as infinity).
            if not abs(number) <= MAX_MAGNITUDE:
                raise ApiError("invalid_parameter", f"{name} holds {_shown(number)} in row {index}: numbers "
                               f"from {-MAX_MAGNITUDE:g} to {MAX_MAGNITUDE:g} only")
    return value


def _object(value: object, name: str, allowed: set[str], required: set[str]) -> dict:
    """``value``, a JSON object with only ``allowed`` fields, ``required`` among them."""
    if not isinstance(value, dict):
        raise ApiError("invalid_parameter", f"{name} must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ApiError("invalid_parameter", f"{name} has an unknown field {_shown(unknown[0])}; "
                       f"known: {sorted(allowed)}")
    missing = sorted(required - set(value))
    if missing:
        raise ApiError("missing_field", f"{name} needs a field {missing[0]!r}")
    return value


def _read_document() -> dict:
    """The request's JSON object, its size bounded before it is parsed."""
    if not request.is_json:
        raise ApiError("unsupported_media_type", f"cannot read {request.mimetype or 'no Content-Type'}: "
                       "send application/json")
    too_large = ApiError("payload_too_large", f"the convolution lab's body is at most {MAX_BODY_BYTES} "
                         "bytes (a 28×28 picture and a filter)")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise too_large
    body = read_body()  # a chunked body has no Content-Length to check first
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    return json_object(body)


def _does_not_fit(what: str, window: Window, where: str) -> ApiError:
    padded = window.length + 2 * window.pad
    inside = f"the {window.length}×{window.length} {where}"
    if window.pad:
        inside += f" padded by {window.pad} on each side ({padded}×{padded})"
    return ApiError("window_does_not_fit", f"a {window.size}×{window.size} {what} does not fit in {inside}: "
                    f"make it smaller{' or pad more' if what == 'filter' else ''}")


def _rows(values) -> list[list[float]]:
    # + 0.0: no "-0.0" in JSON (a negative weight times a zero pixel).
    return [responses.significant(row + 0.0) for row in values]


def convolve_request() -> dict:
    """The answer to a POST /api/convolve: the map and the pooled map with their shapes."""
    document = _object(_read_document(), "the JSON body", FIELDS, {"pixels", "kernel"})
    pixels = _square(document["pixels"], "pixels", INPUT_SIDES)
    kernel = _square(document["kernel"], "kernel", KERNEL_SIDES)
    stride = _whole_number(document.get("stride", DEFAULT_STRIDE), "stride", STRIDES)
    pad = _whole_number(document.get("pad", DEFAULT_PAD), "pad", PADS)
    pool_spec = _object(document.get("pool", DEFAULT_POOL), "pool", POOL_FIELDS, {"kind", "size"})
    kind = pool_spec["kind"]
    if not isinstance(kind, str) or kind not in POOLINGS:
        raise ApiError("invalid_parameter", f"pool.kind must be one of {list(POOLINGS)}, "
                       f"not {_shown(kind)}")
    pool_size = _whole_number(pool_spec["size"], "pool.size", POOL_SIDES)
    pool_stride = _whole_number(pool_spec.get("stride", pool_size), "pool.stride", POOL_STRIDES)

    slide = Window(len(pixels), len(kernel), stride, pad)
    if not slide.fits:
        raise _does_not_fit("filter", slide, "input")
    pooling = Window(slide.count, pool_size, pool_stride)
    if not pooling.fits:
        raise _does_not_fit("pooling window", pooling, "map")
    feature_map = convolve(pixels, kernel, stride, pad)
    pooled = pool(feature_map, kind, pool_size, pool_stride)
    return {
        "map": _rows(feature_map), "map_shape": list(feature_map.shape), "map_remainder": slide.remainder,
        "pooled": _rows(pooled), "pooled_shape": list(pooled.shape), "pooled_remainder": pooling.remainder,
    }
