"""Time per number through POST /predict/number, in process (the Flask app's test client, the
committed weights): median, p90 and worst per kind of the measurement set (harness.numbers),
and over all of them, in wall-clock and CPU milliseconds (on a shared host the CPU time is the
request's own cost; the wall-clock time adds the wait for a core).

    python -m bench.numbers [--per-kind N]

Run it as the server runs: with one BLAS thread (OPENBLAS_NUM_THREADS=1, as gunicorn.conf.py
sets), or the network's batches of cut candidates pay for threads that fight over the cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from harness import numbers


def _figures(milliseconds: list[float]) -> str:
    ordered = sorted(milliseconds)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):>8.1f} {p90:>8.1f} {ordered[-1]:>8.1f}"


def _row(name: str, outcomes: list) -> str:
    wall = _figures([o.seconds * 1e3 for o in outcomes])
    cpu = _figures([o.cpu_seconds * 1e3 for o in outcomes])
    return f"{name:<24} {len(outcomes):>7} {wall}   {cpu}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.numbers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=40)
    parser.add_argument("--data-dir", help="MNIST directory (default: env MNIST_DIR)")
    args = parser.parse_args(argv)

    from app import create_app
    from model import checkpoint, mnist

    data = mnist.load_mnist(mnist.resolve_data_dir(args.data_dir))
    samples = numbers.generate(data.train_images, data.train_labels, args.per_kind)
    read = numbers.api_reader(create_app({"WEIGHTS_PATH": str(checkpoint.DEFAULT_WEIGHTS), "TESTING": True}))
    read(samples[0])  # the first request pays for imports and warm caches
    outcomes = [read(sample) for sample in samples]
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"{len(outcomes)} numbers through POST /predict/number in process")
    print(f"{'':<32} {'wall-clock ms per number':^26}   {'CPU ms per number':^26}")
    print(f"{'kind':<24} {'numbers':>7} " + f"{'median':>8} {'p90':>8} {'worst':>8}   " * 2)
    for kind in numbers.KINDS:
        mine = [o for o in outcomes if o.sample.kind == kind]
        if mine:
            print(_row(kind, mine))
    print(_row("all", outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
