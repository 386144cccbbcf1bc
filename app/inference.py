"""The network behind the API: loaded once per process, run on batches of MNIST-form images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model import checkpoint
from model.network import Network, output_shapes

IMAGE_SHAPE = (28, 28)
POOLING_TYPES = ("MaxPooling", "AveragePooling")


@dataclass(frozen=True)
class Prediction:
    """What the network made of one image."""

    probabilities: np.ndarray  # (10,) float64, sums to 1
    digit: int  # argmax of probabilities
    confidence: float  # probabilities[digit]
    # Layer name → that layer's output for this image (C, H, W); empty unless asked for.
    activations: dict[str, np.ndarray]


def architecture(network: Network) -> list[dict]:
    """The spec's layers, each with its output shape (C, H, W) and parameter count (the card's form)."""
    sizes = {name: value.size for name, value in network.params.items()}
    layers = []
    for entry, (name, shape) in zip(network.spec["layers"], output_shapes(network.spec), strict=True):
        parameters = sum(size for key, size in sizes.items() if key.startswith(f"{name}."))
        layers.append({**entry, "output_shape": list(shape), "parameters": parameters})
    return layers


def feature_layers(spec: dict) -> tuple[str | None, str | None]:
    """Names of the first convolution's activation map layer and of the pooling layer after it.

    For the default spec: ("relu1", "pool1"). Either is None when the spec has no such layer.
    """
    maps_layer = pooled_layer = None
    seen_convolution = False
    for entry in spec["layers"]:
        kind = entry["type"]
        if kind == "Convolution":
            if seen_convolution:
                break
            seen_convolution = True
            maps_layer = entry["name"]
        elif seen_convolution and kind == "Relu":
            maps_layer = entry["name"]
        elif seen_convolution and kind in POOLING_TYPES:
            pooled_layer = entry["name"]
            break
    return maps_layer, pooled_layer


class Predictor:
    """A trained network and its model card; ``predict`` is thread-safe."""

    def __init__(self, network: Network, card: dict | None = None):
        if tuple(network.spec["input_shape"]) != (1, *IMAGE_SHAPE):
            raise checkpoint.CheckpointError(
                f"the network reads {network.spec['input_shape']} images, the API sends (1, 28, 28)"
            )
        self.network = network
        self.maps_layer, self.pooled_layer = feature_layers(network.spec)
        self._feature_layers = tuple(name for name in (self.maps_layer, self.pooled_layer) if name)
        self.card = dict(card or {})
        # What the card does not say, the spec does.
        self.card.setdefault("architecture", architecture(network))
        self.card.setdefault("parameter_count", int(network.parameter_count))

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> Predictor:
        """Load the weights at ``path`` and the model card beside them (CheckpointError if unusable)."""
        return cls(checkpoint.load(path), checkpoint.load_card(path))

    def predict(self, images: np.ndarray, feature_maps: bool = False) -> list[Prediction]:
        """One Prediction per image of ``images`` (N, 28, 28) float32 in [0, 1], white ink on black.

        With ``feature_maps``, each Prediction holds the activation maps of ``maps_layer``
        (e.g. relu1: (30, 24, 24)) and ``pooled_layer`` (pool1: (30, 12, 12)).
        """
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise ValueError(f"images must be (N, 28, 28), not {images.shape}")
        keep = self._feature_layers if feature_maps else ()
        probabilities, activations = self.network.predict(images[:, np.newaxis], keep=keep)
        # float64 and renormalised, so the rounded values in a response still sum to 1.
        probabilities = probabilities.astype(np.float64)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        digits = probabilities.argmax(axis=1).tolist()
        return [
            Prediction(
                probabilities=probabilities[i],
                digit=digit,
                confidence=float(probabilities[i, digit]),
                activations={name: activation[i] for name, activation in activations.items()},
            )
            for i, digit in enumerate(digits)
        ]
