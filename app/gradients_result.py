"""``include=gradients``: one backward pass and a few SGD steps on the request's image
(``model.lesson``), as the JSON the API answers with, rounded like the rest of the result.

    {"label": 9, "learning_rate": 0.001, "steps": 1, "loss": 11.07,
     "scores": [10], "hidden": [100], "filters": [30][5][5], "input": [28][28],
     "after": {"probabilities": [10], "filter_change": [30],
               "sample_accuracy": {"before": 0.99, "after": 0.981, "digits": 1000}}}
"""

from __future__ import annotations

import numpy as np

from app.gradients_request import GradientsRequest
from app.responses import PROBABILITY_DIGITS, rounded, saliency_values, significant
from model.lesson import Lesson, teach
from model.network import Network
from model.sample import Sample


def _probabilities(values: np.ndarray) -> list[float]:
    """float64 and renormalised, as the answer's: the rounded values still sum to 1."""
    values = np.asarray(values, dtype=np.float64)
    return significant(values / values.sum(), PROBABILITY_DIGITS)


def gradients_result(lesson: Lesson, sample_size: int) -> dict:
    """The lesson as JSON: the first convolution's filters and the input have one channel, shown
    as (30, 5, 5) and (28, 28); gradients keep 4 significant digits of their largest magnitude."""
    gradients = lesson.gradients
    before, after = lesson.sample_accuracy
    return {
        "label": lesson.label,
        "learning_rate": lesson.learning_rate,
        "steps": lesson.steps,
        "loss": rounded(gradients.loss),
        "scores": significant(gradients.scores),
        "hidden": significant(gradients.hidden),
        "filters": saliency_values(gradients.filters[:, 0]),
        "input": saliency_values(gradients.input[0]),
        "after": {
            "probabilities": _probabilities(lesson.probabilities_after),
            "filter_change": significant(lesson.filter_change),
            "sample_accuracy": {"before": round(before, 6), "after": round(after, 6), "digits": sample_size},
        },
    }


def gradients(network: Network, image: np.ndarray, request: GradientsRequest, answer: int,
              sample: Sample) -> dict:
    """The lesson of ``image`` (28, 28) in [0, 1] on ``network`` (never changed), its true digit
    ``request.label`` or, when none was given, the network's ``answer``."""
    label = answer if request.label is None else request.label
    lesson = teach(network, image, label, request.learning_rate, request.steps, sample)
    return gradients_result(lesson, len(sample))
