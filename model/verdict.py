"""Is it a digit at all? The verdict on one prediction: "digit", "unsure" or "not_a_digit".

The network always answers one of ten digits, even for a letter, a scribble or a blob.
The verdict rule looks at two things the network already computes for every image:

* ``hidden`` (N, 100), the output of the relu2 layer: how the network describes the
  image just before it picks a class. Training digits of one class lie together there.
  The rule keeps each class's mean and one covariance shared by all classes, fitted on
  training digits, and measures how far an image lies from the nearest class mean in
  that covariance's units: its **Mahalanobis distance** (Lee et al., NeurIPS 2018).
* ``probabilities`` (N, 10): their **entropy** (0 for a sure answer, log 10 when all ten
  are equal; training with outlier exposure pushes non-digits there, Hendrycks et al.,
  ICLR 2019) and their **margin**, the top probability minus the runner-up.

``novelty`` = max(distance / distance_limit, entropy / entropy_limit): above 1, the image
is unlike the training digits ("not_a_digit"). Otherwise a margin below ``margin_limit``
means the network hesitates between classes ("unsure"); else "digit". The limits are
chosen on held-out digits (``calibrate``) so that nearly all of them stay "digit".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from model.network import HIDDEN_LAYER

VERDICTS = ("digit", "unsure", "not_a_digit")
CLASSES = 10

#: Added to the shared covariance's diagonal, as a fraction of its mean variance: some
#: hidden units are almost always 0 on digits, and their tiny variance would make any
#: activity there count as infinitely far.
SHRINKAGE = 0.01


@dataclass(frozen=True)
class Verdict:
    """The verdict on one image and the two scores behind it."""

    label: str  # one of VERDICTS
    novelty: float | None  # ≥ 0; > 1 means not_a_digit; None where it was not measured (MarginRule)
    margin: float  # top probability − runner-up, in [0, 1]


def margins(probabilities: np.ndarray) -> np.ndarray:
    """Top probability minus the runner-up (N,) for probabilities (N, K)."""
    top_two = np.sort(probabilities, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0]


def entropies(probabilities: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats (N,) of each row of probabilities (N, K)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1)


@dataclass
class VerdictRule:
    """Class means and shared precision of the hidden layer, and the three limits."""

    class_means: np.ndarray  # (10, H)
    precision: np.ndarray  # (H, H), the inverse of the shared covariance
    distance_limit: float = 1.0
    entropy_limit: float = float(np.log(CLASSES))
    margin_limit: float = 0.0
    # How the statistics and limits were chosen (data, counts, target acceptance).
    fitted: dict = field(default_factory=dict)

    def distances(self, hidden: np.ndarray) -> np.ndarray:
        """Mahalanobis distance (N,) from each row of hidden (N, H) to the nearest class mean."""
        h = np.asarray(hidden, dtype=np.float64)
        diff = h[:, None, :] - self.class_means[None]  # (N, 10, H)
        squared = np.einsum("nkh,hg,nkg->nk", diff, self.precision, diff)
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))

    def scores(self, probabilities: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(novelty (N,), margin (N,)) for probabilities (N, 10) and hidden (N, H)."""
        probabilities = np.asarray(probabilities, dtype=np.float64)
        novelty = np.maximum(
            self.distances(hidden) / self.distance_limit, entropies(probabilities) / self.entropy_limit
        )
        return novelty, margins(probabilities)

    def label(self, novelty: np.ndarray, margin: np.ndarray) -> np.ndarray:
        """The rule, on the scores (N,): not_a_digit if novelty > 1, else unsure if the margin is
        below its limit, else digit."""
        return np.where(novelty > 1.0, "not_a_digit", np.where(margin < self.margin_limit, "unsure", "digit"))

    def labels(self, probabilities: np.ndarray, hidden: np.ndarray) -> np.ndarray:
        """The verdict (N,) as strings, for probabilities (N, 10) and hidden (N, H)."""
        return self.label(*self.scores(probabilities, hidden))

    def judge(self, probabilities: np.ndarray, hidden: np.ndarray) -> list[Verdict]:
        """One Verdict per image, from its probabilities (N, 10) and relu2 output (N, H)."""
        novelty, margin = self.scores(probabilities, hidden)
        verdicts = zip(self.label(novelty, margin), novelty, margin, strict=True)
        return [Verdict(str(label), float(n), float(m)) for label, n, m in verdicts]

    def describe(self) -> dict:
        """The rule in words and numbers: the model card's "verdict_rule"."""
        return {
            "verdicts": list(VERDICTS),
            "layer": HIDDEN_LAYER,
            "novelty": "max(Mahalanobis distance of the relu2 output to the nearest class mean (shared "
            "covariance) / distance_limit, entropy of the probabilities in nats / entropy_limit)",
            "margin": "top probability − runner-up",
            "rule": "not_a_digit if novelty > novelty_limit, "
            "else unsure if margin < margin_limit, else digit",
            "novelty_limit": 1.0,
            "distance_limit": round(float(self.distance_limit), 4),
            "entropy_limit": round(float(self.entropy_limit), 4),
            "margin_limit": round(float(self.margin_limit), 4),
            "fitted": self.fitted,
        }

    # --- inside the checkpoint: plain arrays and one JSON string, never pickle ---------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        limits = {"distance_limit": self.distance_limit, "entropy_limit": self.entropy_limit,
                  "margin_limit": self.margin_limit, "fitted": self.fitted}
        return {
            "class_means": np.asarray(self.class_means, dtype=np.float64),
            "precision": np.asarray(self.precision, dtype=np.float64),
            "limits": np.array(json.dumps(limits)),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> VerdictRule:
        """The rule back from ``to_arrays``; ValueError/KeyError if the arrays do not make one."""
        limits = json.loads(arrays["limits"].item())
        means = np.asarray(arrays["class_means"], dtype=np.float64)
        precision = np.asarray(arrays["precision"], dtype=np.float64)
        h = means.shape[-1]
        if means.shape != (CLASSES, h) or precision.shape != (h, h):
            raise ValueError(f"class means {means.shape} and precision {precision.shape} do not fit")
        values = [float(limits[k]) for k in ("distance_limit", "entropy_limit", "margin_limit")]
        if not (np.isfinite(means).all() and np.isfinite(precision).all() and np.isfinite(values).all()):
            raise ValueError("the verdict rule holds NaN or infinity")
        if values[0] <= 0 or values[1] <= 0:
            raise ValueError("the verdict rule's limits must be positive")
        return cls(means, precision, *values, fitted=dict(limits.get("fitted", {})))


@dataclass(frozen=True)
class MarginRule:
    """The margin test of a VerdictRule alone: "digit" or "unsure", never "not_a_digit", and no
    novelty (None).

    For a network the rule was not fitted on, such as an earlier snapshot of the same training
    (``model.replay``): the class means and limits describe the final network's hidden units,
    which mean something else in another network, so novelty would be meaningless there. The
    margin reads the probabilities alone, so it is kept, with the final rule's limit.
    """

    margin_limit: float

    def judge(self, probabilities: np.ndarray, hidden: np.ndarray | None = None) -> list[Verdict]:
        """One Verdict per row of probabilities (N, 10); ``hidden`` is not read."""
        margin = margins(np.asarray(probabilities, dtype=np.float64))
        return [Verdict("unsure" if m < self.margin_limit else "digit", None, float(m)) for m in margin]

    def describe(self) -> dict:
        return {"verdicts": ["digit", "unsure"], "margin": "top probability − runner-up",
                "rule": "unsure if margin < margin_limit, else digit", "margin_limit": self.margin_limit}


def fit_class_statistics(hidden: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class means (10, H) and the shared precision (H, H) of hidden (N, H) with labels (N,)."""
    h = np.asarray(hidden, dtype=np.float64)
    labels = np.asarray(labels)
    means = np.stack([h[labels == k].mean(axis=0) for k in range(CLASSES)])
    centred = h - means[labels]
    covariance = centred.T @ centred / len(h)
    covariance += SHRINKAGE * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
    return means, np.linalg.inv(covariance)


def calibrate(
    rule: VerdictRule,
    probabilities: np.ndarray,
    hidden: np.ndarray,
    outlier_probabilities: np.ndarray | None = None,
    outlier_hidden: np.ndarray | None = None,
    accept: float = 0.993,
    novel_share: float = 0.005,
    max_margin_limit: float = 0.5,
    splits: int = 11,
) -> VerdictRule:
    """Set the rule's limits on held-out digits (probabilities (N, 10), hidden (N, H)).

    At most ``novel_share`` of the held-out digits may come out "not_a_digit". That share is
    split between the two scores: the distance limit lets a part of it through, the entropy
    limit the rest. Of ``splits`` splits (the distance's part from none to all of it), the one
    that flags most of the given outliers (non-digit images, ``model.outliers``) is kept;
    without outliers, half each. Then the margin limit is the largest, up to
    ``max_margin_limit``, that still leaves at least ``accept`` of the held-out digits "digit".
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    distance, entropy = rule.distances(hidden), entropies(probabilities)

    def limits(distance_part: float) -> tuple[float, float]:
        distance_limit = float(np.quantile(distance, 1 - distance_part))
        near = distance <= distance_limit
        # What the distance leaves of the share, as a fraction of the digits it keeps.
        left = max(novel_share - (1 - near.mean()), 0.0) / near.mean()
        return distance_limit, float(np.quantile(entropy[near], 1 - left))

    parts = np.linspace(0.0, novel_share, splits)
    flagged = None
    if outlier_probabilities is not None and outlier_hidden is not None and len(outlier_hidden):
        outlier_distance = rule.distances(outlier_hidden)
        outlier_entropy = entropies(np.asarray(outlier_probabilities, dtype=np.float64))
        shares = []
        for part in parts:
            d, e = limits(part)
            shares.append(float(((outlier_distance > d) | (outlier_entropy > e)).mean()))
        best = int(np.argmax(shares))
        part, flagged = parts[best], shares[best]
    else:
        part = novel_share / 2
    rule.distance_limit, rule.entropy_limit = limits(part)
    novelty, margin = rule.scores(probabilities, hidden)
    familiar = novelty <= 1.0
    # Unsure costs at most the acceptance left after the novelty limits.
    allowed = max(int(np.floor(familiar.sum() - accept * len(margin))), 0)
    candidates = np.sort(margin[familiar])
    limit = candidates[allowed] if allowed < len(candidates) else 1.0
    rule.margin_limit = float(min(max_margin_limit, limit))
    rule.fitted = {
        **rule.fitted,
        "calibration": {
            "accept": accept, "novel_share": novel_share, "max_margin_limit": max_margin_limit,
            "distance_share": round(float(part), 5),
            "outliers": 0 if flagged is None else len(outlier_hidden),
            "outliers_flagged": None if flagged is None else round(flagged, 4),
        },
    }
    return rule
