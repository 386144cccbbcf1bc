"""Training replay on the API: ``/predict?snapshot=K`` reads the image with the network as it was
at snapshot K of its training (``model.replay``), which ``GET /api/model`` lists as ``replay``.

The last snapshot is the served network itself (float32, and its full verdict rule); an earlier
one is rebuilt from the float16 replay file beside the weights, loaded on the first request that
asks for one, and judged by the margin test alone (``model.verdict.MarginRule``): the verdict
rule's class means and limits describe the served network's hidden units, not an earlier one's.

What a worker holds for it, once asked for one: every snapshot's parameters as float32 (about
1.74 MB a snapshot; the networks built on them share their memory). docs/deploy.md has the bound.
"""

from __future__ import annotations

import threading
from pathlib import Path

from app.errors import ApiError
from app.inference import Predictor
from model.replay import Replay, ReplayError, replay_path
from model.verdict import MarginRule

# What the answer's "snapshot" object says of its verdict.
SERVED_VERDICT = "the full verdict rule: these are the served weights"
EARLIER_VERDICT = (
    "the margin test only: digit or unsure, never not_a_digit, and novelty is null, because the verdict "
    "rule's class means and limits describe the served network's hidden units, not this snapshot's"
)
# An index has at most this many digits: a query of a million digits is not converted.
MAX_INDEX_DIGITS = 4


class Snapshots:
    """The snapshots of the served network's training, as Predictors; thread-safe.

    ``predictor(index)`` is the network at snapshot ``index`` (None or the last index: the served
    Predictor itself); ``describe(index)`` what an answer says of it.
    """

    def __init__(self, served: Predictor, weights_path: str | Path):
        self.served = served
        path = replay_path(weights_path)
        if served.card.get("replay") and not path.is_file():
            # A card whose replay cannot be served would offer the page a slider that fails.
            del served.card["replay"]
        self.listed: list[dict] = list(served.card.get("replay") or [])
        self._replay = Replay(path, served.network.spec, self.listed) if self.listed else None
        self._rule = MarginRule(served.verdict_rule.margin_limit)
        # Built on first use and kept, one per snapshot at most: dragging the slider asks again.
        self._predictors: dict[int, Predictor] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.listed)

    def parse(self, values: list[str]) -> int | None:
        """The snapshot index the query's ``snapshot`` values name (None when not given); given twice,
        both must name the same one. ApiError when it is not one of the card's."""
        if values and not self.listed:
            raise ApiError("replay_unavailable", "these weights have no training replay (GET /api/model "
                           "lists none): python -m model.train writes one beside the weights")
        indices, last = set(), len(self.listed) - 1
        for value in values:
            if not (value.isascii() and value.isdigit() and len(value) <= MAX_INDEX_DIGITS
                    and int(value) <= last):
                shown = value if len(value) <= 12 else value[:9] + "..."
                raise ApiError("invalid_parameter", f"snapshot must be an integer from 0 to {last} "
                               f"(an index into GET /api/model's replay), not {shown!r}")
            indices.add(int(value))
        if len(indices) > 1:
            raise ApiError("invalid_parameter", f"snapshot given as {sorted(indices)}: give one")
        return indices.pop() if indices else None

    def predictor(self, index: int | None) -> Predictor:
        """The Predictor for snapshot ``index`` (a valid one, from ``parse``)."""
        if index is None or index == len(self.listed) - 1:
            return self.served
        with self._lock:
            if index not in self._predictors:
                try:
                    network = self._replay.network(index)
                except ReplayError as exc:
                    message = f"the training replay cannot be read: {exc}"
                    raise ApiError("replay_unavailable", message) from None
                self._predictors[index] = Predictor(network, self._rule)
            return self._predictors[index]

    def describe(self, index: int) -> dict:
        """The answer's ``snapshot``: which moment of training answered, and what its verdict is."""
        listed = self.listed[index]
        served = index == len(self.listed) - 1
        return {"index": index, "step": listed["step"], "epoch": listed["epoch"],
                "test_accuracy": listed["test_accuracy"], "test_loss": listed["test_loss"],
                "served": served, "verdict": SERVED_VERDICT if served else EARLIER_VERDICT}
