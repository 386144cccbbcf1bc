"""Training replay benchmark: how fast the page's slider re-reads a drawing with each snapshot of
training, and what the snapshots cost a worker's memory, under gunicorn as the image starts it.

    python -m bench.replay                      # about a minute
    python -m bench.replay --passes 10 --weights path/to/weights.npz --workers 1

The drawing is bench/canvas-seven.png (what the page sends for a drawn 7), sent as the page sends
it: JSON {"image": data URL}. One client, one request at a time on one keep-alive connection, as
the page's client sends them while the slider is dragged (newest wins: one in flight). Each pass
walks the slider from the random start to the end and back (every snapshot twice), with the
includes of two page states:

- "answer only": ?snapshot=K&include=filters (every part inside the network closed or out of sight),
- "every part open": ?snapshot=K&include=steps,feature_maps,layers,saliency,filters,

and, beside them, the same requests without a snapshot (the served network) as the floor.
Target: p90 <= 50 ms per re-read with every part open.

Memory: each worker's RSS (and its peak, VmHWM) at rest after predictions, after its first snapshot
requests (the first loads the replay file), and after the walks (every snapshot built). The walks
run on one connection, so one worker answers them; with --workers 1 every request reaches it.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import tempfile
import time
from pathlib import Path

from bench.service import CANVAS_EXPORT
from bench.throughput import percentile
from harness.serving import GunicornServer, memory_kib, peak_rss_kib

TARGET_P90_MS = 50.0
ANSWER_ONLY = "include=filters"
EVERY_PART = "include=steps,feature_maps,layers,saliency,filters"


def walk(count: int, passes: int) -> list[int]:
    """The slider's positions over ``passes`` drags from the start to the end and back."""
    there = list(range(count))
    return (there + there[::-1]) * passes


def timed_requests(port: int, body: bytes, queries: list[str]) -> list[float]:
    """Each query's POST /predict on one keep-alive connection, one after the other: ms each."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    times = []
    try:
        for query in queries:
            started = time.perf_counter()
            connection.request("POST", f"/predict?{query}", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            times.append((time.perf_counter() - started) * 1e3)
            if response.status != 200:
                raise SystemExit(f"/predict?{query}: {response.status} {answer[:300]!r}")
    finally:
        connection.close()
    return times


def fresh_connection(server: GunicornServer, body: bytes, query: str) -> float:
    """One POST /predict on a new connection: ms."""
    started = time.perf_counter()
    headers = {"Content-Type": "application/json"}
    status, _, answer = server.request("POST", f"/predict?{query}", body, headers)
    if status != 200:
        raise SystemExit(f"/predict?{query}: {status} {answer[:300]!r}")
    return (time.perf_counter() - started) * 1e3


def worker_memory(server: GunicornServer) -> dict[int, tuple[float, float]]:
    """Each worker's (RSS, peak RSS) in MiB."""
    pids = sorted(server.worker_pids())
    return {pid: (memory_kib(pid)["Rss"] / 1024, peak_rss_kib(pid) / 1024) for pid in pids}


def print_memory(title: str, memory: dict[int, tuple[float, float]]) -> None:
    cells = ", ".join(f"worker {pid}: {rss:.1f} MiB (peak {peak:.1f})" for pid, (rss, peak) in memory.items())
    print(f"{title:44} {cells}")


def summary(name: str, times: list[float]) -> str:
    return (f"{name:36} {len(times):6d} {percentile(times, 50):9.2f} {percentile(times, 90):9.2f} "
            f"{percentile(times, 99):9.2f} {max(times):9.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=6, help="drags from the start to the end and back")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (default: gunicorn.conf.py's, per CPU)")
    parser.add_argument("--weights", help="weights file with a replay beside it (default: the committed)")
    args = parser.parse_args(argv)
    if not 1 <= args.passes <= 100 or (args.workers is not None and not 1 <= args.workers <= 16):
        parser.error("--passes 1..100, --workers 1..16")

    from model import checkpoint

    weights = Path(args.weights) if args.weights else checkpoint.DEFAULT_WEIGHTS
    snapshots = checkpoint.load_card(weights).get("replay") or []
    if len(snapshots) < 2:
        raise SystemExit(f"{weights} lists no training replay in its model card (python -m model.train)")
    replay_file = weights.with_suffix(".replay.npz")
    drawing = base64.b64encode(CANVAS_EXPORT.read_bytes()).decode()
    body = json.dumps({"image": f"data:image/png;base64,{drawing}"})
    print(f"weights: {weights}; replay: {len(snapshots)} snapshots, {replay_file.stat().st_size:,} bytes "
          f"in {replay_file.name}")
    print(f"cpus: {os.cpu_count()}, load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")

    env = {"DIGIT_LENS_WEIGHTS_PATH": str(weights)}
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    one_drag = walk(len(snapshots), 1)
    with tempfile.TemporaryDirectory() as tmp, GunicornServer(Path(tmp) / "gunicorn.log", env=env) as server:
        print(f"gunicorn: {' '.join(server.argv)}, {server.expected_workers()} worker(s), "
              "settings from gunicorn.conf.py")
        # Each on a new connection, which any worker may take: every worker answers some without a
        # snapshot (so its base is that of a worker in use), then some with one.
        workers = server.expected_workers()
        for _ in range(8 * workers):
            fresh_connection(server, body, EVERY_PART)
        print_memory("at rest, after predictions:", worker_memory(server))
        first_ms = max(fresh_connection(server, body, f"snapshot=0&{EVERY_PART}") for _ in range(4 * workers))
        print_memory("after first snapshot requests:", worker_memory(server))

        # The rows take turns, one drag there and back at a time, so that a change in the machine's
        # speed (other work on its cores) falls on all of them alike.
        rows: dict[str, list[float]] = {}
        cpu: dict[str, float] = {}
        for _ in range(args.passes):
            for name, include in (("answer only", ANSWER_ONLY), ("every part open", EVERY_PART)):
                for row, queries in ((f"served network, {name}", [include] * len(one_drag)),
                                     (f"snapshots, {name}", [f"snapshot={k}&{include}" for k in one_drag])):
                    cpu_before = server.cpu_seconds()
                    rows.setdefault(row, []).extend(timed_requests(server.port, body, queries))
                    cpu[row] = cpu.get(row, 0.0) + server.cpu_seconds() - cpu_before
        print_memory("after the walks (every snapshot rebuilt):", worker_memory(server))

    print(f"\nslowest first snapshot request (a worker loads the replay file): {first_ms:.1f} ms")
    print(f"\nPOST /predict, one at a time, {args.passes} drags over the {len(snapshots)} snapshots "
          "and back; ms:")
    print(f"{'':36} {'count':>6} {'p50':>9} {'p90':>9} {'p99':>9} {'max':>9} {'server CPU':>11}")
    for name, times in rows.items():
        print(f"{summary(name, times)} {cpu[name] / len(times) * 1e3:11.2f}")
    print("(server CPU: gunicorn's CPU time per request, what a re-read costs whoever else uses the cores)")
    p90 = percentile(rows["snapshots, every part open"], 90)
    verdict = "PASS" if p90 <= TARGET_P90_MS else "FAIL"
    print(f"\ntarget: p90 <= {TARGET_P90_MS:g} ms per re-read with every part open: {p90:.1f} ms  {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
