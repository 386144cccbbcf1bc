"""The JSON schemas of the OpenAPI document's components: what the API reads and answers.

Every response schema is closed (``additionalProperties: false``), so a field the code adds
without documenting it fails the tests that validate real responses against these schemas.
"""

from __future__ import annotations

from app import errors
from app.preprocessing.steps import STEP_MAX_SIDE, TITLES
from app.request_parsing import CLASSES, INCLUDE_OPTIONS, MAX_INCLUDE_VALUES
from model.verdict import VERDICTS

# What one image of a batch can fail with, reported in its slot of the results.
SLOT_ERROR_CODES = errors.codes_for(errors.SLOT)


def _include_pattern(options) -> str:
    """include in the query string: a comma list of the options, duplicates allowed."""
    name = f"({'|'.join(options)})"
    return f"^{name}(,{name}){{0,{MAX_INCLUDE_VALUES - 1}}}$"


INCLUDE_LIST_PATTERN = _include_pattern(INCLUDE_OPTIONS)
# gradients is for /predict alone: a batch asking for it is refused.
BATCH_INCLUDE_LIST_PATTERN = _include_pattern([name for name in INCLUDE_OPTIONS if name != "gradients"])
INCLUDE_DESCRIPTION = (
    "Extras for each result, a comma list: feature_maps (feature_maps and pooled_maps), saliency, "
    f"layers, steps, gradients (/predict only), filters; at most {MAX_INCLUDE_VALUES} names, duplicates "
    "harmless. Each costs per image: a batch with extras costs about what its images sent one by one with "
    "them would. In the query string only: a body that carries include, versus, snapshot or a parameter of "
    "gradients is refused (400 invalid_parameter)."
)
VERSUS_DESCRIPTION = (
    "With include=saliency: the digit to compare the answer with (\"why 7 and not 1?\"); the saliency "
    "is then d(logit[answer] - logit[versus]) / d(input). Ignored (versus: null in the result) for an "
    "image whose answer is that digit, and without include=saliency."
)
SNAPSHOT_DESCRIPTION = (
    "Answer with the network as it was at this moment of its training: an index into GET /api/model's "
    "replay (0 = the random start, the last = the served weights, which is also the default). Every "
    "include works, and the result says which snapshot answered (snapshot). An earlier snapshot's "
    "verdict is the margin test alone: digit or unsure, never not_a_digit, novelty null (the verdict "
    "rule describes the served network's hidden units). 400 invalid_parameter for an index outside "
    "the replay (the message names the range); 404 replay_unavailable for weights without a replay."
)
DIGIT = {"type": "integer", "minimum": 0, "maximum": CLASSES - 1}
# A JSON body never names include, versus, snapshot or the gradients' parameters: they go in the query string.
NOT_EXTRAS = {"not": {"enum": ["include", "versus", "snapshot", "label", "learning_rate", "steps"]}}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def closed(required: list[str], properties: dict, **extra) -> dict:
    """An object schema with exactly ``properties``, of which ``required`` must be there."""
    return {"type": "object", **extra, "required": required, "additionalProperties": False,
            "properties": properties}


def error_schema(codes: list[str]) -> dict:
    """The one error shape, with one of ``codes``."""
    return closed(["error"], {"error": closed(["code", "message"], {
        "code": {"type": "string", "enum": codes}, "message": {"type": "string"}})})


def grid(rows: int | None, columns: int | None, items: dict, description: str) -> dict:
    """Rows of numbers: ``rows`` × ``columns`` exactly where given."""
    def sized(count: int | None) -> dict:
        return {} if count is None else {"minItems": count, "maxItems": count}

    return {"type": "array", "description": description, **sized(rows),
            "items": {"type": "array", **sized(columns), "items": items}}


LEVEL = {"type": "integer", "minimum": 0, "maximum": 255}
ENCODED_MAPS = closed(
    ["layer", "shape", "dtype", "encoding", "data", "scale"],
    {
        "layer": {"type": "string", "examples": ["relu1"]},
        "shape": {
            "type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 3, "maxItems": 3,
            "description": "[maps, height, width], e.g. [30, 24, 24]",
        },
        "dtype": {"const": "uint8"},
        "encoding": {"const": "base64"},
        "data": {
            "type": "string", "contentEncoding": "base64",
            "description": "maps * height * width bytes in C order",
        },
        "scale": {"type": "array", "items": {"type": "number", "minimum": 0}},
    },
    description=(
        "Activation maps, one byte per value. Decoding: value = byte / 255 * scale[i] for map i; "
        "scale[i] is the largest value of map i (0 for an all-zero map)."
    ),
)
SALIENCY = closed(
    ["target", "versus", "values"],
    {
        "target": {**DIGIT, "description": "The answer's digit, whose score the gradient is of."},
        "versus": {"type": ["integer", "null"], "minimum": 0, "maximum": CLASSES - 1,
                   "description": "The digit compared with, or null: the answer's score alone."},
        "values": grid(28, 28, {"type": "number"},
                        "28 rows of 28 signed numbers, one per input pixel (input in [0, 1], white "
                        "ink = 1): positive where more ink would raise the answer's score (over "
                        "versus's), negative where it would lower it. Rounded to 4 significant "
                        "digits of the largest magnitude."),
    },
    description=(
        "With include=saliency: the gradient of the answer's score before softmax (minus the versus "
        "digit's score) with respect to each input pixel, from the NumPy network's own backward pass "
        "through its textbook layers."
    ),
)


def _layer_values(units: int | None, description: str, minimum: float | None = None) -> dict:
    items = {"type": "number"} if minimum is None else {"type": "number", "minimum": minimum}
    sized = {} if units is None else {"minItems": units, "maxItems": units}
    return closed(["layer", "values"], {
        "layer": {"type": "string", "description": "The layer's name in the architecture."},
        "values": {"type": "array", **sized, "items": items},
    }, description=description)


LAYERS = closed(
    ["hidden", "logits"],
    {
        "hidden": _layer_values(None, "The hidden units after their ReLU (relu2: 100 values, all >= 0).",
                                minimum=0),
        "logits": _layer_values(CLASSES, "The 10 scores before softmax (affine2): probabilities = "
                                "softmax(values)."),
    },
    description="With include=layers: the rest of the path after the feature maps.",
)
STEP = closed(
    ["name", "title", "width", "height", "pixels", "ink"],
    {
        "name": {"type": "string", "enum": list(TITLES)},
        "title": {"type": "string"},
        "width": {"type": "integer", "minimum": 1, "maximum": STEP_MAX_SIDE},
        "height": {"type": "integer", "minimum": 1, "maximum": STEP_MAX_SIDE},
        "pixels": grid(None, None, LEVEL, "height rows of width levels 0-255."),
        "ink": {"type": "string", "enum": ["dark", "light"],
                "description": "dark: dark ink on light paper; light: 255 = full ink, on black."},
    },
    description="One preprocessing stage as a small grey picture.",
)
STEPS = {
    "type": "array", "minItems": 1, "maxItems": len(TITLES), "items": ref("Step"),
    "description": (
        "With include=steps: the preprocessing stages in order: received (the upload, reduced to at "
        f"most {STEP_MAX_SIDE} px), ink (the ink found), cropped (cropped, strokes normalised), "
        "fitted (20x20 box), centred (28x28 by mass: the network input). A pixel array is already "
        "the network input: centred only."
    ),
}
VERDICT_SCORES = closed(
    ["novelty", "margin"],
    {
        "novelty": {"type": ["number", "null"], "minimum": 0,
                    "description": "How unlike the training digits the image is: not_a_digit above 1. "
                                   "null for an earlier snapshot of training (?snapshot=), whose verdict "
                                   "is the margin test alone."},
        "margin": {"type": "number", "minimum": 0, "maximum": 1,
                   "description": "Top probability minus the runner-up: unsure below the rule's "
                                  "margin_limit (GET /api/model, verdict_rule)."},
    },
)
PREDICTION = closed(
    ["digit", "confidence", "probabilities", "verdict", "verdict_scores", "input", "timing_ms"],
    {
        "digit": DIGIT,
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "probabilities": {
            "type": "array", "minItems": 10, "maxItems": 10,
            "items": {"type": "number", "minimum": 0, "maximum": 1},
            "description": "Probability of each digit 0-9; they sum to 1.",
        },
        "verdict": {
            "type": "string", "enum": list(VERDICTS),
            "description": (
                "digit; unsure (a digit, but the network hesitates between classes); not_a_digit "
                "(nothing like the digits it was trained on). digit and probabilities are given "
                "whatever the verdict."
            ),
        },
        "verdict_scores": VERDICT_SCORES,
        "input": grid(28, 28, LEVEL, "The 28x28 image the network saw: white ink on black, 255 = full ink."),
        "timing_ms": closed(
            ["preprocess", "inference"],
            {"preprocess": {"type": "number", "minimum": 0}, "inference": {"type": "number", "minimum": 0}},
            description=(
                "Milliseconds spent decoding and preprocessing this image, and running the network "
                "on it, backward too for a saliency (in a batch: the batch's network time divided "
                "by its images)."
            ),
        ),
        "feature_maps": {
            **ref("EncodedMaps"),
            "description": "With include=feature_maps: the first convolution's maps after ReLU.",
        },
        "pooled_maps": {**ref("EncodedMaps"),
                        "description": "With include=feature_maps: those maps after max pooling."},
        "saliency": ref("Saliency"),
        "layers": ref("Layers"),
        "steps": ref("Steps"),
        "gradients": ref("Gradients"),
        "filters": ref("Filters"),
        "snapshot": ref("Snapshot"),
    },
)
# One moment of training, as the model card lists it (model.replay.Snapshot.describe).
_MOMENT = {
    "step": {"type": "integer", "minimum": 0,
             "description": "Training steps (batches) done; 0 = the random start."},
    "epoch": {"type": "number", "minimum": 0, "description": "Epochs done: step / steps per epoch."},
    "test_accuracy": {"type": "number", "minimum": 0, "maximum": 1,
                      "description": "Accuracy on the MNIST test digits at that moment."},
    "test_loss": {"type": "number", "minimum": 0,
                  "description": "Mean cross-entropy of the MNIST test digits at that moment."},
}
REPLAY = {
    "type": "array", "minItems": 1,
    "items": closed(list(_MOMENT), _MOMENT),
    "description": (
        "The training replay: snapshots of every parameter at about a dozen moments of training, in "
        "order, the first the random start (step 0), the last the served weights. POST "
        "/predict?snapshot=K answers with snapshot K."
    ),
}
SNAPSHOT = closed(
    ["index", *_MOMENT, "served", "verdict"],
    {
        "index": {"type": "integer", "minimum": 0, "description": "The index into the model card's replay."},
        **_MOMENT,
        "served": {"type": "boolean", "description": "true for the last snapshot: the served weights."},
        "verdict": {"type": "string", "description": "What the verdict of this answer is, in a sentence."},
    },
    description="With ?snapshot=K: which moment of training answered.",
)
_WEIGHT = {"type": "number"}
FILTERS = closed(
    ["layer", "weights", "bias"],
    {
        "layer": {"type": "string", "examples": ["conv1"]},
        "weights": {"type": "array", "items": grid(None, None, _WEIGHT, "A filter's rows of weights."),
                    "description": "[filters][height][width], e.g. 30 filters of 5x5 weights."},
        "bias": {"type": "array", "items": _WEIGHT, "description": "One bias per filter."},
    },
    description=(
        "With include=filters: the first convolution's weights and biases in the network that answered "
        "(with ?snapshot=K, as they were at that moment of training), to 6 significant digits."
    ),
)
VERDICT_RULE = closed(
    ["verdicts", "novelty_limit", "margin_limit"],
    {
        "verdicts": {"type": "array", "items": {"type": "string", "enum": list(VERDICTS)}},
        "layer": {"type": "string"},
        "novelty": {"type": "string", "description": "How novelty is computed."},
        "margin": {"type": "string", "description": "How margin is computed."},
        "rule": {"type": "string", "description": "The rule in words."},
        "novelty_limit": {"type": "number", "minimum": 0, "description": "not_a_digit above this."},
        "distance_limit": {"type": "number", "minimum": 0},
        "entropy_limit": {"type": "number", "minimum": 0},
        "margin_limit": {"type": "number", "minimum": 0, "maximum": 1, "description": "unsure below this."},
        "fitted": {"type": "object", "description": "On which data the rule and its limits were fitted."},
    },
    description="How each prediction's verdict is decided from its verdict_scores.",
)
MISREAD_DIGITS = closed(
    ["count", "digits"],
    {
        "count": {"type": "integer", "minimum": 0,
                  "description": "How many there are: the off-diagonal sum of the card's confusion matrix."},
        "digits": {
            "type": "array",
            "items": closed(["index", "label", "predicted", "pixels"], {
                "index": {"type": "integer", "minimum": 0, "description": "Index in the MNIST test set."},
                "label": {**DIGIT, "description": "The true digit."},
                "predicted": {**DIGIT, "description": "What the model read."},
                "pixels": grid(28, 28, LEVEL, "28 rows of 28 levels, 255 = ink (MNIST form)."),
            }),
        },
    },
    description="The MNIST test digits the model reads wrong, written with its weights.",
)


def components(max_batch_size: int) -> dict:
    """The document's components/schemas for an app whose batches hold up to ``max_batch_size``."""
    from app.gradients_schema import GRADIENTS  # it builds on this module's helpers

    return {
        "Pixels": grid(28, 28, {"type": "number", "minimum": 0, "maximum": 255},
                        "28 rows of 28 numbers, 0-1 or 0-255, white ink on black (MNIST form)."),
        "ImageString": {
            "type": "string",
            "description": "An image file as a data URL (any media type) or as plain or URL-safe base64.",
            "examples": ["data:image/png;base64,iVBORw0KGgo..."],
        },
        "PredictJson": {
            "type": "object",
            "description": "Exactly one of image and pixels.",
            "properties": {"image": ref("ImageString"), "pixels": ref("Pixels")},
            "propertyNames": NOT_EXTRAS,
            "oneOf": [{"required": ["image"]}, {"required": ["pixels"]}],
        },
        "BatchJson": {
            "type": "object",
            "required": ["images"],
            "propertyNames": NOT_EXTRAS,
            "properties": {
                "images": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_batch_size,
                    "items": {
                        "description": (
                            "A data URL or base64 string, {\"image\": <data URL or base64>} or "
                            "{\"pixels\": <28x28 array>}. An entry that is none of these, or whose "
                            "image cannot be read, gets an error object in its slot of the results."
                        ),
                        "examples": ["data:image/png;base64,iVBORw0KGgo...", {"pixels": [[0]]}],
                    },
                },
            },
        },
        "EncodedMaps": ENCODED_MAPS,
        "Saliency": SALIENCY,
        "Layers": LAYERS,
        "Step": STEP,
        "Steps": STEPS,
        "Gradients": GRADIENTS,
        "Prediction": PREDICTION,
        "SlotError": error_schema(SLOT_ERROR_CODES),
        "VerdictRule": VERDICT_RULE,
        "MisreadDigits": MISREAD_DIGITS,
        "Filters": FILTERS,
        "Snapshot": SNAPSHOT,
        "ModelCard": {
            "type": "object",
            "description": "The model card written by training; further fields may appear.",
            "required": ["architecture", "parameter_count", "verdict_rule"],
            "properties": {
                "architecture": {
                    "type": "array",
                    "description": "The layers in order, each with its output shape [C, H, W] or [units].",
                    "items": {
                        "type": "object",
                        "required": ["name", "type", "output_shape"],
                        "properties": {
                            "name": {"type": "string"},
                            "type": {"type": "string"},
                            "output_shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                            "parameters": {"type": "integer", "minimum": 0},
                        },
                    },
                },
                "parameter_count": {"type": "integer", "minimum": 0},
                "test_accuracy": {"type": "number", "minimum": 0, "maximum": 1},
                "confusion_matrix": grid(10, 10, {"type": "integer", "minimum": 0},
                                          "Rows: the true digit; columns: the digit read."),
                "history": {"type": "array", "items": {"type": "object"}},
                "filters": {
                    "type": "object",
                    "description": "The first convolution's filters before and after training: [30][5][5].",
                    "properties": {
                        "before": {"type": "array", "items": {"type": "array"}},
                        "after": {"type": "array", "items": {"type": "array"}},
                        "bias": {"type": "array", "items": {"type": "number"},
                                 "description": "The trained filters' biases, one per filter."},
                    },
                },
                "verdict_rule": ref("VerdictRule"),
                "replay": REPLAY,
            },
        },
    }
