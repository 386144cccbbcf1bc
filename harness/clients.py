"""HTTP clients for a server on 127.0.0.1: a bounded mixed load judged against the probes' expected
answers, the heaviest requests the limits allow with /healthz probed meanwhile, a slow (trickling)
upload, an abandoned upload, and a worker killed under load.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import signal
import socket
import struct
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from harness.images import encode
from harness.pictures import draw_digit_seven
from harness.probes import VALID_KINDS, Probe
from harness.serving import GunicornServer

OK = "ok"


# --- the load client -----------------------------------------------------------------------


@dataclass
class Outcome:
    """One request as the client saw it. ``result`` is OK or what went wrong; ``fresh`` whether
    it went out on a new connection (not a kept-alive one)."""

    kind: str
    started: float  # seconds since the run started
    latency: float  # seconds
    status: int | None  # None: no response (connection error)
    result: str
    fresh: bool
    detail: str = ""


def judge(probe: Probe, status: int, body: bytes, content_type: str) -> tuple[str, str]:
    """(result, detail) of one response to ``probe``."""
    if status >= 500:
        return "server_error", body[:200].decode(errors="replace")
    if status != probe.status:
        return "unexpected_status", f"{status} (expected {probe.status}): {body[:200]!r}"
    if not content_type.startswith("application/json"):
        return "not_json", content_type
    try:
        document = json.loads(body)
    except ValueError:
        return "not_json", body[:200].decode(errors="replace")
    if status == 200:
        # A batch answers one result per image: each must be the probe's digit.
        results = document.get("results", [document])
        digits = [result.get("digit") for result in results]
        if all(digit == probe.digit for digit in digits):
            return OK, ""
        return "wrong_answer", f"{digits} (expected {probe.digit})"
    code = (document.get("error") or {}).get("code")
    return (OK, "") if code == probe.code else ("wrong_error_code", f"{code} (expected {probe.code})")


@dataclass
class LoadRun:
    """A bounded load on 127.0.0.1:``port``: ``clients`` threads, each on one keep-alive
    connection, for ``seconds`` (and at most ``max_requests`` per client)."""

    port: int
    valid: list[Probe]
    bad: list[Probe]
    clients: int = 8
    seconds: float = 5.0
    bad_fraction: float = 0.1
    max_requests: int = 100_000
    timeout: float = 15.0
    seed: int = 0
    # Client i connects from sources[i % len(sources)] (127.x.y.z addresses): a per-client limit
    # in front sees distinct clients. Empty: the system's choice, 127.0.0.1.
    sources: list[str] = field(default_factory=list)
    # Whether a client told to come back later (a 429 or 503 with Retry-After) waits that long
    # before its next request, as a well-behaved client does, rather than asking again at once.
    honour_retry_after: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = 0.0

    def _client(self, index: int, lock: threading.Lock) -> None:
        rng = random.Random(self.seed * 1000 + index)
        source = (self.sources[index % len(self.sources)], 0) if self.sources else None
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=self.timeout, source_address=source
        )
        deadline = self.started + self.seconds
        mine = []
        for _ in range(self.max_requests):
            now = time.monotonic()
            if now >= deadline:
                break
            probe = rng.choice(self.bad if rng.random() < self.bad_fraction else self.valid)
            fresh = connection.sock is None
            try:
                connection.request(
                    "POST", probe.path, body=probe.body, headers={"Content-Type": probe.content_type}
                )
                response = connection.getresponse()
                body = response.read()
                latency = time.monotonic() - now
                result, detail = judge(probe, response.status, body, response.getheader("Content-Type", ""))
                mine.append(
                    Outcome(probe.kind, now - self.started, latency, response.status, result, fresh, detail)
                )
                retry_after = response.getheader("Retry-After", "")
                if self.honour_retry_after and response.status in (429, 503) and retry_after.isdigit():
                    time.sleep(min(int(retry_after), max(0.0, deadline - time.monotonic())))
            except (OSError, http.client.HTTPException) as exc:
                latency = time.monotonic() - now
                mine.append(
                    Outcome(
                        probe.kind,
                        now - self.started,
                        latency,
                        None,
                        "connection_error",
                        fresh,
                        f"{type(exc).__name__}: {exc}",
                    )
                )
                connection.close()  # the next request opens a new connection
        connection.close()
        with lock:
            self.outcomes.extend(mine)

    def run(self) -> LoadRun:
        lock = threading.Lock()
        self.started = time.monotonic()
        threads = [
            threading.Thread(target=self._client, args=(i, lock), daemon=True) for i in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.seconds + self.timeout + 10)
        self.elapsed = time.monotonic() - self.started
        return self

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result != OK]


def percentile_ms(latencies: list[float], q: float) -> float:
    return float(np.percentile(np.array(latencies) * 1e3, q)) if latencies else float("nan")


def summary(run: LoadRun) -> str:
    """A table per request kind: requests, failures by type, p50/p99 latency; then the totals."""
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in run.outcomes:
        by_kind["bad (all kinds)" if outcome.kind.startswith("bad:") else outcome.kind].append(outcome)
    lines = [f"{'kind':<17}{'requests':>9}{'failed':>8}{'p50 ms':>9}{'p99 ms':>9}  failures"]
    for kind in [*VALID_KINDS, "bad (all kinds)"]:
        outcomes = by_kind.get(kind, [])
        latencies = [o.latency for o in outcomes]
        failed = Counter(o.result for o in outcomes if o.result != OK)
        lines.append(
            f"{kind:<17}{len(outcomes):>9}{sum(failed.values()):>8}{percentile_ms(latencies, 50):>9.1f}"
            f"{percentile_ms(latencies, 99):>9.1f}  {dict(failed) or ''}"
        )
    every = [o.latency for o in run.outcomes]
    failed = Counter(o.result for o in run.outcomes if o.result != OK)
    lines.append(
        f"{'all':<17}{len(run.outcomes):>9}{sum(failed.values()):>8}{percentile_ms(every, 50):>9.1f}"
        f"{percentile_ms(every, 99):>9.1f}  {dict(failed) or ''}"
    )
    lines.append(
        f"{len(run.outcomes)} requests in {run.elapsed:.1f} s = {len(run.outcomes) / run.elapsed:.0f} req/s "
        f"from {run.clients} keep-alive clients; 5xx: {failed['server_error']}, "
        f"connection errors: {failed['connection_error']}"
    )
    return "\n".join(lines)


# --- the heaviest requests, and /healthz meanwhile -------------------------------------------

# Each heavy kind: a drawing of a 7 at the pixel limit in one file format (Pillow's format and
# options), sent as a batch of as many as one request's pixel budget allows. Lossless WebP with
# alpha costs the most memory to decode, then palette and alpha PNGs; JPEG is decoded at a
# reduced scale.
HEAVY_FORMATS = {
    "webp": ("WEBP", {"lossless": True}),
    "png_rgba": ("PNG", {}),
    "png_palette": ("PNG", {"transparency": 0}),
    "jpeg": ("JPEG", {"quality": 90}),
}


def heavy_probes(max_image_pixels: int, max_request_pixels: int) -> list[Probe]:
    """The costliest requests the limits let through, one per HEAVY_FORMATS kind: a JSON batch of
    ``max_request_pixels // max_image_pixels`` drawings of a 7 at the pixel limit, each answered 7."""
    side = int(max_image_pixels**0.5)
    count = max(1, max_request_pixels // (side * side))
    drawing = draw_digit_seven(side)
    probes = []
    for kind, (fmt, options) in HEAVY_FORMATS.items():
        image = drawing
        if kind == "png_palette":  # two colours, index 0 the transparent background
            image = drawing.getchannel("A").point(lambda v: 1 if v >= 128 else 0).convert("P")
            image.putpalette([255, 255, 255, 0, 0, 0])
        encoded = base64.b64encode(encode(image, fmt, **options)).decode()
        body = json.dumps({"images": [encoded] * count}).encode()
        probes.append(Probe(f"heavy:{kind}", body, "application/json", 200, 7, path="/predict/batch"))
    return probes


@dataclass
class HealthProbes:
    """GET /healthz on 127.0.0.1:``port`` every ``interval`` s from ``source``, each on a new
    connection as an orchestrator's probe is, until stopped: (latency s, status or None) each."""

    port: int
    interval: float = 0.2
    timeout: float = 10.0
    source: str = "127.0.0.1"
    answers: list[tuple[float, int | None]] = field(default_factory=list)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            started = time.monotonic()
            connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=self.timeout, source_address=(self.source, 0)
            )
            try:
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = None
            finally:
                connection.close()
            self.answers.append((time.monotonic() - started, status))

    def __enter__(self) -> HealthProbes:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 5)

    def latencies(self) -> list[float]:
        return [latency for latency, _ in self.answers]

    def failed(self) -> int:
        """Probes not answered 200 (a timeout counts as failed)."""
        return sum(status != 200 for _, status in self.answers)


# --- faults --------------------------------------------------------------------------------


def kill_worker_under_load(server: GunicornServer, run: LoadRun, kill_after: float, grace: float) -> dict:
    """SIGKILL one worker ``kill_after`` s into ``run``; return what happened.

    Failures are split into those within ``grace`` s of the kill (requests the dead worker held,
    kept-alive connections to it) and after; respawn = until the master has its full count of
    workers again, without the killed one.
    """
    workers_before = server.worker_pids()
    loader = threading.Thread(target=run.run, daemon=True)
    loader.start()
    time.sleep(kill_after)
    victim = min(workers_before)
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    respawn_seconds = None
    while time.monotonic() - killed_at < 10:
        now_workers = server.worker_pids()
        if victim not in now_workers and len(now_workers) == len(workers_before):
            respawn_seconds = time.monotonic() - killed_at
            break
        time.sleep(0.01)
    loader.join()
    kill_time = killed_at - run.started
    failures = run.failures()
    around = [f for f in failures if f.started + f.latency >= kill_time and f.started < kill_time + grace]
    before = [f for f in failures if f.started + f.latency < kill_time]
    after = [f for f in failures if f.started >= kill_time + grace]
    return {
        "victim": victim,
        "workers_before": sorted(workers_before),
        "workers_after": sorted(server.worker_pids()),
        "respawn_seconds": respawn_seconds,
        "kill_time": kill_time,
        "failed_before_kill": before,
        "failed_within_grace": around,
        "failed_after_grace": after,
        "requests_after_grace": sum(o.started >= kill_time + grace for o in run.outcomes),
    }


def trickle_upload(port: int, probe: Probe, seconds: float, chunk: int = 8) -> tuple[int | None, bytes]:
    """Send ``probe`` as a slow client would: headers at once, the body ``chunk`` bytes at a time
    spread over ``seconds``. Returns (status, body) of the answer, (None, b"") if none came."""
    head = (
        f"POST {probe.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {probe.content_type}\r\n"
        f"Content-Length: {len(probe.body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    pieces = [probe.body[i : i + chunk] for i in range(0, len(probe.body), chunk)]
    pause = seconds / max(1, len(pieces))
    with socket.create_connection(("127.0.0.1", port), timeout=seconds + 30) as connection:
        connection.sendall(head)
        for piece in pieces:
            time.sleep(pause)
            connection.sendall(piece)
        response = http.client.HTTPResponse(connection)
        try:
            response.begin()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            return None, b""


def abandoned_upload(port: int, probe: Probe, declared: int, sent: int, reset: bool = False) -> None:
    """Announce a ``declared``-byte body of ``probe``'s type, send its first ``sent`` bytes (the
    probe's body, then zeros) and hang up: FIN, or RST if ``reset``."""
    head = (
        f"POST {probe.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {probe.content_type}\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    body = (probe.body + b"\0" * max(0, sent - len(probe.body)))[:sent]
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        connection.sendall(head + body)
        if reset:  # linger on, timeout 0: close() sends RST instead of FIN
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        connection.close()
