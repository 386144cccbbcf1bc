"""Fixtures for the deploy tests: the weights the server will load, gunicorn started as the
Docker image starts it, and requests whose right answers are known."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from harness.ci import skip_or_fail
from harness.probes import build_probes
from harness.proxy import NGINX, NginxProxy
from harness.serving import GunicornServer, image_layout
from model.checkpoint import DEFAULT_WEIGHTS


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


@pytest.fixture(scope="session")
def nginx_binary() -> Path:
    """Debian's nginx (NGINX to use another); skips (fails in CI) when it is not installed."""
    if not NGINX.is_file():
        skip_or_fail(f"{NGINX} not found (apt-get install nginx)")
    return NGINX


@pytest.fixture
def start_proxy(tmp_path, nginx_binary):
    """Start nginx with deploy/nginx.conf (only its upstream and listen port rewritten) in front
    of 127.0.0.1:``upstream_port``; every proxy started is stopped at teardown."""
    started: list[NginxProxy] = []

    def start(upstream_port: int, name: str = "nginx") -> NginxProxy:
        proxy = NginxProxy(tmp_path / f"{name}-{len(started)}", upstream_port, nginx_binary)
        started.append(proxy.start())
        proxy.wait_ready()
        return proxy

    yield start
    for proxy in started:
        proxy.stop(signal.SIGTERM, timeout=5)


@pytest.fixture(scope="session")
def stack(tmp_path_factory, served_weights, nginx_binary):
    """gunicorn on exactly the image's files, and nginx in front: (gunicorn, proxy). Shared by the
    modules that only send requests; a test that stops or starves a server starts its own."""
    workdir = image_layout(tmp_path_factory.mktemp("image") / "srv")
    logs = tmp_path_factory.mktemp("stack")
    with (
        GunicornServer(logs / "gunicorn.log", cwd=workdir) as gunicorn,
        NginxProxy(logs / "nginx", gunicorn.port, nginx_binary) as proxy,
    ):
        yield gunicorn, proxy
    assert "Traceback" not in gunicorn.log()
