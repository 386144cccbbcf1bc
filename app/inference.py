"""The network behind the API: loaded once per process with its verdict rule, run on batches of
MNIST-form images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model import checkpoint
from model.network import (
    FILTERS_LAYER,
    HIDDEN_LAYER,
    LOGITS_LAYER,
    MAPS_LAYER,
    POOLED_LAYER,
    Network,
    architecture,
)
from model.saliency import input_gradients
from model.verdict import MarginRule, Verdict, VerdictRule

IMAGE_SHAPE = (28, 28)


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


class Predictor:
    """A trained network, its verdict rule and its model card; ``predict`` is thread-safe."""

    # The layers the answer reads (named beside the default spec in model.network).
    filters_layer, maps_layer, pooled_layer = FILTERS_LAYER, MAPS_LAYER, POOLED_LAYER
    hidden_layer, logits_layer = HIDDEN_LAYER, LOGITS_LAYER

    def __init__(self, network: Network, verdict_rule: VerdictRule | MarginRule, card: dict | None = None):
        if tuple(network.spec["input_shape"]) != (1, *IMAGE_SHAPE):
            raise checkpoint.CheckpointError(
                f"the network reads {network.spec['input_shape']} images, the API sends (1, 28, 28)"
            )
        last_two = [(entry["name"], entry["type"]) for entry in network.spec["layers"][-2:]]
        if last_two != [(HIDDEN_LAYER, "Relu"), (LOGITS_LAYER, "Affine")]:
            raise checkpoint.CheckpointError(
                f"the network must end with a Relu and an Affine layer ({HIDDEN_LAYER}, {LOGITS_LAYER}): "
                "the verdict reads the hidden units"
            )
        hidden_units = network.params[f"{LOGITS_LAYER}.W"].shape[0]
        # A MarginRule (a snapshot of training, app.replay) reads no hidden units.
        if isinstance(verdict_rule, VerdictRule) and verdict_rule.class_means.shape[1] != hidden_units:
            raise checkpoint.CheckpointError(
                f"the verdict rule reads {verdict_rule.class_means.shape[1]} hidden units, "
                f"the network's {HIDDEN_LAYER} has {hidden_units}"
            )
        self.network = network
        self.verdict_rule = verdict_rule
        # The page's maps, where the network has them (a network without pooling has no pool1).
        self._feature_layers = [name for name in (MAPS_LAYER, POOLED_LAYER) if name in network.layer_names]
        self.card = dict(card or {})
        # What the card does not say, the spec does; the rule described is the one applied.
        self.card.setdefault("architecture", architecture(network))
        self.card.setdefault("parameter_count", int(network.parameter_count))
        self.card["verdict_rule"] = verdict_rule.describe()

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

        With ``feature_maps``, each Prediction holds the activation maps of relu1 (30, 24, 24) and
        pool1 (30, 12, 12). With ``saliency``, the gradient of its answer's score (minus the score of
        ``versus``) with respect to the image.
        """
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise ValueError(f"images must be (N, 28, 28), not {images.shape}")
        keep = (*(self._feature_layers if feature_maps else ()), HIDDEN_LAYER, LOGITS_LAYER)
        probabilities, activations = self.network.predict(images[:, np.newaxis], keep=keep)
        hidden, logits = activations.pop(HIDDEN_LAYER), activations.pop(LOGITS_LAYER)
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
