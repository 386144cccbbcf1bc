"""The set read through ``POST /predict`` of the real app: outcomes per kind, accuracy, the
report table and grids of what the network saw."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from harness.realworld.samples import Sample


@dataclass
class Outcome:
    sample: Sample
    predicted: int | None  # None when the API refused the image
    error: str | None
    network_input: np.ndarray | None  # (28, 28) uint8, what the network saw

    @property
    def correct(self) -> bool:
        return self.predicted == self.sample.label


def api_classifier(app) -> Callable[[Sample], Outcome]:
    """Classify a sample through ``POST /predict`` of ``app`` with a raw image body."""
    client = app.test_client()

    def classify(sample: Sample) -> Outcome:
        response = client.post("/predict", data=sample.data, content_type=sample.content_type)
        body = response.get_json(silent=True) or {}
        if response.status_code != 200:
            code = (body.get("error") or {}).get("code", f"HTTP {response.status_code}")
            return Outcome(sample, None, code, None)
        return Outcome(sample, int(body["digit"]), None, np.asarray(body["input"], dtype=np.uint8))

    return classify


def evaluate(samples: list[Sample], classify: Callable[[Sample], Outcome]) -> dict[str, list[Outcome]]:
    """Outcomes grouped by kind, in order of first appearance."""
    by_kind: dict[str, list[Outcome]] = {}
    for sample in samples:
        by_kind.setdefault(sample.kind, []).append(classify(sample))
    return by_kind


def accuracy(outcomes: list[Outcome]) -> float:
    return sum(o.correct for o in outcomes) / max(len(outcomes), 1)


def report_table(by_kind: dict[str, list[Outcome]]) -> str:
    """A Markdown table of accuracy per kind and overall."""
    lines = ["| kind | images | correct | accuracy |", "| --- | ---: | ---: | ---: |"]
    everything = []
    for kind, outcomes in by_kind.items():
        everything += outcomes
        correct = sum(o.correct for o in outcomes)
        lines.append(f"| {kind} | {len(outcomes)} | {correct} | {100 * accuracy(outcomes):.1f}% |")
    correct = sum(o.correct for o in everything)
    lines.append(f"| **all** | {len(everything)} | {correct} | **{100 * accuracy(everything):.1f}%** |")
    return "\n".join(lines)


def failure_lines(by_kind: dict[str, list[Outcome]]) -> list[str]:
    """One line per misread sample: its kind, true digit, what came back and how it was made."""
    return [
        f"{o.sample.kind}: true {o.sample.label}, got {o.predicted if o.error is None else o.error} "
        f"— {o.sample.note}"
        for outcomes in by_kind.values() for o in outcomes if not o.correct
    ]


def save_grids(by_kind: dict[str, list[Outcome]], directory: Path) -> None:
    """Per kind, a grid of the 28×28 network inputs (misread ones framed in grey)."""
    directory.mkdir(parents=True, exist_ok=True)
    for kind, outcomes in by_kind.items():
        columns = 10
        rows = math.ceil(len(outcomes) / columns)
        grid = Image.new("L", (columns * 30, rows * 30), 0)
        for i, outcome in enumerate(outcomes):
            x, y = (i % columns) * 30, (i // columns) * 30
            if not outcome.correct:
                grid.paste(96, (x, y, x + 30, y + 30))
            if outcome.network_input is not None:
                grid.paste(Image.fromarray(outcome.network_input, "L"), (x + 1, y + 1))
        grid.resize((grid.width * 3, grid.height * 3), Image.Resampling.NEAREST).save(
            directory / f"{kind}.png"
        )
