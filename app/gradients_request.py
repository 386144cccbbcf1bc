"""The query parameters of ``include=gradients`` on /predict: the true digit, the learning rate
and the number of SGD steps of the lesson (``model.lesson``), each bounded.

Like include and versus they go in the query string only. Like versus without saliency, they are
checked whenever they are given and used only with include=gradients: an OpenAPI document cannot
say that one query parameter needs another, so refusing them alone would refuse requests the
document calls valid.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from app.errors import ApiError

PARAMETERS = ("label", "learning_rate", "steps")
#: One image's gradient is about a hundred times a training batch's mean gradient (batches of
#: 100), so the default rate is small: one step at 0.001 moves the drawing's answer a little,
#: twenty at 0.003 cost the network a visible share of the sample digits, one at 0.01 or more
#: wrecks it (its ReLUs go silent and every digit reads the same).
DEFAULT_LEARNING_RATE = 0.001
MAX_LEARNING_RATE = 1.0
DEFAULT_STEPS = 1
#: Each step is one forward and one backward pass of the image: this bounds the lesson's cost.
MAX_STEPS = 20
_DECIMAL = re.compile(r"[0-9]{0,24}\.?[0-9]{1,24}(?:[eE][-+]?[0-9]{1,3})?")  # 1, 0.5, .5, 1e-3


@dataclass(frozen=True)
class GradientsRequest:
    """The lesson asked for: the true digit (None: the answer's), the learning rate and the steps."""

    label: int | None = None
    learning_rate: float = DEFAULT_LEARNING_RATE
    steps: int = DEFAULT_STEPS


def _shown(value: str) -> str:
    return repr(value if len(value) <= 30 else value[:27] + "...")


def _label(value: str) -> int:
    if len(value) == 1 and value in "0123456789":
        return int(value)
    raise ApiError("invalid_parameter", f"label must be a digit 0-9, not {_shown(value)}")


def _learning_rate(value: str) -> float:
    rate = float(value) if _DECIMAL.fullmatch(value) else math.nan
    if not 0 < rate <= MAX_LEARNING_RATE:  # NaN fails too
        raise ApiError("invalid_parameter", f"learning_rate must be a number above 0 and at most "
                       f"{MAX_LEARNING_RATE:g}, not {_shown(value)}")
    return rate


def _steps(value: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= 2 and 1 <= int(value) <= MAX_STEPS):
        raise ApiError("invalid_parameter", f"steps must be a whole number from 1 to {MAX_STEPS}, "
                       f"not {_shown(value)}")
    return int(value)


def _one(name: str, values: list[str], parse):
    """The value of a parameter given once or more (all the same), else None."""
    parsed = {parse(value) for value in values}
    if len(parsed) > 1:
        raise ApiError("invalid_parameter", f"{name} given as {sorted(parsed)}: give one value")
    return parsed.pop() if parsed else None


def parse(args, include: frozenset[str]) -> GradientsRequest | None:
    """The lesson of a query string (``args.getlist(name)``), or None without include=gradients."""
    label = _one("label", args.getlist("label"), _label)
    learning_rate = _one("learning_rate", args.getlist("learning_rate"), _learning_rate)
    steps = _one("steps", args.getlist("steps"), _steps)
    if "gradients" not in include:
        return None
    return GradientsRequest(
        label=label,
        learning_rate=DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate,
        steps=DEFAULT_STEPS if steps is None else steps,
    )
