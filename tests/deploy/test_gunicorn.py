"""gunicorn started exactly as the Docker image starts it (the Dockerfile's CMD and ENV, read from
it), on 127.0.0.1: it serves predictions with the security headers, passes its own HEALTHCHECK,
shuts down cleanly on SIGTERM, and refuses to start on bad weights or settings."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time

import pytest

from harness.ci import skip_or_fail
from harness.clients import trickle_upload
from harness.serving import (
    GunicornServer,
    Instruction,
    config_value,
    dockerfile_command,
    final_stage,
    image_layout,
    read_dockerfile,
)
from model.checkpoint import DEFAULT_WEIGHTS

# The security headers of the API contract (app/errors.py sets them; checked here end to end).
REQUIRED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
CSP_DIRECTIVES = ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'")


@pytest.fixture(scope="module")
def server(tmp_path_factory, served_weights):
    """One server for the read-only checks of this module, run from a copy of exactly the files
    the image holds (Dockerfile COPY lines filtered by .dockerignore): what it serves, the
    container can serve."""
    workdir = image_layout(tmp_path_factory.mktemp("image") / "srv")
    if served_weights.resolve() == DEFAULT_WEIGHTS.resolve():
        assert (workdir / "model/weights" / DEFAULT_WEIGHTS.name).is_file(), "the image would have no weights"
    with GunicornServer(tmp_path_factory.mktemp("gunicorn") / "server.log", cwd=workdir) as running:
        yield running


def _healthcheck_argv() -> list[str]:
    [check] = [i for i in final_stage(read_dockerfile()) if i.keyword == "HEALTHCHECK"]
    return Instruction("CMD", check.arguments.partition(" ")[2]).exec_form


def _post_json(server: GunicornServer, document: object) -> tuple[int, dict, dict]:
    status, headers, body = server.request(
        "POST", "/predict", json.dumps(document).encode(), {"Content-Type": "application/json"}
    )
    return status, headers, json.loads(body)


def test_server_runs_the_dockerfile_command_on_the_image_files_alone(server):
    assert server.argv == dockerfile_command(read_dockerfile())
    assert not (server.cwd / "tests").exists() and not (server.cwd / "model/train.py").exists()
    if "DIGIT_LENS_WEIGHTS_PATH" not in server.env:
        assert f"Serving model {server.cwd}/model/weights/" in server.log(), (
            "weights not from the image files"
        )
    assert server.argv == ["gunicorn", "--config", "gunicorn.conf.py", "app:create_app()"]
    assert server.worker_pids(), "the master has no workers"
    assert "Using worker: gthread" in server.log()


def test_predicts_a_png_of_a_drawn_digit(server, probes):
    for probe in [p for p in probes["valid"] if p.kind in ("png", "jpeg", "multipart")][:6]:
        status, _, body = server.request("POST", "/predict", probe.body, {"Content-Type": probe.content_type})
        assert status == 200, body
        assert json.loads(body)["digit"] == probe.digit, probe.kind


def test_answers_with_each_snapshot_of_the_training_replay(server, probes):
    # From the image's files: model/replay.py and the replay file beside the weights are in it.
    status, _, body = server.request("GET", "/api/model")
    replay = json.loads(body).get("replay")
    if not replay:
        skip_or_fail("the served weights have no training replay (python -m model.train writes one)")
    probe = next(p for p in probes["valid"] if p.kind == "pixels")
    for index in (0, len(replay) - 1):
        status, _, body = server.request("POST", f"/predict?snapshot={index}&include=filters", probe.body,
                                         {"Content-Type": "application/json"})
        assert status == 200, body
        assert json.loads(body)["snapshot"]["index"] == index


def test_predicts_json_pixels(server, probes):
    probe = next(p for p in probes["valid"] if p.kind == "pixels")
    status, _, result = _post_json(server, json.loads(probe.body))
    assert status == 200
    assert result["digit"] == probe.digit
    assert abs(sum(result["probabilities"]) - 1) < 1e-3


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "status"),
    [
        ("GET", "/", None, None, 200),
        ("GET", "/healthz", None, None, 200),
        ("GET", "/readyz", None, None, 200),
        ("GET", "/api/model", None, None, 200),
        ("GET", "/openapi.json", None, None, 200),
        ("POST", "/predict", b"not an image", "image/png", 400),
        ("POST", "/predict", b"{", "application/json", 400),
        ("GET", "/predict", None, None, 405),
        ("GET", "/no/such/page", None, None, 404),
        ("GET", "/console", None, None, 404),  # no Werkzeug debugger behind the server
    ],
)
def test_every_response_carries_the_security_headers_and_no_stack_trace(
    server, method, path, body, content_type, status
):
    headers = {"Content-Type": content_type} if content_type else {}
    got_status, got_headers, got_body = server.request(method, path, body, headers)
    assert got_status == status, got_body[:300]
    for name, value in REQUIRED_HEADERS.items():
        assert got_headers.get(name) == value, name
    csp = got_headers.get("Content-Security-Policy", "")
    assert all(directive in csp for directive in CSP_DIRECTIVES), csp
    assert b"Traceback" not in got_body and b'File "' not in got_body
    if status >= 400:
        assert set(json.loads(got_body)["error"]) >= {"code", "message"}


def test_predict_response_carries_the_security_headers(server, probes):
    probe = probes["valid"][0]
    status, headers, _ = server.request("POST", "/predict", probe.body, {"Content-Type": probe.content_type})
    assert status == 200
    assert {name: headers.get(name) for name in REQUIRED_HEADERS} == REQUIRED_HEADERS
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_dockerfile_healthcheck_passes_against_the_running_server(server):
    result = subprocess.run(_healthcheck_argv(), env=server.env, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_sigterm_lets_the_request_in_flight_finish_then_exits_zero(start_gunicorn, probes):
    server = start_gunicorn()
    graceful_timeout = config_value("graceful_timeout")
    assert graceful_timeout < config_value("timeout")
    slow_probe = next(p for p in probes["valid"] if p.kind == "png")
    answers = []
    upload = threading.Thread(target=lambda: answers.append(trickle_upload(server.port, slow_probe, 2.0)))
    upload.start()
    time.sleep(0.7)  # the upload is under way
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    exit_code = server.process.wait(graceful_timeout + 5)
    took = time.monotonic() - signalled
    upload.join(30)
    assert exit_code == 0, server.log()
    assert took < graceful_timeout, f"shutdown took {took:.1f} s"
    status, body = answers[0]
    assert status == 200 and json.loads(body)["digit"] == slow_probe.digit
    assert "Traceback" not in server.log()
    # Down now: the image's health check must say so.
    failed = subprocess.run(_healthcheck_argv(), env=server.env, capture_output=True, timeout=30)
    assert failed.returncode != 0


def test_workers_come_from_web_concurrency(start_gunicorn):
    server = start_gunicorn({"WEB_CONCURRENCY": "3"})
    deadline = time.monotonic() + 20
    while len(server.worker_pids()) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(server.worker_pids()) == 3


def _start_failure(tmp_path, env: dict[str, str]) -> tuple[int, str]:
    server = GunicornServer(tmp_path / "refused.log", env=env).start()
    try:
        exit_code = server.process.wait(60)
    except subprocess.TimeoutExpired:
        server.stop(timeout=5)
        pytest.fail(f"gunicorn kept running:\n{server.log()}")
    return exit_code, server.log()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.npz", None, "weights file not found"),
        ("garbage.npz", b"this is not a zip archive at all" * 10, "is not a readable .npz"),
        ("empty.npz", b"", "is not a readable .npz"),
        ("truncated.npz", "half of the real weights", "is not a readable .npz"),
    ],
)
def test_refuses_to_start_with_a_clear_message_when_the_weights_are_bad(
    tmp_path, served_weights, name, content, message
):
    weights = tmp_path / name
    if content == "half of the real weights":
        data = served_weights.read_bytes()
        weights.write_bytes(data[: len(data) // 2])
    elif content is not None:
        weights.write_bytes(content)
    exit_code, output = _start_failure(tmp_path, {"DIGIT_LENS_WEIGHTS_PATH": str(weights)})
    assert exit_code != 0
    assert f"Digit Lens cannot start: weights file {weights}" in output or (
        f"Digit Lens cannot start: weights file not found: {weights}" in output
    ), output
    assert message in output
    assert "Traceback" not in output, output


def test_refuses_to_start_with_a_clear_message_when_the_mnist_sample_is_missing(tmp_path):
    sample = tmp_path / "missing_sample.npz"
    exit_code, output = _start_failure(tmp_path, {"DIGIT_LENS_SAMPLE_PATH": str(sample)})
    assert exit_code != 0
    assert f"Digit Lens cannot start: no MNIST sample at {sample}" in output, output
    assert "Traceback" not in output, output


@pytest.mark.parametrize(
    ("variable", "value"),
    [("WEB_CONCURRENCY", "0"), ("PORT", "http"), ("PORT", "70000"), ("PORT", "0")],
)
def test_refuses_to_start_with_a_clear_message_on_a_bad_setting(tmp_path, variable, value):
    exit_code, output = _start_failure(tmp_path, {variable: value})
    assert exit_code != 0
    assert f"{variable} must be a whole number" in output and repr(value) in output, output
    assert "Traceback" not in output, output


def test_a_non_numeric_web_concurrency_stops_gunicorn_before_the_config_is_read(tmp_path):
    # gunicorn itself reads WEB_CONCURRENCY with int() when it is imported: its traceback, not the
    # config's message, but still a refusal that names the value.
    exit_code, output = _start_failure(tmp_path, {"WEB_CONCURRENCY": "many"})
    assert exit_code != 0
    assert "'many'" in output
