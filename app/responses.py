"""Postprocess: a Prediction → the JSON-ready result the API answers with, rounding included.

    {"digit": 7, "confidence": 0.99, "probabilities": [10 numbers], "verdict": "digit",
     "verdict_scores": {"novelty": 0.4, "margin": 0.98}, "timing_ms": {...},
     "feature_maps": {...}, "pooled_maps": {...}, "saliency": {...}, "layers": {...},
     "steps": [...], "input": [28 rows of 28 ints 0-255]}

Activation maps travel in a compact form, one byte per value plus one scale per map:

    {"layer": "relu1", "shape": [30, 24, 24], "dtype": "uint8", "encoding": "base64",
     "data": "<base64 of 30·24·24 bytes, C order>", "scale": [30 floats]}

Decoding: value = byte / 255 · scale[i] for map i, where scale[i] is the largest value of
map i (0 for an all-zero map). The error is at most scale[i] / 510 per value.
"""

from __future__ import annotations

import base64
import math

import numpy as np

from app.inference import Prediction, Predictor
from app.pipeline import NetworkInput
from app.preprocessing import Step

# Eight significant digits: short in JSON, and ten of them still sum to 1 within 1e-7.
PROBABILITY_DIGITS = 8
# Scores, hidden units and verdict scores: six significant digits.
VALUE_DIGITS = 6
# Saliency values are kept to this many significant digits of the map's largest magnitude:
# finer steps are invisible in a picture and would only lengthen the response.
SALIENCY_DIGITS = 4


def input_levels(image: np.ndarray) -> list[list[int]]:
    """The (28, 28) image in [0, 1] as 28 rows of 28 ints 0–255 (255 = full ink)."""
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8).tolist()


def rounded(value: float, digits: int = VALUE_DIGITS) -> float:
    """``value`` to ``digits`` significant digits."""
    return float(f"{value:.{digits}g}")


def significant(values, digits: int = VALUE_DIGITS) -> list[float]:
    return [rounded(value, digits) for value in np.asarray(values).tolist()]


def encode_maps(layer: str, maps: np.ndarray) -> dict:
    """The compact JSON form of activation maps (C, H, W), which are non-negative (they follow a
    ReLU): negative values, which a ReLU never produces, are stored as 0."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (C, H, W), not {maps.shape}")
    # Rounded first, so decoding with the published scale reproduces exactly these bytes' meaning.
    scale = significant(maps.max(axis=(1, 2), initial=0.0))
    to_levels = np.array([255.0 / v if v > 0 else 0.0 for v in scale], dtype=np.float32)
    # Negatives to 0; a scale rounded down may put a value a little over 255.
    levels = np.clip(maps * to_levels[:, np.newaxis, np.newaxis], 0.0, 255.0)
    data = np.rint(levels).astype(np.uint8)  # tobytes() writes C order whatever the memory layout
    return {"layer": layer, "shape": list(maps.shape), "dtype": "uint8", "encoding": "base64",
            "data": base64.b64encode(data.tobytes()).decode("ascii"), "scale": scale}


def saliency_values(saliency: np.ndarray) -> list[list[float]]:
    """The (28, 28) saliency as 28 rows of 28 floats, rounded to SALIENCY_DIGITS significant
    digits of its largest magnitude (so small values keep the same absolute precision)."""
    largest = float(np.abs(saliency).max())
    decimals = SALIENCY_DIGITS - 1 - math.floor(math.log10(largest)) if largest > 0 else 0
    values = np.round(saliency.astype(np.float64), decimals) + 0.0  # + 0.0: no "-0.0" in JSON
    return values.tolist()


def step_result(step: Step) -> dict:
    """One preprocessing stage as JSON: its picture as rows of ints 0–255."""
    height, width = step.pixels.shape
    return {"name": step.name, "title": step.title, "width": width, "height": height,
            "pixels": step.pixels.tolist(), "ink": step.ink}


def filters_result(predictor: Predictor) -> dict:
    """The first convolution's filters of the network that answered: weights (FN, FH, FW) as nested
    lists (one input channel) and biases (FN,), to six significant digits."""
    weights = predictor.network.params[f"{predictor.filters_layer}.W"][:, 0]
    bias = predictor.network.params[f"{predictor.filters_layer}.b"]
    return {"layer": predictor.filters_layer,
            "weights": [[significant(row) for row in kernel] for kernel in weights],
            "bias": significant(bias)}


def prediction_result(
    prediction: Prediction, item: NetworkInput, predictor: Predictor, inference_ms: float,
    include: frozenset[str],
) -> dict:
    """The result for one image: the prediction and its verdict, timings, the extras in
    ``include`` that were computed, and the input."""
    probabilities = significant(prediction.probabilities, PROBABILITY_DIGITS)
    verdict = prediction.verdict
    result = {
        "digit": prediction.digit,
        "confidence": probabilities[prediction.digit],
        "probabilities": probabilities,
        "verdict": verdict.label,
        "verdict_scores": {
            "novelty": None if verdict.novelty is None else rounded(max(verdict.novelty, 0.0)),
            "margin": rounded(min(max(verdict.margin, 0.0), 1.0)),
        },
        "timing_ms": {"preprocess": round(item.preprocess_ms, 3), "inference": round(inference_ms, 3)},
    }
    maps = prediction.activations.get(predictor.maps_layer)
    if maps is not None:
        result["feature_maps"] = encode_maps(predictor.maps_layer, maps)
    pooled = prediction.activations.get(predictor.pooled_layer)
    if pooled is not None:
        result["pooled_maps"] = encode_maps(predictor.pooled_layer, pooled)
    if prediction.saliency is not None:
        result["saliency"] = {"target": prediction.digit, "versus": prediction.versus,
                              "values": saliency_values(prediction.saliency)}
    if "layers" in include:
        result["layers"] = {
            "hidden": {"layer": predictor.hidden_layer, "values": significant(prediction.hidden)},
            "logits": {"layer": predictor.logits_layer, "values": significant(prediction.logits)},
        }
    if "filters" in include and f"{predictor.filters_layer}.W" in predictor.network.params:
        result["filters"] = filters_result(predictor)
    if item.steps is not None:
        result["steps"] = [step_result(step) for step in item.steps]
    result["input"] = input_levels(item.image)
    return result
