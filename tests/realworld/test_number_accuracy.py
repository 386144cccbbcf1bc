"""Exact-number accuracy of the committed weights on the generated number set (issue 21's
targets), through ``POST /predict/number``: ``python -m harness.numbers --report --failures``
prints the same figures as a table, with every number read wrong.

The set is seeded, so a figure here moves only when the code or the weights do.
"""

from __future__ import annotations

import pytest

from harness import numbers
from harness.ci import skip_or_fail
from model import checkpoint
from model.mnist import load_mnist

pytestmark = [pytest.mark.slow, pytest.mark.mnist]

# Issue 21's targets, as exact numbers: every digit found and read. Drawn touching digits meet
# theirs with no room to spare (48 of 60 here; 80.2% over the ten seeds of docs/numbers.md).
TARGETS = {
    "drawn_separated": 0.95,
    "drawn_touching": 0.80,
    "typed": 0.95,
    "scans": 0.88,
}


@pytest.fixture(scope="module")
def outcomes(mnist_dir) -> dict[str, list[numbers.NumberOutcome]]:
    weights = checkpoint.DEFAULT_WEIGHTS
    if not weights.is_file():
        skip_or_fail(f"the trained weights {weights} are not committed yet")
    from app import create_app

    data = load_mnist(mnist_dir)
    samples = numbers.generate(data.train_images, data.train_labels)
    read = numbers.api_reader(create_app({"WEIGHTS_PATH": str(weights), "TESTING": True}))
    every = [read(sample) for sample in samples]
    return {kind: [o for o in every if o.sample.kind == kind] for kind in numbers.KINDS}


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_each_kind_of_number_meets_its_target(outcomes, kind):
    mine = outcomes[kind]
    if not mine:
        skip_or_fail(f"no {kind} numbers were generated (fonts missing? see harness.realworld.typed)")
    wrong = [f"{o.sample.label} read {o.number or o.error} ({o.sample.note})" for o in mine if not o.correct]
    assert 1 - len(wrong) / len(mine) >= TARGETS[kind], "\n".join(wrong)
