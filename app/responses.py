"""Postprocess: a Prediction → the JSON-ready result the API answers with, rounding included.

    {"digit": 7, "confidence": 0.99, "probabilities": [10 numbers], "timing_ms": {...},
     "feature_maps": {...}, "pooled_maps": {...}, "input": [28 rows of 28 ints 0-255]}
"""

from __future__ import annotations

import numpy as np

from app import feature_maps
from app.inference import Prediction, Predictor
from app.request_parsing import Failure

# Eight significant digits: short in JSON, and ten of them still sum to 1 within 1e-7.
PROBABILITY_DIGITS = 8


def input_levels(image: np.ndarray) -> list[list[int]]:
    """The (28, 28) image in [0, 1] as 28 rows of 28 ints 0–255 (255 = full ink)."""
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8).tolist()


def prediction_result(
    prediction: Prediction, image: np.ndarray, predictor: Predictor, preprocess_ms: float, inference_ms: float
) -> dict:
    """The result for one image: the prediction, timings, feature maps if computed, and the input."""
    probabilities = [float(f"{p:.{PROBABILITY_DIGITS}g}") for p in prediction.probabilities.tolist()]
    result = {
        "digit": prediction.digit,
        "confidence": probabilities[prediction.digit],
        "probabilities": probabilities,
        "timing_ms": {"preprocess": round(preprocess_ms, 3), "inference": round(inference_ms, 3)},
    }
    maps = prediction.activations.get(predictor.maps_layer)
    if maps is not None:
        result["feature_maps"] = feature_maps.encode(predictor.maps_layer, maps)
    pooled = prediction.activations.get(predictor.pooled_layer)
    if pooled is not None:
        result["pooled_maps"] = feature_maps.encode(predictor.pooled_layer, pooled)
    result["input"] = input_levels(image)
    return result


def failure_result(failure: Failure) -> dict:
    """A batch slot whose image was refused: the API's error shape."""
    return {"error": {"code": failure.code, "message": failure.message}}
