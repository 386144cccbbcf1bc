"""The OpenAPI side of ``include=gradients`` (/predict only): its three query parameters and the
closed schema of the ``gradients`` field (``app.gradients_result`` builds it)."""

from __future__ import annotations

from app.gradients_request import DEFAULT_LEARNING_RATE, DEFAULT_STEPS, MAX_LEARNING_RATE, MAX_STEPS
from app.schemas import DIGIT, closed, grid

_WITH = "With include=gradients (checked whenever given, used only with it): "
QUERY_PARAMETERS = [
    {"name": "label", "in": "query", "required": False,
     "description": _WITH + "the true digit the network learns from this image. Default: its answer.",
     "schema": DIGIT},
    {"name": "learning_rate", "in": "query", "required": False,
     "description": _WITH + f"the SGD step size. Default {DEFAULT_LEARNING_RATE:g}: one image's gradient "
     "is about a hundred times a training batch's, so 0.01 and more wreck the network in a step.",
     "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_LEARNING_RATE,
                "default": DEFAULT_LEARNING_RATE}},
    {"name": "steps", "in": "query", "required": False,
     "description": _WITH + f"how many SGD steps, each one forward and backward pass. "
     f"Default {DEFAULT_STEPS}.",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_STEPS, "default": DEFAULT_STEPS}},
]

_NUMBERS = {"type": "number"}
GRADIENTS = closed(
    ["label", "learning_rate", "steps", "loss", "scores", "hidden", "filters", "input", "after"],
    {
        "label": {**DIGIT, "description": "The true digit taught: the label parameter, else the answer."},
        "learning_rate": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_LEARNING_RATE},
        "steps": {"type": "integer", "minimum": 1, "maximum": MAX_STEPS},
        "loss": {"type": "number", "minimum": 0,
                 "description": "The cross-entropy -log(p[label] + 1e-7) (1e-7: the textbook's guard "
                                "against log 0)."},
        "scores": {"type": "array", "minItems": 10, "maxItems": 10, "items": _NUMBERS,
                   "description": "dLoss/dScore for the 10 scores before softmax: probabilities minus "
                                  "the one-hot label."},
        "hidden": {"type": "array", "items": _NUMBERS,
                   "description": "dLoss/d(each hidden unit after its ReLU) (relu2: 100 values)."},
        "filters": {"type": "array", "items": grid(None, None, _NUMBERS, "One filter's rows."),
                    "description": "dLoss/dWeight for the first convolution's filters: 30 of 5x5, 4 "
                                   "significant digits of the largest magnitude."},
        "input": grid(28, 28, _NUMBERS, "dLoss/d(each input pixel): the same kind of gradient as the "
                       "saliency (which is of a score, not the loss). 4 significant digits of the largest "
                       "magnitude."),
        "after": closed(
            ["probabilities", "filter_change", "sample_accuracy"],
            {
                "probabilities": {"type": "array", "minItems": 10, "maxItems": 10,
                                  "items": {"type": "number", "minimum": 0, "maximum": 1},
                                  "description": "This image's probabilities after the steps."},
                "filter_change": {"type": "array", "items": {"type": "number", "minimum": 0},
                                  "description": "How far each filter moved: the L2 norm of its weights' "
                                                 "change (30 values)."},
                "sample_accuracy": closed(
                    ["before", "after", "digits"],
                    {"before": {"type": "number", "minimum": 0, "maximum": 1},
                     "after": {"type": "number", "minimum": 0, "maximum": 1},
                     "digits": {"type": "integer", "minimum": 1,
                                "description": "How many MNIST test digits (the first) the sample holds."}},
                    description="The share of a fixed sample of MNIST test digits read right, before and "
                                "after the steps.",
                ),
            },
            description="After `steps` SGD steps on a copy of the network (the served one never changes).",
        ),
    },
    description=(
        "With include=gradients: one backward pass through the network's textbook layers for this image "
        "and its true digit, then SGD steps with the project's own optimizer. /predict only."
    ),
)
