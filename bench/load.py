"""Load and fault benchmark: gunicorn started exactly as the Docker image starts it, on 127.0.0.1.

    python -m bench.load                       # every scenario, about 2 minutes
    python -m bench.load --scenario load --clients 20 --seconds 20
    python -m bench.load --scenario kill | slow | memory | blas

Scenarios:
  load    mixed /predict requests (PNG, JPEG, multipart, data URL, JSON pixels, 10% bad inputs)
          from keep-alive clients; requests, errors, p50/p99 latency and requests/s per kind.
  kill    the same load with one worker SIGKILLed mid-run: failures around the kill, respawn time.
  slow    clients trickling their bodies while others load the server: gthread (the config)
          against sync workers.
  memory  Rss/Pss of master and workers with preload_app on and off.
  blas    latency with one BLAS thread per worker (the config) against two.

Expected answers: with MNIST (MNIST_DIR), test digits whose label the served model reads in-process
for every request kind; without it, drawn digits and the in-process app's own answers. Every
valid request under load must get exactly that digit; every bad one its documented 4xx code.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import random
import signal
import socket
import struct
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from harness.serving import (
    GUNICORN_CONFIG,
    GunicornServer,
    cpu_seconds,
    dockerfile_command,
    memory_kib,
    read_dockerfile,
)

VALID_KINDS = ("png", "jpeg", "multipart", "data_url", "pixels")
OK = "ok"


@dataclass(frozen=True)
class Probe:
    """One request and the answer it must get: ``digit`` for a 200, ``code`` for an error."""

    kind: str
    body: bytes
    content_type: str
    status: int
    digit: int | None = None
    code: str | None = None
    path: str = "/predict"


# --- requests ------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _multipart(field_name: str, filename: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def digit_probes(image: np.ndarray, digit: int | None) -> list[Probe]:
    """The five valid ways to send one digit. ``image``: (28, 28) uint8, white ink on black.

    Files are the digit at 5× scale, as a drawing would be: PNG white on black, JPEG dark ink on
    light paper (the service must read both)."""
    large = Image.fromarray(image).resize((140, 140), Image.Resampling.BILINEAR)
    png = _encode(large, "PNG")
    jpeg = _encode(Image.eval(large, lambda v: 255 - v), "JPEG", quality=90)
    multipart, multipart_type = _multipart("image", "digit.png", png, "image/png")
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    return [
        Probe("png", png, "image/png", 200, digit),
        Probe("jpeg", jpeg, "image/jpeg", 200, digit),
        Probe("multipart", multipart, multipart_type, 200, digit),
        Probe("data_url", json.dumps({"image": data_url}).encode(), "application/json", 200, digit),
        Probe("pixels", json.dumps({"pixels": image.tolist()}).encode(), "application/json", 200, digit),
    ]


def _png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares ``width``×``height`` but whose data holds almost nothing:
    a server that decoded before checking the size would allocate width × height bytes."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def bad_probes(sample_png: bytes) -> list[Probe]:
    """Bad inputs and the documented refusal of each (API contract)."""
    blank = _encode(Image.new("L", (140, 140), 255), "PNG")
    return [
        Probe(
            "bad:truncated_png", sample_png[: len(sample_png) // 2], "image/png", 400, code="invalid_image"
        ),
        Probe("bad:not_an_image", b"this is not a picture " * 20, "image/png", 400, code="invalid_image"),
        Probe("bad:blank_page", blank, "image/png", 422, code="no_digit_found"),
        Probe("bad:huge_dimensions", _png_declaring(5000, 5000), "image/png", 413, code="image_too_large"),
        Probe(
            "bad:pixels_shape",
            json.dumps({"pixels": [[0] * 27] * 28}).encode(),
            "application/json",
            400,
            code="invalid_pixels",
        ),
        Probe("bad:json_syntax", b'{"pixels": [[0, 1', "application/json", 400, code="invalid_json"),
        Probe(
            "bad:base64",
            json.dumps({"image": "data:image/png;base64,@@@"}).encode(),
            "application/json",
            400,
            code="invalid_base64",
        ),
        Probe("bad:media_type", b"seven", "text/plain", 415, code="unsupported_media_type"),
    ]


def mnist_test_digits(mnist_dir: str | Path, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random MNIST test images (count, 28, 28) uint8 and their labels."""
    from model.mnist import find_file, read_idx

    images = read_idx(find_file(mnist_dir, "t10k-images-idx3-ubyte"))
    labels = read_idx(find_file(mnist_dir, "t10k-labels-idx1-ubyte"))
    chosen = np.random.default_rng(seed).choice(len(labels), size=count, replace=False)
    return images[chosen], labels[chosen].astype(int)


def drawn_digits() -> np.ndarray:
    """A few digits drawn with thick strokes, (N, 28, 28) uint8 white on black, for when MNIST
    is not at hand; their expected answers come from the in-process app."""
    strokes = [
        [("line", (14, 4, 14, 23))],  # 1
        [("ellipse", (7, 4, 20, 23))],  # 0
        [("line", (7, 5, 21, 5)), ("line", (21, 5, 11, 23))],  # 7
        [("line", (8, 4, 8, 14)), ("line", (8, 14, 21, 14)), ("line", (18, 4, 18, 23))],  # 4
    ]
    images = []
    for shapes in strokes:
        canvas = Image.new("L", (28, 28), 0)
        draw = ImageDraw.Draw(canvas)
        for shape, box in shapes:
            if shape == "line":
                draw.line(box, fill=255, width=3)
            else:
                draw.ellipse(box, outline=255, width=3)
        images.append(np.asarray(canvas))
    return np.stack(images)


def answer_in_process(app, probe: Probe) -> tuple[int, dict]:
    """What the app answers ``probe`` with in this process: (status, JSON body)."""
    response = app.test_client().post(probe.path, data=probe.body, content_type=probe.content_type)
    return response.status_code, response.get_json(silent=True) or {}


def build_probes(weights: str | Path, mnist_dir: str | Path | None, count: int = 40, seed: int = 0) -> dict:
    """Valid and bad probes whose expected answers are checked against the in-process app.

    Returns {"valid": [...], "bad": [...], "source": str, "dropped": int}. With MNIST, a digit is
    kept only if the model reads its label in every request kind in-process (the figure
    ``dropped`` says how many were not); without MNIST, the in-process answer is the expectation.
    A bad probe the in-process app does not refuse as documented raises AssertionError.
    """
    from app import create_app

    app = create_app({"WEIGHTS_PATH": str(weights)})
    valid: list[Probe] = []
    dropped = 0
    if mnist_dir is not None:
        images, labels = mnist_test_digits(mnist_dir, count, seed)
        source = f"{count} MNIST test digits"
        for image, label in zip(images, labels, strict=True):
            probes = digit_probes(image, int(label))
            answers = [answer_in_process(app, probe) for probe in probes]
            if all(status == 200 and body.get("digit") == label for status, body in answers):
                valid.extend(probes)
            else:
                dropped += 1
    else:
        source = "drawn digits (MNIST_DIR not set): expected = in-process answers"
        for image in drawn_digits():
            for probe in digit_probes(image, None):
                status, body = answer_in_process(app, probe)
                if status == 200:
                    valid.append(Probe(probe.kind, probe.body, probe.content_type, 200, body["digit"]))
                else:
                    dropped += 1
    bad = bad_probes(valid[0].body if valid else _encode(Image.new("L", (28, 28)), "PNG"))
    for probe in bad:
        status, body = answer_in_process(app, probe)
        code = body.get("error", {}).get("code")
        assert (status, code) == (probe.status, probe.code), f"{probe.kind}: in-process {status} {code}"
    return {"valid": valid, "bad": bad, "source": source, "dropped": dropped}


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
        digit = document.get("digit")
        return (OK, "") if digit == probe.digit else ("wrong_answer", f"{digit} (expected {probe.digit})")
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
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = 0.0

    def _client(self, index: int, lock: threading.Lock) -> None:
        rng = random.Random(self.seed * 1000 + index)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
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


def padded_pixels_body(pixels: np.ndarray, size: int) -> bytes:
    """A JSON {"pixels": ...} body of exactly ``size`` bytes (trailing spaces are valid JSON)."""
    body = json.dumps({"pixels": pixels.tolist()}).encode()
    if len(body) > size:
        raise ValueError(f"{size} bytes cannot hold the {len(body)}-byte document")
    return body + b" " * (size - len(body))


# --- scenarios -----------------------------------------------------------------------------


def _server(
    log_dir: Path, name: str, env: dict | None = None, argv: list[str] | None = None
) -> GunicornServer:
    return GunicornServer(log_dir / f"{name}.log", env=env, argv=argv)


def scenario_load(probes: dict, log_dir: Path, clients: int, seconds: float) -> None:
    with _server(log_dir, "load", {"WEB_CONCURRENCY": "2"}) as server:
        run = LoadRun(server.port, probes["valid"], probes["bad"], clients=clients, seconds=seconds).run()
        print(f"\n== load: {clients} clients × {seconds:.0f} s, 2 workers, 10% bad inputs")
        print(summary(run))
        _print_failures(run.failures())


def scenario_kill(probes: dict, log_dir: Path, clients: int, seconds: float) -> None:
    with _server(log_dir, "kill", {"WEB_CONCURRENCY": "2"}) as server:
        run = LoadRun(server.port, probes["valid"], probes["bad"], clients=clients, seconds=seconds)
        report = kill_worker_under_load(server, run, kill_after=seconds / 3, grace=1.0)
        print(
            f"\n== kill: worker {report['victim']} SIGKILLed {report['kill_time']:.1f} s into "
            f"{clients} clients × {seconds:.0f} s"
        )
        print(
            f"workers {report['workers_before']} -> {report['workers_after']}; "
            f"respawned in {report['respawn_seconds'] or float('nan'):.3f} s"
        )
        within = report["failed_within_grace"]
        print(
            f"failed before the kill: {len(report['failed_before_kill'])}; within 1 s of it: {len(within)} "
            f"({dict(Counter(f.result for f in within))}; "
            f"on kept-alive connections: {sum(not f.fresh for f in within)}); "
            f"after: {len(report['failed_after_grace'])} of {report['requests_after_grace']} requests"
        )
        print(summary(run))


def scenario_slow(probes: dict, log_dir: Path, seconds: float = 8.0) -> None:
    slow_probe = next(p for p in probes["valid"] if p.kind == "png")
    for label, env in (
        ("gthread (config)", {}),
        ("sync", {"GUNICORN_CMD_ARGS": "--worker-class sync --threads 1"}),
    ):
        with _server(log_dir, "slow-" + label.split()[0], {"WEB_CONCURRENCY": "2", **env}) as server:
            slow_results = []
            slow_clients = [
                threading.Thread(
                    target=lambda results: results.append(trickle_upload(server.port, slow_probe, seconds)),
                    args=(slow_results,),
                )
                for _ in range(2)
            ]
            for thread in slow_clients:
                thread.start()
            time.sleep(0.5)
            run = LoadRun(
                server.port, probes["valid"], probes["bad"], clients=4, seconds=seconds - 1, timeout=30
            ).run()
            for thread in slow_clients:
                thread.join(seconds + 30)
            print(
                f"\n== slow clients, {label}: 2 clients trickle a {len(slow_probe.body)}-byte PNG over "
                f"{seconds:.0f} s while 4 clients load 2 workers"
            )
            print(f"slow clients answered: {[status for status, _ in slow_results]}")
            print(summary(run))


def scenario_memory(probes: dict, log_dir: Path, workers: int = 4) -> None:
    print(f"\n== memory (MiB), {workers} workers, after 25 requests per worker")
    with tempfile.TemporaryDirectory() as scratch:
        no_preload = Path(scratch) / "no_preload.conf.py"
        no_preload.write_text(
            f"exec(compile(open({str(GUNICORN_CONFIG)!r}).read(), {str(GUNICORN_CONFIG)!r}, 'exec'))\n"
            "preload_app = False\n"
        )
        argv = dockerfile_command(read_dockerfile())
        variants = [
            ("preload_app=True (config)", None),
            ("preload_app=False", [str(no_preload) if a == "gunicorn.conf.py" else a for a in argv]),
        ]
        for label, variant_argv in variants:
            with _server(log_dir, "memory", {"WEB_CONCURRENCY": str(workers)}, argv=variant_argv) as server:
                # One request per new connection: the master spreads them over the workers.
                for probe in (probes["valid"] * 2)[: 25 * workers]:
                    server.request("POST", probe.path, probe.body, {"Content-Type": probe.content_type})
                master = memory_kib(server.process.pid)
                each = [memory_kib(pid) for pid in sorted(server.worker_pids())]
                mib = lambda kib: f"{kib / 1024:.1f}"  # noqa: E731
                total = master["Pss"] + sum(w["Pss"] for w in each)
                print(
                    f"{label:<26} master Rss {mib(master['Rss'])} Pss {mib(master['Pss'])} | workers Rss "
                    f"{', '.join(mib(w['Rss']) for w in each)}; Uss {', '.join(mib(w['Uss']) for w in each)}"
                    f" | total Pss {mib(total)}"
                )


def scenario_blas(
    probes: dict, log_dir: Path, clients: int = 8, seconds: float = 8.0, rounds: int = 2
) -> None:
    """Throughput and latency depend on what else the machine runs; CPU time per request of the
    workers does much less, so it is printed too."""
    print(f"\n== BLAS threads per worker, {clients} clients × {seconds:.0f} s, 2 workers, alternating")
    for round_number in range(1, rounds + 1):
        for threads in ("1", "2"):
            env = {"WEB_CONCURRENCY": "2", "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
            with _server(log_dir, f"blas{threads}", env) as server:
                workers = server.worker_pids()
                cpu_before = sum(cpu_seconds(pid) for pid in workers)
                run = LoadRun(
                    server.port, probes["valid"], probes["bad"], clients=clients, seconds=seconds
                ).run()
                cpu_ms = (sum(cpu_seconds(pid) for pid in workers) - cpu_before) * 1e3 / len(run.outcomes)
                every = [o.latency for o in run.outcomes]
                print(
                    f"round {round_number} OPENBLAS_NUM_THREADS={threads}: "
                    f"{len(every) / run.elapsed:.0f} req/s, p50 {percentile_ms(every, 50):.1f} ms, "
                    f"p99 {percentile_ms(every, 99):.1f} ms, worker CPU {cpu_ms:.2f} ms/request, "
                    f"failed {len(run.failures())}"
                )


def _print_failures(failures: list[Outcome], limit: int = 10) -> None:
    for failure in failures[:limit]:
        print(f"  {failure.kind} at {failure.started:.2f} s: {failure.result} {failure.detail}")


def main(argv: list[str] | None = None) -> int:
    from model.checkpoint import DEFAULT_WEIGHTS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario", choices=["all", "load", "kill", "slow", "memory", "blas"], default="all"
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--weights", default=os.environ.get("DIGIT_LENS_WEIGHTS_PATH") or str(DEFAULT_WEIGHTS)
    )
    parser.add_argument("--mnist-dir", default=os.environ.get("MNIST_DIR"))
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 200 and 0 < args.seconds <= 120):
        parser.error("keep it bounded: 1-200 clients, at most 120 s")
    os.environ["DIGIT_LENS_WEIGHTS_PATH"] = args.weights  # what the served app loads
    probes = build_probes(args.weights, args.mnist_dir)
    print(
        f"weights {args.weights}; requests from {probes['source']}: {len(probes['valid'])} valid "
        f"({probes['dropped']} digits dropped: misread in-process), {len(probes['bad'])} bad kinds; "
        f"{os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="digit-lens-bench-") as scratch:
        log_dir = Path(scratch)
        if args.scenario in ("all", "load"):
            scenario_load(probes, log_dir, args.clients, args.seconds)
        if args.scenario in ("all", "kill"):
            scenario_kill(probes, log_dir, args.clients, min(args.seconds, 10.0))
        if args.scenario in ("all", "slow"):
            scenario_slow(probes, log_dir)
        if args.scenario in ("all", "memory"):
            scenario_memory(probes, log_dir)
        if args.scenario in ("all", "blas"):
            scenario_blas(probes, log_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
