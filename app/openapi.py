"""The OpenAPI 3.1 document of the API, built from the app's limits (served at /openapi.json).

The tests validate it against the OpenAPI 3.1 schema and run schemathesis against the app with
it, so it must describe exactly what ``app.api`` accepts and answers.
"""

from __future__ import annotations

from collections.abc import Mapping

from app import convolution_schemas, errors, number_schemas
from app.gradients_schema import QUERY_PARAMETERS as GRADIENTS_PARAMETERS
from app.request_parsing import CLASSES, RAW_IMAGE_TYPES
from app.schemas import (
    BATCH_INCLUDE_LIST_PATTERN,
    INCLUDE_DESCRIPTION,
    INCLUDE_LIST_PATTERN,
    SNAPSHOT_DESCRIPTION,
    VERSUS_DESCRIPTION,
    closed,
    components,
    error_schema,
    ref,
)

# Documented from what the API raises and reads, never listed twice.
ERROR_CODES = {status: errors.codes_for(errors.PREDICT, status) for status in (400, 404, 413, 415, 422, 503)}
BATCH_ERROR_CODES = {status: errors.codes_for(errors.BATCH, status) for status in (400, 404, 413, 415, 503)}
CONVOLVE_ERROR_CODES = {status: errors.codes_for(errors.CONVOLVE, status) for status in (400, 413, 415)}
NUMBER_ERROR_CODES = {status: errors.number_codes(status) for status in (400, 404, 413, 415, 422, 503)}


def _error_responses(codes_by_status: Mapping[int, list[str]]) -> dict:
    descriptions = {
        400: "Malformed request",
        404: "Not there",
        413: "Too large",
        415: "Unsupported Content-Type",
        422: "No digit found in the image (or, for a number, more than it may hold)",
        503: "Busy with large images: retry after the Retry-After seconds",
    }
    return {
        str(status): {
            "description": f"{descriptions[status]}: {', '.join(codes)}",
            "content": {"application/json": {"schema": error_schema(codes)}},
        }
        for status, codes in codes_by_status.items()
    }


def _json_response(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _get(summary: str, operation_id: str, description: str, schema: dict, errors: dict | None = None) -> dict:
    """A GET operation that answers 200 with ``schema`` (or one of the ``errors`` responses)."""
    return {"get": {"summary": summary, "operationId": operation_id,
                    "responses": {"200": _json_response(description, schema), **(errors or {})}}}


def _image_content(multipart_image: dict, json_body: dict, raw: bool) -> dict:
    """The request body's media types: multipart with ``multipart_image``, JSON with
    ``json_body``, and (``raw``) an image file as the body itself."""
    binary = {"type": "string", "format": "binary"}
    content = {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["image"],
                "properties": {
                    "image": {
                        **multipart_image,
                        "description": (
                            "The image file(s) (PNG, JPEG, WebP, GIF), each a file part (with a "
                            "filename); a text part named image is refused, and so is one named "
                            "include, versus, snapshot, label, learning_rate or steps (they go in the "
                            "query string)."
                        ),
                    },
                },
            },
        },
        "application/json": {"schema": json_body},
    }
    if raw:
        for media_type in RAW_IMAGE_TYPES:
            # The bytes decide the format; the Content-Type only has to name one of these.
            content[media_type] = {"schema": {**binary, "description": "The image file itself."}}
    return content


def _query_parameters(one_image: bool) -> list[dict]:
    """include, versus and snapshot, in the query string of every prediction; and, where one image is
    read (/predict), the gradients' label, learning_rate and steps."""
    pattern = INCLUDE_LIST_PATTERN if one_image else BATCH_INCLUDE_LIST_PATTERN
    return [
        {"name": "include", "in": "query", "required": False, "description": INCLUDE_DESCRIPTION,
         "schema": {"type": "string", "pattern": pattern, "examples": ["saliency,layers"]}},
        {"name": "versus", "in": "query", "required": False, "description": VERSUS_DESCRIPTION,
         "schema": {"type": "integer", "minimum": 0, "maximum": CLASSES - 1}},
        {"name": "snapshot", "in": "query", "required": False, "description": SNAPSHOT_DESCRIPTION,
         "schema": {"type": "integer", "minimum": 0}},
        *(GRADIENTS_PARAMETERS if one_image else []),
    ]


def _predict_operation(batch: bool, max_batch_size: int) -> dict:
    parameters = _query_parameters(one_image=not batch)
    binary = {"type": "string", "format": "binary"}
    if batch:
        multipart_image = {"type": "array", "items": binary, "minItems": 1, "maxItems": max_batch_size}
        json_body = ref("BatchJson")
        ok = _json_response(
            "One result per image, in order; an image that failed has an error object in its slot.",
            closed(["results"], {"results": {"type": "array", "items": {"oneOf": [ref("Prediction"),
                                                                               ref("SlotError")]}}}),
        )
        errors = BATCH_ERROR_CODES
    else:
        multipart_image = binary
        json_body = ref("PredictJson")
        ok = _json_response("What the network read", ref("Prediction"))
        errors = ERROR_CODES
    content = _image_content(multipart_image, json_body, raw=not batch)
    return {
        "summary": "Read several handwritten digits" if batch else "Read one handwritten digit",
        "operationId": "predictBatch" if batch else "predict",
        "parameters": parameters,
        "requestBody": {"required": True, "content": content},
        "responses": {"200": ok, **_error_responses(errors)},
    }


def _number_operation() -> dict:
    """POST /predict/number: one image, as /predict takes it, read as a number."""
    binary = {"type": "string", "format": "binary"}
    return {
        "summary": "Read a whole number: each digit found, boxed and read",
        "operationId": "predictNumber",
        "description": number_schemas.NUMBER_DESCRIPTION,
        "parameters": _query_parameters(one_image=False),
        "requestBody": {"required": True, "content": _image_content(binary, ref("NumberJson"), raw=True)},
        "responses": {"200": _json_response("The number read, digit by digit", ref("Number")),
                      **_error_responses(NUMBER_ERROR_CODES)},
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
                "Reads handwritten digits with a small CNN written in NumPy. Every prediction says "
                "whether the image looks like a digit at all (verdict: digit, unsure, not_a_digit; "
                "the rule is in the model card) and, with include=, shows how the network decided: "
                "its feature maps, a saliency map, its hidden layer and scores, the preprocessing "
                "steps, and how one backward pass and a few SGD steps on the image would change it. "
                "Limits: a request body of "
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
            "/predict/number": {"post": _number_operation()},
            "/api/model": _get("The model card", "modelCard", "The model card", ref("ModelCard")),
            "/api/model/misread": _get(
                "The MNIST test digits the model reads wrong", "misreadDigits",
                "Each with its true and predicted digit and its pixels", ref("MisreadDigits"),
                _error_responses({404: ["misread_unavailable"]}),
            ),
            "/api/convolve": {"post": {
                "summary": "The convolution lab: one filter over a small picture, then pooling",
                "operationId": "convolve",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": ref("ConvolveRequest")}}},
                "responses": {"200": _json_response("The map and the pooled map, with their sizes",
                                                    ref("Convolution")),
                              **_error_responses(CONVOLVE_ERROR_CODES)},
            }},
            "/healthz": _get("The process is alive", "healthz", "Alive",
                             closed(["status"], {"status": {"const": "ok"}})),
            "/readyz": _get("The model is loaded", "readyz", "Ready to predict", closed(
                ["status", "parameter_count"],
                {"status": {"const": "ready"}, "parameter_count": {"type": "integer", "minimum": 0}},
            )),
            "/openapi.json": _get("This document", "openapi", "OpenAPI 3.1", {"type": "object"}),
        },
        "components": {"schemas": {**components(max_batch_size), **convolution_schemas.COMPONENTS,
                                   **number_schemas.COMPONENTS}},
    }
