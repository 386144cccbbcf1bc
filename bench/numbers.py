"""Time per number through POST /predict/number: median, p90 and worst per kind of the
measurement set (harness.numbers) and over all of them, in process (the Flask app's test
client, the committed weights) and through gunicorn as the image starts it on 127.0.0.1, side by
side in one run, with their ratio.

    python -m bench.numbers [--per-kind N] [--skip-gunicorn]

In process the figures are wall-clock and CPU milliseconds of the request (on a shared host the
CPU time is the request's own cost; the wall-clock time adds the wait for a core). Through
gunicorn each number is posted on one keep-alive connection, one after the other, and timed by
the client; the server's CPU per number is what its master and workers used, over the kind.

Run it as the server runs: with one BLAS thread (OPENBLAS_NUM_THREADS=1, as gunicorn.conf.py
sets), or the network's batches of cut candidates pay for threads that fight over the cores.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import numbers
from harness.serving import GunicornServer


def _p90(milliseconds: list[float]) -> float:
    ordered = sorted(milliseconds)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _figures(milliseconds: list[float]) -> str:
    return f"{statistics.median(milliseconds):>8.1f} {_p90(milliseconds):>8.1f} {max(milliseconds):>8.1f}"


def in_process(samples: list[numbers.NumberSample], data_dir: str | None) -> dict[str, list]:
    """Each kind's outcomes read through the app's test client."""
    from app import create_app
    from model import checkpoint

    read = numbers.api_reader(create_app({"WEIGHTS_PATH": str(checkpoint.DEFAULT_WEIGHTS), "TESTING": True}))
    read(samples[0])  # the first request pays for imports and warm caches
    return _by_kind([read(sample) for sample in samples])


def through_gunicorn(samples: list[numbers.NumberSample]) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Each kind's client-side milliseconds per number through gunicorn as the image starts it,
    and the server's CPU milliseconds per number of that kind."""
    times: dict[str, list[float]] = {}
    cpu_ms: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, GunicornServer(Path(tmp) / "gunicorn.log") as server:
        print(f"gunicorn: {' '.join(server.argv)}, {server.expected_workers()} worker(s), "
              "settings from gunicorn.conf.py")
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            for sample in samples[: 4 * server.expected_workers()]:  # every worker warmed
                _post(connection, sample)
            for kind in numbers.KINDS:
                mine = [sample for sample in samples if sample.kind == kind]
                cpu_before = server.cpu_seconds()
                times[kind] = [_post(connection, sample) for sample in mine]
                cpu_ms[kind] = (server.cpu_seconds() - cpu_before) * 1e3 / max(1, len(mine))
        finally:
            connection.close()
    return times, cpu_ms


def _post(connection: http.client.HTTPConnection, sample: numbers.NumberSample) -> float:
    """One number posted as its raw image body: client-side ms. A 4xx refusal is timed too
    (harness.numbers --report counts them); a server error stops the run."""
    headers = {"Content-Type": sample.content_type}
    started = time.perf_counter()
    connection.request("POST", "/predict/number", body=sample.data, headers=headers)
    response = connection.getresponse()
    answer = response.read()
    if response.status >= 500:
        raise SystemExit(f"{sample.kind} {sample.label}: {response.status} {answer[:300]!r}")
    return (time.perf_counter() - started) * 1e3


def _by_kind(outcomes: list) -> dict[str, list]:
    return {kind: [o for o in outcomes if o.sample.kind == kind] for kind in numbers.KINDS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.numbers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=40)
    parser.add_argument("--data-dir", help="MNIST directory (default: env MNIST_DIR)")
    parser.add_argument("--skip-gunicorn", action="store_true", help="in process only")
    args = parser.parse_args(argv)
    if not 1 <= args.per_kind <= 500:
        parser.error("--per-kind 1..500")

    from model import mnist

    data = mnist.load_mnist(mnist.resolve_data_dir(args.data_dir))
    samples = numbers.generate(data.train_images, data.train_labels, args.per_kind)
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, cpus: {os.cpu_count()}, "
          f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {len(samples)} numbers")
    local = in_process(samples, args.data_dir)
    served, server_cpu = ({}, {}) if args.skip_gunicorn else through_gunicorn(samples)
    every_kind = [*numbers.KINDS, "all"]
    local["all"] = [o for kind in numbers.KINDS for o in local[kind]]
    if served:
        served["all"] = [ms for kind in numbers.KINDS for ms in served[kind]]
        server_cpu["all"] = statistics.fmean([server_cpu[kind] for kind in numbers.KINDS])

    print("\nms per number: median, p90, worst")
    header = f"{'kind':<24} {'numbers':>7}   {'in process, wall':^26}   {'in process, CPU':^26}"
    if served:
        header += f"   {'through gunicorn':^26}   {'server CPU':>10}   {'gunicorn / in process':>21}"
    print(header)
    for kind in every_kind:
        wall = [o.seconds * 1e3 for o in local[kind]]
        row = (f"{kind:<24} {len(wall):>7}   {_figures(wall)}   "
               f"{_figures([o.cpu_seconds * 1e3 for o in local[kind]])}")
        if served:
            ratio = f"{statistics.median(served[kind]) / statistics.median(wall):.2f}× median, " \
                    f"{_p90(served[kind]) / _p90(wall):.2f}× p90"
            row += f"   {_figures(served[kind])}   {server_cpu[kind]:>10.1f}   {ratio:>21}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
