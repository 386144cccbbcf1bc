"""``python -m harness.realworld [--report] [--failures] [--grid-dir D]``: generate the set and
read it through ``POST /predict`` (see the package docstring)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import harness.realworld as realworld
from harness.realworld.evaluation import api_classifier, evaluate, failure_lines, report_table, save_grids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.realworld",
        description=realworld.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--report", action="store_true", help="classify the set through /predict, print the table"
    )
    parser.add_argument(
        "--weights", help="weights file (default: the committed model/weights/digit_lens.npz)"
    )
    parser.add_argument("--data-dir", help="MNIST directory (default: env MNIST_DIR, else data/mnist)")
    parser.add_argument("--seed", type=int, default=realworld.SEED)
    parser.add_argument("--grid-dir", type=Path, help="save per-kind grids of the network inputs here")
    parser.add_argument("--failures", action="store_true", help="list every misread image")
    args = parser.parse_args(argv)

    from model import checkpoint, mnist

    data = mnist.load_mnist(mnist.resolve_data_dir(args.data_dir))
    started = time.perf_counter()
    samples = realworld.generate(data.test_images, data.test_labels, args.seed)
    generated = time.perf_counter() - started
    print(f"generated {len(samples)} images in {generated:.1f} s (seed {args.seed})")
    if not args.report:
        return 0

    from app import create_app

    weights = args.weights or str(checkpoint.DEFAULT_WEIGHTS)
    app = create_app({"WEIGHTS_PATH": weights, "TESTING": True})
    started = time.perf_counter()
    by_kind = evaluate(samples, api_classifier(app))
    print(f"classified through POST /predict in {time.perf_counter() - started:.1f} s with {weights}\n")
    print(report_table(by_kind))
    if args.failures:
        print()
        print(*failure_lines(by_kind), sep="\n")
    if args.grid_dir:
        save_grids(by_kind, args.grid_dir)
        print(f"\ngrids of the network inputs in {args.grid_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
