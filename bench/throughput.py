"""A bounded load of one request on a gunicorn on 127.0.0.1, for bench.service: ``wrk`` when
installed (apt-get install wrk), else Python threads; each gives requests, errors and p50/p99.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.serving import GunicornServer


@dataclass(frozen=True)
class Scenario:
    """One request the benchmark sends again and again, named as its table row."""

    name: str
    method: str
    path: str
    body: bytes = b""
    content_type: str | None = None

    def send(self, server: GunicornServer) -> tuple[int, dict[str, str], bytes]:
        """This request on a new connection to ``server``: (status, headers, body)."""
        headers = {"Content-Type": self.content_type} if self.content_type else {}
        return server.request(self.method, self.path, self.body or None, headers)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


@dataclass
class LoadResult:
    """One endpoint's load (or a round of it) as the clients saw it."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    notes: list[str] = field(default_factory=list)
    server_cpu_seconds: float = float("nan")  # gunicorn's CPU time over the run

    @property
    def server_cpu_us(self) -> float:
        """The server's CPU time per request: what a request costs, whoever else uses the CPUs."""
        return self.server_cpu_seconds / self.requests * 1e6 if self.requests else float("nan")

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def python_load(server: GunicornServer, scenario: Scenario, seconds: float, threads: int) -> LoadResult:
    """``threads`` clients, each sending requests back to back until ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads

    def client(index: int) -> None:
        # A bound on the count as well as the time, whatever the server does.
        for _ in range(1_000_000):
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            try:
                status, _, _ = scenario.send(server)
            except OSError:
                status = 0
            latencies[index].append((time.perf_counter() - started) * 1e3)
            if status != 200:
                errors[index] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 15)
    elapsed = time.monotonic() - started
    merged = [value for values in latencies for value in values]
    return LoadResult(len(merged), sum(errors), elapsed, percentile(merged, 50), percentile(merged, 99))


WRK_SCRIPT = """
wrk.method = "{method}"
{headers}
local file = io.open("{body_path}", "rb")
wrk.body = file:read("*all")
file:close()
"""


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk_load(
    server: GunicornServer, scenario: Scenario, seconds: float, threads: int, tmp: Path
) -> LoadResult:
    body_path = tmp / "body.bin"
    body_path.write_bytes(scenario.body)
    headers = f'wrk.headers["Content-Type"] = "{scenario.content_type}"' if scenario.content_type else ""
    script = tmp / "request.lua"
    script.write_text(WRK_SCRIPT.format(method=scenario.method, headers=headers, body_path=body_path))
    command = [
        "wrk", "-t", str(min(threads, 2)), "-c", str(threads), "-d", f"{seconds:g}s", "--timeout", "10s",
        "--latency", "-s", str(script), f"http://127.0.0.1:{server.port}{scenario.path}",
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", output).group(1))
    duration = re.search(r"requests in ([\d.]+(?:us|ms|s))", output).group(1)
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", output, re.MULTILINE))
    if not {"50", "99"} <= percentiles.keys():
        raise RuntimeError(f"wrk printed no latency percentiles for {scenario.path}:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    result = LoadResult(
        requests,
        int(non_2xx.group(1)) if non_2xx else 0,
        _wrk_ms(duration) / 1e3,
        _wrk_ms(percentiles["50"]),
        _wrk_ms(percentiles["99"]),
    )
    if socket_errors:
        result.notes.append(f"socket errors: {socket_errors.group(1)}")
    return result


def combine(slices: list[LoadResult]) -> LoadResult:
    """One endpoint's rounds as one run: counts and times added; p50 the median of the rounds'
    p50s, p99 the worst round's."""
    return LoadResult(
        sum(part.requests for part in slices),
        sum(part.errors for part in slices),
        sum(part.seconds for part in slices),
        statistics.median(part.p50_ms for part in slices),
        max(part.p99_ms for part in slices),
        [note for part in slices for note in part.notes],
        sum(part.server_cpu_seconds for part in slices),
    )
