"""Optional resources (the MNIST files, Debian's chromium, committed weights, tools) make their
tests skip with a reason when absent, except under ``CI=true``, where a missing one is a failure."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it under CI=true, where every optional resource must be there."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)
