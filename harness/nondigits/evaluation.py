"""Verdicts on the non-digit set, the real-world digits and MNIST test, through the app's own
preprocessing and the committed network and verdict rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from app.preprocessing import PreprocessingError
from harness.preprocessing import preprocess
from model import checkpoint
from model.evaluate import probabilities_and_hidden, to_network_input

MAX_PIXELS = 4096 * 4096  # the app's default MAX_IMAGE_PIXELS
TARGETS = {"nondigits_flagged": 0.80, "realworld_accepted": 0.97, "mnist_accepted": 0.99}


@dataclass
class Tally:
    """Verdicts for one kind of upload: how many images, and how many of each verdict."""

    kind: str
    images: int
    digit: int
    unsure: int
    not_a_digit: int
    refused: int  # the preprocessing found no digit (the API answers 4xx)

    @property
    def flagged(self) -> float:
        """Share not answered as a digit (unsure, not_a_digit or refused)."""
        return 1 - self.digit / max(self.images, 1)

    @property
    def accepted(self) -> float:
        return self.digit / max(self.images, 1)


class Judge:
    """The weights' network and verdict rule, applied to uploads or to MNIST-form images."""

    def __init__(self, weights=checkpoint.DEFAULT_WEIGHTS):
        self.network = checkpoint.load(weights)
        self.rule = checkpoint.load_verdict_rule(weights)

    def verdicts(self, inputs: np.ndarray) -> np.ndarray:
        """Verdicts (N,) for network inputs (N, 1, 28, 28) float32 in [0, 1]."""
        if not len(inputs):
            return np.array([], dtype=str)
        probabilities, hidden = probabilities_and_hidden(self.network, inputs)
        return self.rule.labels(probabilities, hidden)

    def tally(self, kind: str, uploads: Iterable[bytes]) -> Tally:
        """Each upload through harness.preprocessing.preprocess, then the network and the rule."""
        inputs, refused = [], 0
        for data in uploads:
            try:
                inputs.append(preprocess(data, MAX_PIXELS))
            except PreprocessingError:
                refused += 1
        verdicts = self.verdicts(np.asarray(inputs, dtype=np.float32).reshape(-1, 1, 28, 28))
        counts = {v: int((verdicts == v).sum()) for v in ("digit", "unsure", "not_a_digit")}
        return Tally(kind, len(inputs) + refused, refused=refused, **counts)

    def mnist_tally(self, images: np.ndarray) -> Tally:
        """MNIST images (N, 28, 28) uint8 as they are (already in the network's form)."""
        verdicts = self.verdicts(to_network_input(images))
        counts = {v: int((verdicts == v).sum()) for v in ("digit", "unsure", "not_a_digit")}
        return Tally("mnist_test", len(images), refused=0, **counts)


def by_kind(samples) -> dict[str, list[bytes]]:
    """Uploads grouped by their ``kind``, in order of first appearance."""
    groups: dict[str, list[bytes]] = {}
    for sample in samples:
        groups.setdefault(sample.kind, []).append(sample.data)
    return groups


def total(kind: str, tallies: list[Tally]) -> Tally:
    fields = ("images", "digit", "unsure", "not_a_digit", "refused")
    return Tally(kind, *(sum(getattr(t, f) for t in tallies) for f in fields))


def table(tallies: list[Tally], share: str) -> str:
    """A Markdown table of the tallies, with ``share`` ("flagged" or "accepted") as a percentage."""
    lines = [
        f"| kind | images | digit | unsure | not a digit | refused | {share} |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in tallies:
        bold = "**" if t.kind.startswith("all") else ""
        lines.append(
            f"| {bold}{t.kind}{bold} | {t.images} | {t.digit} | {t.unsure} | {t.not_a_digit} | {t.refused} "
            f"| {bold}{100 * getattr(t, share):.1f}%{bold} |"
        )
    return "\n".join(lines)
