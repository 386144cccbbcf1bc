"""The REST API's routes: parse the request, preprocess, run the network, answer in JSON.

Request parsing lives in ``app.request_parsing``, the three serving steps in ``app.pipeline`` and
``app.responses``; every refusal is an ``ApiError`` answered by ``app.errors.error_response``.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app

from app import convolution_lab, gradients_result, numbers, openapi, pipeline, request_parsing, responses
from app.errors import ApiError, error_body
from app.inference import Predictor
from app.request_parsing import PredictRequest
from model.checkpoint import misread_path

bp = Blueprint("api", __name__)


def _predictor(snapshot: int | None = None) -> Predictor:
    """The served network, or the training snapshot ``snapshot`` (?snapshot=K, app.replay)."""
    return current_app.extensions["replay"].predictor(snapshot)


def _preprocess(request: PredictRequest) -> list[pipeline.NetworkInput | ApiError]:
    return pipeline.preprocess(request.images, current_app.config, current_app.extensions["large_decodes"],
                               steps="steps" in request.include)


def _answer(inputs: list[pipeline.NetworkInput | ApiError], request: PredictRequest) -> list[dict]:
    """One JSON-ready result per preprocessed image: its prediction, or its slot's error."""
    # The served network, or the training snapshot asked for (?snapshot=K): everything below reads it.
    predictor = _predictor(request.snapshot)
    snapshots = current_app.extensions["replay"]
    said = {} if request.snapshot is None else {"snapshot": snapshots.describe(request.snapshot)}
    good = [item for item in inputs if not isinstance(item, ApiError)]
    predictions, inference_ms = pipeline.inference(predictor, good, request)
    next_prediction = iter(predictions)
    return [
        error_body(item.code, item.message) if isinstance(item, ApiError)
        else responses.prediction_result(next(next_prediction), item, predictor, inference_ms,
                                         request.include) | said
        for item in inputs
    ]


@bp.post("/predict")
def predict():
    request = request_parsing.parse_predict()
    [item] = _preprocess(request)
    if isinstance(item, ApiError):
        # The error's traceback will hold this frame; dropping the frame's references to the
        # error and the request leaves no cycle, so the request's input (megabytes of pixels)
        # is freed with the answer rather than at the next garbage collection.
        try:
            raise item
        finally:
            del item, request
    [result] = _answer([item], request)
    if request.gradients is not None:
        result["gradients"] = gradients_result.gradients(
            _predictor(request.snapshot).network, item.image, request.gradients, result["digit"],
            current_app.extensions["mnist_sample"])
    return result


@bp.post("/predict/number")
def predict_number():
    """A whole number: each digit found, boxed and read (app.numbers), by the training snapshot asked for."""
    request = request_parsing.parse_predict()
    result = numbers.read(request, current_app.config, current_app.extensions["large_decodes"],
                          _predictor(request.snapshot))
    if request.snapshot is not None:
        result["snapshot"] = current_app.extensions["replay"].describe(request.snapshot)
    return result


@bp.post("/predict/batch")
def predict_batch():
    request = request_parsing.parse_batch()
    return {"results": _answer(_preprocess(request), request)}


def _cached_json(key: str, build) -> Response:
    """A JSON response whose body is serialised once per app (the model card, the OpenAPI document)."""
    body = current_app.extensions.get(key)
    if body is None:
        body = current_app.extensions[key] = current_app.json.dumps(build())
    return current_app.response_class(body, mimetype="application/json")


@bp.get("/api/model")
def model_card():
    return _cached_json("digit_lens.model_card_json", lambda: _predictor().card)


def _misread_digits() -> dict:
    """The document beside the weights file, as written with them."""
    path = misread_path(current_app.config["WEIGHTS_PATH"])
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ApiError("misread_unavailable", f"no misread test digits beside these weights ({path.name}): "
                       "python -m model.evaluate writes them") from None
    except ValueError:  # not UTF-8 or not JSON
        raise ApiError("misread_unavailable", f"{path.name} beside the weights is not valid JSON") from None


@bp.get("/api/model/misread")
def misread_digits():
    """The MNIST test digits the model reads wrong, with their labels, its answers and pixels."""
    return _cached_json("digit_lens.misread_json", _misread_digits)


@bp.post("/api/convolve")
def convolve():
    """The convolution lab: one filter slid over a small picture, then pooled (app.convolution_lab)."""
    return convolution_lab.convolve_request()


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    # create_app fails without a model: an app that answers has one.
    return {"status": "ready", "parameter_count": _predictor().network.parameter_count}


@bp.get("/openapi.json")
def openapi_document():
    return _cached_json("digit_lens.openapi_json", lambda: openapi.document(current_app.config))
