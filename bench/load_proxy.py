"""bench.load's scenarios with Debian's nginx running deploy/nginx.conf in front of the same
gunicorn (see bench/load.py's overview): the load both ways, the heaviest requests both ways, the
latency the proxy adds, and slow clients against the proxy.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np

from app import DEFAULTS
from harness.clients import HealthProbes, LoadRun, heavy_probes, percentile_ms, summary
from harness.probes import padded_pixels_body
from harness.proxy import NginxProxy
from harness.serving import GunicornServer, children, cpu_seconds, peak_rss_kib
from harness.slow_clients import BODY, HEADERS, SlowClientRun, loopback_address


@contextlib.contextmanager
def _server_and_proxy(log_dir: Path, name: str):
    """gunicorn as the image runs it (2 workers) and nginx with deploy/nginx.conf in front."""
    with (
        GunicornServer(log_dir / f"{name}.log", env={"WEB_CONCURRENCY": "2"}) as server,
        NginxProxy(log_dir / f"nginx-{name}", server.port) as proxy,
    ):
        yield server, proxy


def _way_figures(runs: list[LoadRun]) -> dict:
    outcomes = [o for run in runs for o in run.outcomes]
    latencies = [o.latency for o in outcomes]
    failed = Counter(o.result for o in outcomes if o.result != "ok")
    return {
        "requests": len(outcomes),
        "rps": len(outcomes) / sum(run.elapsed for run in runs),
        "p50": percentile_ms(latencies, 50),
        "p99": percentile_ms(latencies, 99),
        "failed": dict(failed),
    }


# The proxy's per-client rate on /predict (deploy/nginx.conf) and a floor on clients that keeps
# each one under it at this service's throughput: the figures compare the proxy's cost, not its
# rate limit (which a client that sends more gets as 429s, and this load counts as failures).
PROXY_RATE_PER_CLIENT = 25
MIN_CLIENTS_VIA_PROXY = 40


def scenario_load_via_proxy(probes: dict, log_dir: Path, clients: int, seconds: float) -> None:
    if clients < MIN_CLIENTS_VIA_PROXY:
        print(
            f"\n(--via-proxy: {MIN_CLIENTS_VIA_PROXY} clients, not {clients}: fewer saturating clients each "
            f"send more than the proxy's {PROXY_RATE_PER_CLIENT} requests/s per client and get 429s)"
        )
        clients = MIN_CLIENTS_VIA_PROXY
    sources = [loopback_address(i) for i in range(clients)]
    half = seconds / 2
    with _server_and_proxy(log_dir, "load") as (server, proxy):
        runs: dict[str, list[LoadRun]] = {"direct": [], "proxy": []}
        order: list[tuple[str, LoadRun]] = []
        # ABBA: drift in what else the machine runs falls on both ways alike.
        for way in ("direct", "proxy", "proxy", "direct"):
            port = proxy.port if way == "proxy" else server.port
            processes = [*server.worker_pids(), *children(proxy.process.pid)]
            before = {pid: cpu_seconds(pid) for pid in processes}
            run = LoadRun(
                port, probes["valid"], probes["bad"], clients=clients, seconds=half, sources=sources
            ).run()
            used = {pid: cpu_seconds(pid) - before[pid] for pid in processes}
            run.cpu_ms = {  # CPU per request of the app's workers and of nginx's
                "app": sum(used[pid] for pid in server.worker_pids() if pid in used)
                * 1e3
                / len(run.outcomes),
                "nginx": sum(used[pid] for pid in children(proxy.process.pid) if pid in used)
                * 1e3
                / len(run.outcomes),
            }
            runs[way].append(run)
            order.append((way, run))
    print(
        f"\n== load with and without the proxy: {clients} clients (one address each), 2 workers, "
        f"10% bad inputs, 2 × {half:.0f} s each way (direct, proxy, proxy, direct)"
    )
    for way in ("direct", "proxy"):
        print(f"-- {way}, first round")
        print(summary(runs[way][0]))
    print("rounds (req/s; CPU ms per request of the app's workers + nginx's):")
    for way, run in order:
        print(
            f"  {way:<7}{len(run.outcomes) / run.elapsed:>6.0f} req/s  app {run.cpu_ms['app']:.2f} ms"
            f" + nginx {run.cpu_ms['nginx']:.3f} ms"
        )
    direct, proxied = _way_figures(runs["direct"]), _way_figures(runs["proxy"])
    print(f"{'':<8}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}  failures")
    for way, figures in (("direct", direct), ("proxy", proxied)):
        print(
            f"{way:<8}{figures['requests']:>9}{figures['rps']:>8.0f}{figures['p50']:>9.1f}{figures['p99']:>9.1f}"
            f"  {figures['failed'] or ''}"
        )
    print(
        f"proxy/direct: throughput ×{proxied['rps'] / direct['rps']:.2f}, "
        f"p50 ×{proxied['p50'] / direct['p50']:.2f}, p99 ×{proxied['p99'] / direct['p99']:.2f}"
    )


# 5xx answers by design, each with Retry-After: the proxy's 503 when no app replica is reachable,
# and the app's when a worker already holds as many large images as it may (app.DEFAULTS).
BY_DESIGN_5XX = {(503, "bad_gateway"), (503, "server_busy")}
_ERROR_CODE = re.compile(r'"code":\s*"(\w+)"')


def scenario_heavy(log_dir: Path, seconds: float, counts: tuple[int, ...] = (8, 16)) -> None:
    """N keep-alive clients (each from its own address) send the heaviest requests the shipped
    limits allow (harness.clients.heavy_probes) for ``seconds``, straight at gunicorn and through
    nginx, each way on a fresh server, while /healthz is probed every 0.2 s the same way. A client
    told to come back later (429 or 503 with Retry-After) waits as long as it is told."""
    probes = heavy_probes(DEFAULTS["MAX_IMAGE_PIXELS"], DEFAULTS["MAX_REQUEST_PIXELS"])
    print(
        f"\n== heavy: N clients × {seconds:.0f} s of the heaviest requests, 2 workers, each way on a fresh "
        f"server; kinds: {', '.join(f'{p.kind} ({len(p.body) // 1024} KiB)' for p in probes)}"
    )
    print(
        f"{'N':>3} {'way':<7}{'requests':>9}  {'p50/p99/max s':<18}{'peak MiB':<12}{'healthz s':<17}"
        f"{'failed':<9}  answers other than 200 ((status, code): count)"
    )
    for count in counts:
        sources = [loopback_address(i) for i in range(count)]
        for way in ("direct", "proxy"):
            with _server_and_proxy(log_dir, f"heavy-{count}-{way}") as (server, proxy):
                port = proxy.port if way == "proxy" else server.port
                run = LoadRun(port, probes, [], clients=count, seconds=seconds, bad_fraction=0.0,
                              timeout=30, sources=sources, honour_retry_after=True)
                with HealthProbes(port, source=loopback_address(count)) as health:
                    run.run()
                peaks = sorted(peak_rss_kib(pid) / 1024 for pid in server.worker_pids())
            answers = Counter(_status_and_code(o) for o in run.outcomes if o.status != 200)
            unexpected = sum(n for (status, code), n in answers.items()
                             if status and status >= 500 and (status, code) not in BY_DESIGN_5XX)
            print(
                f"{count:>3} {way:<7}{len(run.outcomes):>9}  {_spread([o.latency for o in run.outcomes]):<18}"
                f"{', '.join(f'{p:.0f}' for p in peaks):<12}{_spread(health.latencies()):<17}"
                f"{health.failed():>4}/{len(health.answers):<4}  {dict(answers) or ''}; "
                f"unexpected 5xx: {unexpected}"
            )


def _spread(latencies: list[float]) -> str:
    """p50/p99/max of ``latencies``, in seconds."""
    if not latencies:
        return "-"
    p50, p99 = (percentile_ms(latencies, q) / 1e3 for q in (50, 99))
    return f"{p50:.2f}/{p99:.2f}/{max(latencies):.2f}"


def _status_and_code(outcome) -> tuple[int | None, str | None]:
    found = _ERROR_CODE.search(outcome.detail)
    return outcome.status, found.group(1) if found else None


def _one_at_a_time(
    port: int, method: str, path: str, body: bytes | None, headers: dict, count: int, source: str
) -> list[float]:
    """Latencies (s) of ``count`` requests sent one after another on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    latencies = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
    finally:
        connection.close()
    return latencies


def scenario_overhead(probes: dict, log_dir: Path, requests: int = 400, rounds: int = 4) -> None:
    """The latency the proxy adds to one request: a single client, nothing else running, so the
    difference of medians is the proxy's own cost (an extra local hop and the body buffered).
    Requests go in runs of 25 from a new address each, inside the proxy's per-client burst (one
    client as fast as it can go would be rate-limited, which is not what is measured here)."""
    png = next(p for p in probes["valid"] if p.kind == "png")
    pixels = next(p for p in probes["valid"] if p.kind == "pixels")
    # A 4 MiB body: over client_body_buffer_size, so nginx spools it to a file before passing it on.
    large = padded_pixels_body(np.array(json.loads(pixels.body)["pixels"]), 4 * 1024 * 1024)
    cases = [
        ("GET /healthz", "GET", "/healthz", None, {}),
        (
            f"POST /predict ({len(png.body)} B PNG)",
            "POST",
            "/predict",
            png.body,
            {"Content-Type": png.content_type},
        ),
        ("POST /predict (4 MiB JSON)", "POST", "/predict", large, {"Content-Type": "application/json"}),
    ]
    print(
        f"\n== proxy overhead: one keep-alive client, one request at a time, {rounds} alternating rounds "
        f"× {requests // rounds} requests each way"
    )
    print(
        f"{'request':<28}{'direct p50':>11}{'proxy p50':>11}{'added p50':>11}"
        f"{'direct p90':>11}{'proxy p90':>11}"
    )
    with _server_and_proxy(log_dir, "overhead") as (server, proxy):
        for label, method, path, body, headers in cases:
            found = {"direct": [], "proxy": []}
            for round_number in range(rounds):
                for way, port in (("direct", server.port), ("proxy", proxy.port)):
                    for run in range(requests // rounds // 25):
                        source = loopback_address(1000 + 100 * round_number + run)
                        found[way] += _one_at_a_time(port, method, path, body, headers, 25, source)
            d50, p50 = percentile_ms(found["direct"], 50), percentile_ms(found["proxy"], 50)
            print(
                f"{label:<28}{d50:>9.2f}ms{p50:>9.2f}ms{(p50 - d50) * 1e3:>9.0f}µs"
                f"{percentile_ms(found['direct'], 90):>9.2f}ms{percentile_ms(found['proxy'], 90):>9.2f}ms"
            )


def scenario_slowclients(probes: dict, log_dir: Path, counts=(4, 8, 16, 32, 64, 128, 256)) -> None:
    png = next(p for p in probes["valid"] if p.kind == "png")
    print(
        "\n== slow clients: N trickle (half their headers, half their bodies, a byte every 0.25 s) while "
        "/healthz is probed 10 times (1 s each)"
    )
    print(
        "   probes answered in time of 10; 'one address': every slow client from 127.0.0.2 "
        "(the proxy allows 20 connections per address)"
    )
    print(
        f"{'N':>5}{'direct':>10}{'proxy':>10}{'proxy, one address':>22}  slow clients' answers via the proxy"
    )
    with _server_and_proxy(log_dir, "slowclients") as (server, proxy):
        direct_down = 0
        for count in counts:
            cells = []
            if direct_down < 2:
                direct = SlowClientRun(server.port, png, count // 2, count - count // 2).run()
                direct_down = direct_down + 1 if direct.answered() == 0 else 0
                cells.append(f"{direct.answered()}/10")
            else:
                cells.append("-")  # 0/10 at the two smaller N already
            proxied = SlowClientRun(proxy.port, png, count // 2, count - count // 2).run()
            one = SlowClientRun(proxy.port, png, count // 2, count - count // 2, same_source=True).run()
            cells += [f"{proxied.answered()}/10", f"{one.answered()}/10"]
            answers = (
                f"headers {proxied.statuses(HEADERS)}, bodies {proxied.statuses(BODY)}; one address: "
                f"bodies {one.statuses(BODY)}"
            )
            print(f"{count:>5}{cells[0]:>10}{cells[1]:>10}{cells[2]:>22}  {answers}")
