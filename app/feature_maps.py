"""Activation maps in a compact JSON form: one byte per value plus one scale per map.

    {"layer": "relu1", "shape": [30, 24, 24], "dtype": "uint8", "encoding": "base64",
     "data": "<base64 of 30·24·24 bytes, C order>", "scale": [30 floats]}

Decoding: value = byte / 255 · scale[i] for map i, where scale[i] is the largest value of
map i (0 for an all-zero map). The error is at most scale[i] / 510 per value.
"""

from __future__ import annotations

import base64

import numpy as np


def _significant(value: float, digits: int = 6) -> float:
    return float(f"{value:.{digits}g}")


def encode(layer: str, maps: np.ndarray) -> dict:
    """The JSON form of activation maps (C, H, W), which are non-negative (they follow a ReLU).

    Negative values, which a ReLU never produces, are stored as 0.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (C, H, W), not {maps.shape}")
    # Rounded first, so decoding with the published scale reproduces exactly these bytes' meaning.
    scale = [_significant(v) for v in maps.max(axis=(1, 2), initial=0.0).tolist()]
    to_levels = np.array([255.0 / v if v > 0 else 0.0 for v in scale], dtype=np.float32)
    # Negatives to 0; a scale rounded down may put a value a little over 255.
    levels = np.clip(maps * to_levels[:, np.newaxis, np.newaxis], 0.0, 255.0)
    data = np.rint(levels).astype(np.uint8)  # tobytes() writes C order whatever the memory layout
    return {
        "layer": layer,
        "shape": list(maps.shape),
        "dtype": "uint8",
        "encoding": "base64",
        "data": base64.b64encode(data.tobytes()).decode("ascii"),
        "scale": scale,
    }


def decode(encoded: dict) -> np.ndarray:
    """The activation maps (C, H, W) float32 back from ``encode``'s form (to within scale / 510)."""
    shape = tuple(encoded["shape"])
    data = np.frombuffer(base64.b64decode(encoded["data"]), dtype=np.uint8).reshape(shape)
    scale = np.asarray(encoded["scale"], dtype=np.float32).reshape(-1, *([1] * (len(shape) - 1)))
    return (data.astype(np.float32) / 255.0 * scale).astype(np.float32)
