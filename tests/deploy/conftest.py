"""Fixtures for the deploy tests: the weights the server will load, gunicorn started as the
Docker image starts it, and requests whose right answers are known."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.probes import build_probes
from harness.serving import GunicornServer
from model.checkpoint import DEFAULT_WEIGHTS
from tests.conftest import skip_or_fail


@pytest.fixture(scope="session")
def served_weights() -> Path:
    """The weights gunicorn will load: DIGIT_LENS_WEIGHTS_PATH if set (it passes through to the
    server), else the committed model/weights/digit_lens.npz."""
    path = Path(os.environ.get("DIGIT_LENS_WEIGHTS_PATH") or DEFAULT_WEIGHTS)
    if not path.is_file():
        skip_or_fail(
            f"no trained weights at {path} (train them, or set DIGIT_LENS_WEIGHTS_PATH to a checkpoint)"
        )
    return path


@pytest.fixture(scope="session")
def probes(request, served_weights) -> dict:
    """Valid and bad requests with their expected answers, confirmed in-process (see
    harness.probes.build_probes): MNIST test digits when MNIST is there, drawn digits otherwise."""
    try:
        mnist_dir = request.getfixturevalue("mnist_dir")
    except pytest.skip.Exception:  # not under CI: fall back to drawn digits
        mnist_dir = None
    found = build_probes(served_weights, mnist_dir, count=12)
    assert found["valid"], f"the model misread every digit in-process ({found['source']})"
    return found


@pytest.fixture
def start_gunicorn(tmp_path):
    """Start gunicorn with the Dockerfile's CMD and ENV (plus ``env``) and wait for /readyz;
    every server started is stopped at teardown."""
    started: list[GunicornServer] = []

    def start(env: dict[str, str] | None = None, name: str = "gunicorn") -> GunicornServer:
        server = GunicornServer(tmp_path / f"{name}-{len(started)}.log", env=env)
        started.append(server.start())
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop(timeout=10)
