"""The network behind the API: loaded once per process with its verdict rule, run on batches of
MNIST-form images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model import checkpoint
from model.network import Network, output_shapes
from model.saliency import input_gradients
from model.verdict import Verdict, VerdictRule

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
    hidden: np.ndarray  # (100,) the hidden layer after its ReLU (relu2)
    logits: np.ndarray  # (10,) the scores before softmax (affine2)
    verdict: Verdict  # digit, unsure or not_a_digit, and its scores
    # With saliency: d(logit[digit] − logit[versus]) / d input, (28, 28); versus None when the
    # answer's score alone was taken (none asked for, or the answer is that class).
    saliency: np.ndarray | None = None
    versus: int | None = None


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
        elif seen_convolution:  # the maps end where another kind of layer takes them
            break
    return maps_layer, pooled_layer


def output_layers(spec: dict) -> tuple[str, str]:
    """Names of the hidden layer the verdict reads and of the scores layer: the spec must end with
    a ReLU and an Affine layer (the default spec: ("relu2", "affine2")). CheckpointError if not."""
    layers = spec["layers"]
    hidden, logits = (layers[-2], layers[-1]) if len(layers) >= 2 else ({}, {})
    if (hidden.get("type"), logits.get("type")) != ("Relu", "Affine"):
        raise checkpoint.CheckpointError(
            "the network must end with a Relu and an Affine layer: the verdict reads the hidden units"
        )
    return hidden["name"], logits["name"]


class Predictor:
    """A trained network, its verdict rule and its model card; ``predict`` is thread-safe."""

    def __init__(self, network: Network, verdict_rule: VerdictRule, card: dict | None = None):
        if tuple(network.spec["input_shape"]) != (1, *IMAGE_SHAPE):
            raise checkpoint.CheckpointError(
                f"the network reads {network.spec['input_shape']} images, the API sends (1, 28, 28)"
            )
        self.network = network
        self.verdict_rule = verdict_rule
        self.maps_layer, self.pooled_layer = feature_layers(network.spec)
        self._feature_layers = tuple(name for name in (self.maps_layer, self.pooled_layer) if name)
        self.hidden_layer, self.logits_layer = output_layers(network.spec)
        hidden_units = dict(output_shapes(network.spec))[self.hidden_layer]
        if tuple(verdict_rule.class_means.shape[1:]) != hidden_units:
            raise checkpoint.CheckpointError(
                f"the verdict rule reads {verdict_rule.class_means.shape[1]} hidden units, "
                f"the network's {self.hidden_layer} has {hidden_units}"
            )
        self.card = dict(card or {})
        # What the card does not say, the spec does; the rule described is the one applied.
        self.card.setdefault("architecture", architecture(network))
        self.card.setdefault("parameter_count", int(network.parameter_count))
        self.card["verdict_rule"] = verdict_rule.describe()
        self._add_filter_bias()

    def _add_filter_bias(self) -> None:
        """The card's filters (written by training: weights only) gain the layer's biases from the
        weights served, (FN,) rounded like the weights: the page's receptive field adds a filter's
        bias to its 25 products to reach the map value."""
        filters = self.card.get("filters")
        layer = filters.get("layer") if isinstance(filters, dict) else None
        bias = self.network.params.get(f"{layer}.b")
        if bias is not None and "bias" not in filters:
            self.card["filters"] = {**filters, "bias": [float(f"{b:.6g}") for b in bias.tolist()]}

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> Predictor:
        """Load the weights at ``path``, their verdict rule and the model card beside them
        (CheckpointError if unusable)."""
        return cls(checkpoint.load(path), checkpoint.load_verdict_rule(path), checkpoint.load_card(path))

    def predict(
        self, images: np.ndarray, feature_maps: bool = False, saliency: bool = False,
        versus: int | None = None,
    ) -> list[Prediction]:
        """One Prediction per image of ``images`` (N, 28, 28) float32 in [0, 1], white ink on black,
        each with its verdict, hidden units and scores.

        With ``feature_maps``, each Prediction holds the activation maps of ``maps_layer``
        (e.g. relu1: (30, 24, 24)) and ``pooled_layer`` (pool1: (30, 12, 12)). With ``saliency``,
        the gradient of its answer's score (minus the score of ``versus``) with respect to the image.
        """
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise ValueError(f"images must be (N, 28, 28), not {images.shape}")
        keep = (*(self._feature_layers if feature_maps else ()), self.hidden_layer, self.logits_layer)
        probabilities, activations = self.network.predict(images[:, np.newaxis], keep=keep)
        hidden, logits = activations.pop(self.hidden_layer), activations.pop(self.logits_layer)
        # float64 and renormalised, so the rounded values in a response still sum to 1.
        probabilities = probabilities.astype(np.float64)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        digits = probabilities.argmax(axis=1).tolist()
        verdicts = self.verdict_rule.judge(probabilities, hidden)
        # Comparing the answer with itself would give zeros: its own score is taken instead.
        compared = [None if versus == digit else versus for digit in digits]
        gradients = input_gradients(self.network, images, digits, compared) if saliency else None
        return [
            Prediction(
                probabilities=probabilities[i],
                digit=digit,
                confidence=float(probabilities[i, digit]),
                activations={name: activation[i] for name, activation in activations.items()},
                hidden=hidden[i],
                logits=logits[i],
                verdict=verdicts[i],
                saliency=None if gradients is None else gradients[i],
                versus=compared[i] if saliency else None,
            )
            for i, digit in enumerate(digits)
        ]
