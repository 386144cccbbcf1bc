"""The OpenAPI schemas of POST /api/convolve (the convolution lab), from the bounds it checks.

A picture and a filter are square: JSON Schema cannot tie an array's length to its rows' lengths,
so each allowed side is one closed alternative. What no schema can say — the filter must fit in
the padded picture, the pooling window in the map — is the error window_does_not_fit.
"""

from __future__ import annotations

from app.convolution_lab import (
    DEFAULT_PAD,
    DEFAULT_POOL,
    DEFAULT_STRIDE,
    INPUT_SIDES,
    KERNEL_SIDES,
    MAX_BODY_BYTES,
    MAX_MAGNITUDE,
    PADS,
    POOL_SIDES,
    POOL_STRIDES,
    STRIDES,
)
from app.schemas import closed, grid
from model.convolution_lab import POOLINGS

NUMBER = {"type": "number", "minimum": -MAX_MAGNITUDE, "maximum": MAX_MAGNITUDE}


def _whole(bounds: tuple[int, int], description: str, **extra) -> dict:
    low, high = bounds
    return {"type": "integer", "minimum": low, "maximum": high, "description": description, **extra}


def _squares(bounds: tuple[int, int], description: str) -> dict:
    """A side × side array of NUMBERs, for one side within ``bounds``."""
    low, high = bounds
    return {"description": description,
            "oneOf": [grid(side, side, NUMBER, f"{side}×{side}") for side in range(low, high + 1)]}


def _shape(description: str) -> dict:
    return {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2,
            "description": description}


def _remainder(description: str, strides: tuple[int, int]) -> dict:
    return {"type": "integer", "minimum": 0, "maximum": strides[1] - 1, "description": description}


CONVOLVE_REQUEST = closed(
    ["pixels", "kernel"],
    {
        "pixels": _squares(INPUT_SIDES, f"The picture: H rows of H numbers, H from {INPUT_SIDES[0]} to "
                           f"{INPUT_SIDES[1]} (e.g. the network's 28×28 input in 0-1)."),
        "kernel": _squares(KERNEL_SIDES, "The filter: F rows of F weights."),
        "stride": _whole(STRIDES, "How far the filter moves each step.", default=DEFAULT_STRIDE),
        "pad": _whole(PADS, "Rows and columns of zeros added on every side first.", default=DEFAULT_PAD),
        "pool": closed(
            ["kind", "size"],
            {
                "kind": {"type": "string", "enum": list(POOLINGS),
                         "description": "max keeps each window's largest value, average its mean."},
                "size": _whole(POOL_SIDES, "The pooling window: size × size values of the map."),
                "stride": _whole(POOL_STRIDES, "How far the window moves each step (default: its size)."),
            },
            description="The pooling of the map.",
            default=DEFAULT_POOL,
        ),
    },
    description=(
        f"Every number within ±{MAX_MAGNITUDE:g}; a body of at most {MAX_BODY_BYTES} bytes. The filter "
        "must fit in the padded picture and the pooling window in the map (else 400 window_does_not_fit)."
    ),
)
CONVOLUTION = closed(
    ["map", "map_shape", "map_remainder", "pooled", "pooled_shape", "pooled_remainder"],
    {
        "map": grid(None, None, {"type": "number"},
                     "The plain convolution (no bias, no ReLU), rounded to 6 significant digits."),
        "map_shape": _shape("[OH, OW]: OH = 1 + (H + 2·pad − F) // stride."),
        "map_remainder": _remainder("(H + 2·pad − F) % stride: the last rows (and columns) of the padded "
                                    "picture no filter position reaches, dropped by the floor.", STRIDES),
        "pooled": grid(None, None, {"type": "number"}, "The map pooled, rounded to 6 significant digits."),
        "pooled_shape": _shape("[PH, PW]: PH = 1 + (OH − size) // pool stride."),
        "pooled_remainder": _remainder("(OH − size) % pool stride: the last rows (and columns) of the map "
                                       "no pooling window reaches.", POOL_STRIDES),
    },
    description="One filter slid over the picture by the network's own Convolution layer, then pooled "
                "by its MaxPooling or AveragePooling layer.",
)
COMPONENTS = {"ConvolveRequest": CONVOLVE_REQUEST, "Convolution": CONVOLUTION}
