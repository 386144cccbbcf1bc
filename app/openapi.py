"""The OpenAPI 3.1 document of the API, built from the app's limits (served at /openapi.json).

The tests validate it against the OpenAPI 3.1 schema and run schemathesis against the app with
it, so it must describe exactly what ``app.api`` accepts and answers.
"""

from __future__ import annotations

from collections.abc import Mapping

from app import errors
from app.request_parsing import INCLUDE_OPTIONS, RAW_IMAGE_TYPES

# Documented from what the API raises and reads, never listed twice.
ERROR_CODES = {status: errors.codes_for(errors.PREDICT, status) for status in (400, 413, 415, 422)}
BATCH_ERROR_CODES = {status: errors.codes_for(errors.BATCH, status) for status in (400, 413, 415)}
# What one image of a batch can fail with, reported in its slot of the results.
SLOT_ERROR_CODES = errors.codes_for(errors.SLOT)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_schema(codes: list[str]) -> dict:
    return {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "enum": codes},
                    "message": {"type": "string"},
                },
            }
        },
    }


def _error_responses(codes_by_status: Mapping[int, list[str]]) -> dict:
    descriptions = {
        400: "Malformed request",
        413: "Too large",
        415: "Unsupported Content-Type",
        422: "No digit found in the image",
        503: "The model is not loaded",
    }
    return {
        str(status): {
            "description": f"{descriptions[status]}: {', '.join(codes)}",
            "content": {"application/json": {"schema": _error_schema(codes)}},
        }
        for status, codes in codes_by_status.items()
    }


def _json_response(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _schemas(max_batch_size: int) -> dict:
    encoded_maps = {
        "type": "object",
        "description": (
            "Activation maps, one byte per value. Decoding: value = byte / 255 * scale[i] for map i; "
            "scale[i] is the largest value of map i (0 for an all-zero map)."
        ),
        "required": ["layer", "shape", "dtype", "encoding", "data", "scale"],
        "additionalProperties": False,
        "properties": {
            "layer": {"type": "string", "examples": ["relu1"]},
            "shape": {
                "type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 3, "maxItems": 3,
                "description": "[maps, height, width], e.g. [30, 24, 24]",
            },
            "dtype": {"const": "uint8"},
            "encoding": {"const": "base64"},
            "data": {
                "type": "string", "contentEncoding": "base64",
                "description": "maps * height * width bytes in C order",
            },
            "scale": {"type": "array", "items": {"type": "number", "minimum": 0}},
        },
    }
    return {
        "Pixels": {
            "type": "array",
            "description": "28 rows of 28 numbers, 0-1 or 0-255, white ink on black (MNIST form).",
            "minItems": 28,
            "maxItems": 28,
            "items": {
                "type": "array",
                "minItems": 28,
                "maxItems": 28,
                "items": {"type": "number", "minimum": 0, "maximum": 255},
            },
        },
        "ImageString": {
            "type": "string",
            "description": "An image file as a data URL (any media type) or as plain or URL-safe base64.",
            "examples": ["data:image/png;base64,iVBORw0KGgo..."],
        },
        "Include": {
            "type": "array",
            "description": "Extra parts of each result: \"feature_maps\" adds feature_maps and pooled_maps.",
            "items": {"type": "string", "enum": list(INCLUDE_OPTIONS)},
        },
        "PredictJson": {
            "type": "object",
            "description": "Exactly one of image and pixels.",
            "properties": {
                "image": _ref("ImageString"),
                "pixels": _ref("Pixels"),
                "include": _ref("Include"),
            },
            "oneOf": [{"required": ["image"]}, {"required": ["pixels"]}],
        },
        "BatchJson": {
            "type": "object",
            "required": ["images"],
            "properties": {
                "images": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_batch_size,
                    "items": {
                        "description": (
                            "A data URL or base64 string, {\"image\": <data URL or base64>} or "
                            "{\"pixels\": <28x28 array>}. An entry that is none of these, or whose "
                            "image cannot be read, gets an error object in its slot of the results."
                        ),
                        "examples": ["data:image/png;base64,iVBORw0KGgo...", {"pixels": [[0]]}],
                    },
                },
                "include": _ref("Include"),
            },
        },
        "EncodedMaps": encoded_maps,
        "Prediction": {
            "type": "object",
            "required": ["digit", "confidence", "probabilities", "input", "timing_ms"],
            "additionalProperties": False,
            "properties": {
                "digit": {"type": "integer", "minimum": 0, "maximum": 9},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "probabilities": {
                    "type": "array", "minItems": 10, "maxItems": 10,
                    "items": {"type": "number", "minimum": 0, "maximum": 1},
                    "description": "Probability of each digit 0-9; they sum to 1.",
                },
                "input": {
                    "type": "array",
                    "description": "The 28x28 image the network saw: white ink on black, 255 = full ink.",
                    "minItems": 28, "maxItems": 28,
                    "items": {
                        "type": "array", "minItems": 28, "maxItems": 28,
                        "items": {"type": "integer", "minimum": 0, "maximum": 255},
                    },
                },
                "timing_ms": {
                    "type": "object",
                    "description": (
                        "Milliseconds spent decoding and preprocessing this image, and running the "
                        "network on it (in a batch: the batch's network time divided by its images)."
                    ),
                    "required": ["preprocess", "inference"],
                    "additionalProperties": False,
                    "properties": {
                        "preprocess": {"type": "number", "minimum": 0},
                        "inference": {"type": "number", "minimum": 0},
                    },
                },
                "feature_maps": {
                    **_ref("EncodedMaps"),
                    "description": "With include=feature_maps: the first convolution's maps after ReLU.",
                },
                "pooled_maps": {
                    **_ref("EncodedMaps"),
                    "description": "With include=feature_maps: those maps after max pooling.",
                },
            },
        },
        "SlotError": _error_schema(SLOT_ERROR_CODES),
        "ModelCard": {
            "type": "object",
            "description": "The model card written by training; further fields may appear.",
            "required": ["architecture", "parameter_count"],
            "properties": {
                "architecture": {
                    "type": "array",
                    "description": "The layers in order, each with its output shape [C, H, W] or [units].",
                    "items": {
                        "type": "object",
                        "required": ["name", "type", "output_shape"],
                        "properties": {
                            "name": {"type": "string"},
                            "type": {"type": "string"},
                            "output_shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                            "parameters": {"type": "integer", "minimum": 0},
                        },
                    },
                },
                "parameter_count": {"type": "integer", "minimum": 0},
                "test_accuracy": {"type": "number", "minimum": 0, "maximum": 1},
                "confusion_matrix": {
                    "type": "array", "minItems": 10, "maxItems": 10,
                    "items": {
                        "type": "array", "minItems": 10, "maxItems": 10,
                        "items": {"type": "integer", "minimum": 0},
                    },
                },
                "history": {"type": "array", "items": {"type": "object"}},
                "filters": {
                    "type": "object",
                    "description": "The first convolution's filters before and after training: [30][5][5].",
                    "properties": {
                        "before": {"type": "array", "items": {"type": "array"}},
                        "after": {"type": "array", "items": {"type": "array"}},
                    },
                },
            },
        },
    }


def _predict_operation(batch: bool, max_batch_size: int) -> dict:
    include_parameter = {
        "name": "include",
        "in": "query",
        "required": False,
        "description": "feature_maps: add the convolution maps to each result.",
        "schema": {"type": "string", "enum": list(INCLUDE_OPTIONS)},
    }
    binary = {"type": "string", "format": "binary"}
    if batch:
        multipart_image = {"type": "array", "items": binary, "minItems": 1, "maxItems": max_batch_size}
        json_body = _ref("BatchJson")
        ok = _json_response(
            "One result per image, in order; an image that failed has an error object in its slot.",
            {
                "type": "object",
                "required": ["results"],
                "additionalProperties": False,
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {"oneOf": [_ref("Prediction"), _ref("SlotError")]},
                    }
                },
            },
        )
        errors = BATCH_ERROR_CODES
    else:
        multipart_image = binary
        json_body = _ref("PredictJson")
        ok = _json_response("What the network read", _ref("Prediction"))
        errors = ERROR_CODES
    content = {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["image"],
                "properties": {
                    "image": {
                        **multipart_image,
                        "description": (
                            "The image file(s) (PNG, JPEG, WebP, GIF, BMP, TIFF), each a file part "
                            "(with a filename); a text part named image is refused."
                        ),
                    },
                    "include": {"type": "string", "enum": list(INCLUDE_OPTIONS)},
                },
            },
        },
        "application/json": {"schema": json_body},
    }
    if not batch:
        for media_type in RAW_IMAGE_TYPES:
            # The bytes decide the format; the Content-Type only has to name one of these.
            content[media_type] = {"schema": {**binary, "description": "The image file itself."}}
    return {
        "summary": "Read several handwritten digits" if batch else "Read one handwritten digit",
        "operationId": "predictBatch" if batch else "predict",
        "parameters": [include_parameter],
        "requestBody": {"required": True, "content": content},
        "responses": {"200": ok, **_error_responses(errors)},
    }


def document(config: Mapping) -> dict:
    """The OpenAPI 3.1 document for an app with this config (MAX_BATCH_SIZE, MAX_CONTENT_LENGTH, ...)."""
    max_batch_size = int(config["MAX_BATCH_SIZE"])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Digit Lens",
            "version": "1.0.0",
            "description": (
                "Reads handwritten digits with a small CNN written in NumPy. Limits: a request body of "
                f"at most {config['MAX_CONTENT_LENGTH']} bytes, images of at most "
                f"{config['MAX_IMAGE_PIXELS']} pixels each and {config['MAX_REQUEST_PIXELS']} pixels in "
                f"one request (declared sizes, checked before decoding), batches of at most "
                f"{max_batch_size} images, multipart bodies of at most {config['MAX_FORM_PARTS']} parts. "
                "Every error is {\"error\": {\"code\", \"message\"}}."
            ),
        },
        "paths": {
            "/predict": {"post": _predict_operation(batch=False, max_batch_size=max_batch_size)},
            "/predict/batch": {"post": _predict_operation(batch=True, max_batch_size=max_batch_size)},
            "/api/model": {
                "get": {
                    "summary": "The model card",
                    "operationId": "modelCard",
                    "responses": {"200": _json_response("The model card", _ref("ModelCard"))},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "The process is alive",
                    "operationId": "healthz",
                    "responses": {
                        "200": _json_response(
                            "Alive",
                            {
                                "type": "object",
                                "required": ["status"],
                                "additionalProperties": False,
                                "properties": {"status": {"const": "ok"}},
                            },
                        )
                    },
                }
            },
            "/readyz": {
                "get": {
                    "summary": "The model is loaded",
                    "operationId": "readyz",
                    "responses": {
                        "200": _json_response(
                            "Ready to predict",
                            {
                                "type": "object",
                                "required": ["status", "parameter_count"],
                                "additionalProperties": False,
                                "properties": {
                                    "status": {"const": "ready"},
                                    "parameter_count": {"type": "integer", "minimum": 0},
                                },
                            },
                        ),
                        **_error_responses({503: ["not_ready"]}),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {"200": _json_response("OpenAPI 3.1", {"type": "object"})},
                }
            },
        },
        "components": {"schemas": _schemas(max_batch_size)},
    }
