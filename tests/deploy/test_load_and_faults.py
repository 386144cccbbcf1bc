"""The service under a short mixed load and under faults, served as in Docker (2 workers, 127.0.0.1).

Bounded: each load lasts a few seconds; bench/load.py runs the longer version and prints figures.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections import Counter

import numpy as np
import pytest

from app import DEFAULTS
from harness.clients import (
    HealthProbes,
    LoadRun,
    abandoned_upload,
    heavy_probes,
    kill_worker_under_load,
    summary,
    trickle_upload,
)
from harness.probes import padded_pixels_body
from harness.serving import GunicornServer, peak_rss_kib

pytestmark = pytest.mark.slow
TWO_WORKERS = {"WEB_CONCURRENCY": "2"}
# The bound on one worker's memory that docs/deploy.md derives ("Memory: one worker's bound"),
# and from which the containers' limits in compose.yaml and deploy/k8s are set.
WORKER_PEAK_BOUND_MIB = 500


@pytest.fixture(scope="module")
def server(tmp_path_factory, served_weights):
    """Two workers, shared by the fault tests that must leave them standing."""
    with GunicornServer(tmp_path_factory.mktemp("faults") / "server.log", env=TWO_WORKERS) as running:
        yield running


def _snapshot(server: GunicornServer) -> tuple[set[int], int]:
    """The workers, and where the server's output stands, before a fault."""
    return server.worker_pids(), len(server.log())


def _assert_still_serving(server: GunicornServer, before: tuple[set[int], int], probes: dict) -> None:
    """Same workers, a right answer now, and no traceback logged since ``before``."""
    workers, log_start = before
    assert server.worker_pids() == workers, "a worker was replaced"
    probe = probes["valid"][0]
    status, _, body = server.request("POST", "/predict", probe.body, {"Content-Type": probe.content_type})
    assert status == 200 and json.loads(body)["digit"] == probe.digit
    logged = server.log()[log_start:]
    assert "Traceback" not in logged, logged


def test_mixed_load_answers_every_request_right(server, probes):
    workers = server.worker_pids()
    run = LoadRun(server.port, probes["valid"], probes["bad"], clients=8, seconds=5).run()
    print(f"\n{summary(run)}")
    kinds = Counter(o.kind.split(":")[0] for o in run.outcomes)
    assert len(run.outcomes) >= 40, "too few requests to mean anything"
    assert kinds["bad"] > 0 and all(kinds[kind] > 0 for kind in ("png", "jpeg", "multipart", "pixels"))
    assert [(f.kind, f.result, f.detail) for f in run.failures()] == []
    assert server.worker_pids() == workers


def test_killed_worker_is_replaced_and_the_service_keeps_answering(start_gunicorn, probes):
    server = start_gunicorn(TWO_WORKERS, name="kill")
    run = LoadRun(server.port, probes["valid"], probes["bad"], clients=8, seconds=6)
    report = kill_worker_under_load(server, run, kill_after=2.0, grace=1.0)
    within = report["failed_within_grace"]
    print(
        f"\nworker {report['victim']} killed at {report['kill_time']:.1f} s, respawned in "
        f"{report['respawn_seconds']} s; failed within 1 s: {len(within)} "
        f"{dict(Counter(f.result for f in within))}; after: {len(report['failed_after_grace'])} of "
        f"{report['requests_after_grace']}\n{summary(run)}"
    )
    assert report["respawn_seconds"] is not None, "no new worker within 10 s"
    assert report["victim"] not in report["workers_after"] and len(report["workers_after"]) == 2
    assert report["failed_before_kill"] == []
    # Only the dead worker's requests may fail, and only by losing the connection: no 5xx, no
    # wrong answer. Afterwards everything, on old and new connections, succeeds.
    assert all(f.result == "connection_error" for f in within), [(f.result, f.detail) for f in within]
    assert report["failed_after_grace"] == []
    assert report["requests_after_grace"] > 0


@pytest.mark.parametrize("kind", ["png", "multipart", "pixels"])
@pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
def test_client_hanging_up_mid_upload_does_not_take_a_worker_down(server, probes, kind, reset):
    before = _snapshot(server)
    probe = next(p for p in probes["valid"] if p.kind == kind)
    for _ in range(3):
        abandoned_upload(server.port, probe, declared=1_000_000, sent=500_000, reset=reset)
    _assert_still_serving(server, before, probes)


def test_slow_clients_trickling_their_bodies_do_not_block_other_requests(server, probes):
    before = _snapshot(server)
    slow_probe = next(p for p in probes["valid"] if p.kind == "png")
    # More slow clients than workers: with sync workers nothing else would be answered meanwhile.
    answers: list[tuple[int | None, bytes]] = []
    uploads = [
        threading.Thread(target=lambda: answers.append(trickle_upload(server.port, slow_probe, 4.0)))
        for _ in range(3)
    ]
    for upload in uploads:
        upload.start()
    run = LoadRun(server.port, probes["valid"], probes["bad"], clients=2, seconds=3).run()
    still_uploading = any(upload.is_alive() for upload in uploads)
    for upload in uploads:
        upload.join(30)
    assert still_uploading, "the slow uploads ended before the other requests: nothing was shown"
    assert run.failures() == [] and len(run.outcomes) >= 5
    assert [(status, json.loads(body)["digit"]) for status, body in answers] == [(200, slow_probe.digit)] * 3
    _assert_still_serving(server, before, probes)


def _send_and_read_answer(port: int, body: bytes | None, declared: int) -> tuple[int, dict]:
    """POST ``body`` (or only headers if None) declaring ``declared`` bytes; (status, JSON) of
    the answer. A server that answers before the body is in may hang up mid-upload; what the
    client must still get is that answer."""
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head)
        try:
            for start in range(0, len(body or b""), 65536):
                connection.sendall(body[start : start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = http.client.HTTPResponse(connection)
        response.begin()  # times out (fails) if no answer comes
        return response.status, json.loads(response.read())


def test_body_at_the_size_limit_is_answered_and_one_byte_more_is_refused(server, probes):
    before = _snapshot(server)
    limit = DEFAULTS["MAX_CONTENT_LENGTH"]
    pixels_probe = next(p for p in probes["valid"] if p.kind == "pixels")
    at_limit = padded_pixels_body(np.array(json.loads(pixels_probe.body)["pixels"]), limit)
    status, _, body = server.request("POST", "/predict", at_limit, {"Content-Type": "application/json"})
    assert (status, json.loads(body).get("digit")) == (200, pixels_probe.digit)
    status, answer = _send_and_read_answer(server.port, at_limit + b" ", limit + 1)
    assert (status, answer["error"]["code"]) == (413, "payload_too_large")
    _assert_still_serving(server, before, probes)


def test_oversized_declared_body_is_refused_before_it_is_sent(server, probes):
    """The limit is checked on Content-Length: the answer comes without the body ever arriving."""
    before = _snapshot(server)
    status, answer = _send_and_read_answer(server.port, None, DEFAULTS["MAX_CONTENT_LENGTH"] + 1)
    assert (status, answer["error"]["code"]) == (413, "payload_too_large")
    _assert_still_serving(server, before, probes)


def test_heavy_requests_at_once_keep_each_worker_under_its_memory_bound_and_healthz_answering(
    start_gunicorn,
):
    """8 clients send the heaviest requests the limits allow (batches of images at the pixel
    limit) to 2 workers × 4 threads: each worker decodes one at a time, refuses what it cannot
    hold with a 503 server_busy, and keeps threads free for /healthz."""
    server = start_gunicorn(TWO_WORKERS, name="heavy")
    probes = heavy_probes(DEFAULTS["MAX_IMAGE_PIXELS"], DEFAULTS["MAX_REQUEST_PIXELS"])
    run = LoadRun(server.port, probes, [], clients=8, seconds=6, bad_fraction=0.0, timeout=30,
                  honour_retry_after=True)
    with HealthProbes(server.port) as health:
        run.run()
    peaks = [peak_rss_kib(pid) / 1024 for pid in server.worker_pids()]
    answered = Counter(o.status for o in run.outcomes)
    print(f"\nworker peaks {[round(p) for p in peaks]} MiB; answers {dict(answered)}")
    assert all(peak <= WORKER_PEAK_BOUND_MIB for peak in peaks), peaks
    assert set(answered) <= {200, 503} and answered[200] > 0, answered
    assert all("server_busy" in o.detail for o in run.outcomes if o.status == 503)
    assert health.answers and health.failed() == 0
