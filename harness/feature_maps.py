"""Activation maps back from the API's compact form (``app.responses.encode_maps``), for the tests
that compare what was sent with the network's own activations."""

from __future__ import annotations

import base64

import numpy as np


def decode(encoded: dict) -> np.ndarray:
    """The activation maps (C, H, W) float32 from their encoded form, to within scale / 510:
    value = byte / 255 · scale[i] for map i."""
    shape = tuple(encoded["shape"])
    data = np.frombuffer(base64.b64decode(encoded["data"]), dtype=np.uint8).reshape(shape)
    scale = np.asarray(encoded["scale"], dtype=np.float32).reshape(-1, *([1] * (len(shape) - 1)))
    return (data.astype(np.float32) / 255.0 * scale).astype(np.float32)
