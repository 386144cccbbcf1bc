"""Shared fixtures.

Optional resources (the MNIST files, Debian's chromium) make their tests skip with a
reason when absent — except under ``CI=true``, where a missing resource is a failure
(``harness.ci.skip_or_fail``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from harness.ci import skip_or_fail
from harness.tiny_model import fit_tiny_verdict_rule
from model.network import DEFAULT_SPEC, Network

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _mnist_present(directory: Path) -> bool:
    return all((directory / f).is_file() or (directory / f"{f}.gz").is_file() for f in MNIST_FILES)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The MNIST directory from MNIST_DIR; skips (fails in CI) when it is not there."""
    value = os.environ.get("MNIST_DIR")
    if not value:
        skip_or_fail("MNIST_DIR is not set (point it at the four MNIST IDX files)")
    directory = Path(value)
    if not _mnist_present(directory):
        skip_or_fail(f"MNIST_DIR={value} does not hold the four MNIST IDX files")
    return directory


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium; skips (fails in CI) when it is not installed."""
    if not CHROMIUM.is_file():
        skip_or_fail(f"{CHROMIUM} not found (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def tiny_network() -> Network:
    """The default architecture with seeded random weights: fast, untrained."""
    return Network(DEFAULT_SPEC, rng=np.random.default_rng(1234))


@pytest.fixture(scope="session")
def tiny_verdict_rule(tiny_network):
    return fit_tiny_verdict_rule(tiny_network)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory, tiny_network, tiny_verdict_rule) -> Path:
    """tiny_network and its verdict rule saved as a checkpoint file, for app tests that must
    not need training."""
    from model import checkpoint

    path = tmp_path_factory.mktemp("weights") / "tiny.npz"
    card = {"name": "tiny random-weight test model"}
    checkpoint.save(path, tiny_network, card, verdict_rule=tiny_verdict_rule)
    return path
