"""Load and fault benchmark: gunicorn started exactly as the Docker image starts it, on 127.0.0.1.

    python -m bench.load                       # every scenario
    python -m bench.load --scenario load --clients 20 --seconds 20
    python -m bench.load --scenario kill | slow | memory | blas
    python -m bench.load --via-proxy           # also through nginx (deploy/nginx.conf), side by side
    python -m bench.load --scenario overhead | slowclients   # the proxy's own scenarios
    python -m bench.load --scenario heavy --seconds 20      # the heaviest requests, both ways

Scenarios:
  load    mixed /predict requests (PNG, JPEG, multipart, data URL, JSON pixels, 10% bad inputs)
          from keep-alive clients; requests, errors, p50/p99 latency and requests/s per kind.
  kill    the same load with one worker SIGKILLed mid-run: failures around the kill, respawn time.
  slow    clients trickling their bodies while others load the server: gthread (the config)
          against sync workers.
  memory  Rss/Pss of master and workers with preload_app on and off.
  blas    latency with one BLAS thread per worker (the config) against two.

With --via-proxy, Debian's nginx runs deploy/nginx.conf (upstream and port rewritten) in front of
the same gunicorn (these scenarios are in bench/load_proxy.py), and ``load`` runs both ways in one
run (direct, proxy, proxy, direct), each client from its own loopback address as distinct clients
would be (the proxy limits each address):
  overhead     one keep-alive client, requests one at a time: the latency the proxy adds.
  slowclients  N clients trickling headers or bodies (half each) while /healthz is probed 10
               times (1 s each): direct, through the proxy, and through it from one address.
  heavy        8, then 16 clients sending the heaviest requests the limits allow (batches of
               drawings at the pixel limit: lossless WebP, PNG, JPEG) for --seconds, straight at
               gunicorn and through the proxy, each on a fresh server: each worker's peak RSS,
               /healthz latency meanwhile, and every answer that is not a 200 (5xx other than
               the proxy's 503 by design counted as unexpected).

Requests and their expected answers come from harness.probes (MNIST test digits with MNIST_DIR,
drawn digits without). Every valid request under load must get exactly its digit; every bad one
its documented 4xx code.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.load_proxy import scenario_heavy, scenario_load_via_proxy, scenario_overhead, scenario_slowclients
from harness.clients import LoadRun, Outcome, kill_worker_under_load, percentile_ms, summary, trickle_upload
from harness.probes import build_probes
from harness.proxy import NGINX
from harness.serving import (
    GUNICORN_CONFIG,
    GunicornServer,
    cpu_seconds,
    dockerfile_command,
    memory_kib,
    read_dockerfile,
)


def _server(
    log_dir: Path, name: str, env: dict | None = None, argv: list[str] | None = None
) -> GunicornServer:
    return GunicornServer(log_dir / f"{name}.log", env=env, argv=argv)


def scenario_load(probes: dict, log_dir: Path, clients: int, seconds: float, via_proxy: bool = False) -> None:
    if via_proxy:
        scenario_load_via_proxy(probes, log_dir, clients, seconds)
        return
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
        "--scenario",
        choices=["all", "load", "kill", "slow", "memory", "blas", "overhead", "slowclients", "heavy"],
        default="all",
    )
    parser.add_argument(
        "--via-proxy", action="store_true", help="also through nginx with deploy/nginx.conf, side by side"
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
    needs_proxy = args.via_proxy or args.scenario in ("overhead", "slowclients", "heavy")
    if needs_proxy and not NGINX.is_file():
        parser.error(f"{NGINX} not found (apt-get install nginx)")
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
            scenario_load(probes, log_dir, args.clients, args.seconds, args.via_proxy)
        if args.scenario in ("all", "kill"):
            scenario_kill(probes, log_dir, args.clients, min(args.seconds, 10.0))
        if args.scenario in ("all", "slow"):
            scenario_slow(probes, log_dir)
        if args.scenario in ("all", "memory"):
            scenario_memory(probes, log_dir)
        if args.scenario in ("all", "blas"):
            scenario_blas(probes, log_dir)
        if args.scenario == "overhead" or (args.scenario == "all" and args.via_proxy):
            scenario_overhead(probes, log_dir)
        if args.scenario == "slowclients" or (args.scenario == "all" and args.via_proxy):
            scenario_slowclients(probes, log_dir)
        if args.scenario == "heavy" or (args.scenario == "all" and args.via_proxy):
            scenario_heavy(log_dir, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
