"""The JSON schemas of POST /predict/number (app.numbers): its request body and its answer, built
on the prediction's schemas in app.schemas."""

from __future__ import annotations

from app.preprocessing.number import MAX_DIGITS
from app.schemas import PREDICTION, closed, ref
from model.verdict import VERDICTS

NUMBER_DESCRIPTION = (
    "One image, sent as to /predict (multipart image, a raw image body, or JSON image as a data URL "
    "or base64; not a pixel array, which is one digit). The line of digits in it is cut into "
    "digits, broken digits joined, specks and underlines left out, touching digits cut where the "
    f"network reads the halves better than the whole; at most {MAX_DIGITS} digits (more: 422 "
    "too_many_digits; ink broken into far more pieces than a line of digits: 422 too_many_marks). "
    "Each digit is read by the same network as /predict and answered as /predict answers, with "
    "include= applied to each, and its box."
)
NUMBER_DIGIT = closed(
    [*PREDICTION["required"], "box"],
    {
        **PREDICTION["properties"],
        "box": {
            "type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "integer", "minimum": 0},
            "description": "[x, y, width, height] of the digit in the uploaded image's own pixels "
                           "(upright, as EXIF orientation shows it); width and height at least 1.",
        },
    },
    description=(
        "One digit of the number, as /predict answers one image (timing_ms.preprocess is this digit's "
        "share of decoding and cutting the image), with its box."
    ),
)
NUMBER = closed(
    ["number", "verdict", "digits"],
    {
        "number": {"type": "string", "pattern": f"^[0-9]{{1,{MAX_DIGITS}}}$",
                   "description": "The digits read, left to right."},
        "verdict": {
            "type": "string", "enum": list(VERDICTS),
            "description": "The least sure of the digits' verdicts: not_a_digit, else unsure, else digit.",
        },
        "digits": {"type": "array", "minItems": 1, "maxItems": MAX_DIGITS, "items": ref("NumberDigit"),
                   "description": "One per digit, left to right."},
        "snapshot": ref("Snapshot"),
    },
)
NUMBER_JSON = {
    "type": "object",
    "description": "The image of the number.",
    "required": ["image"],
    "properties": {"image": ref("ImageString")},
    "propertyNames": {"not": {"enum": ["include", "versus", "pixels"]}},
}

COMPONENTS = {"NumberJson": NUMBER_JSON, "NumberDigit": NUMBER_DIGIT, "Number": NUMBER}
