"""Fixtures for the preprocessing tests."""

from __future__ import annotations

import numpy as np
import pytest

from harness.drawings import paint, roundtrip, seven_coverage


@pytest.fixture(scope="session")
def reference() -> np.ndarray:
    """The network input for the 7 drawn black on white, plainly."""
    return roundtrip(paint(seven_coverage(), paper=(255, 255, 255), ink=(0, 0, 0)))
