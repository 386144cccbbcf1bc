"""``python -m harness.nondigits [--report] [--weights W] [--grid PNG]``: the non-digit set and the
verdicts on it and on real digits (see the package docstring)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from harness.nondigits import evaluation, samples


def save_grid(nondigits: list[samples.NonDigit], path: Path) -> None:
    """The network inputs of the set, 20 to a row, so a person can look at what was judged."""
    from app.preprocessing import PreprocessingError
    from harness.preprocessing import preprocess

    tiles = []
    for sample in nondigits:
        try:
            tiles.append(preprocess(sample.data, evaluation.MAX_PIXELS))
        except PreprocessingError:
            tiles.append(np.full((28, 28), 0.3, dtype=np.float32))
    rows = -(-len(tiles) // 20)
    grid = np.zeros((rows * 30, 20 * 30), dtype=np.float32)
    for i, tile in enumerate(tiles):
        y, x = (i // 20) * 30, (i % 20) * 30
        grid[y + 1 : y + 29, x + 1 : x + 29] = tile
    Image.fromarray((grid * 255).astype(np.uint8)).save(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.nondigits", description=__doc__)
    parser.add_argument("--report", action="store_true", help="judge the set and real digits, print tables")
    parser.add_argument("--weights", help="weights file (default: model/weights/digit_lens.npz)")
    parser.add_argument("--data-dir", help="MNIST directory (default: env MNIST_DIR)")
    parser.add_argument("--grid", type=Path, help="save the set's network inputs as one PNG grid")
    parser.add_argument("--seed", type=int, default=samples.SEED)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    nondigits = samples.generate(args.seed)
    print(f"generated {len(nondigits)} non-digit images in {time.perf_counter() - started:.1f} s")
    if args.grid:
        save_grid(nondigits, args.grid)
        print(f"network inputs in {args.grid}")
    if not args.report:
        return 0

    import harness.realworld as realworld
    from model import checkpoint, mnist

    judge = evaluation.Judge(args.weights or checkpoint.DEFAULT_WEIGHTS)
    kinds = [judge.tally(kind, data) for kind, data in evaluation.by_kind(nondigits).items()]
    print("\nNon-digits: flagged = verdict unsure or not_a_digit, or no digit found\n")
    print(evaluation.table([*kinds, evaluation.total("all non-digits", kinds)], "flagged"))

    data = mnist.load_mnist(mnist.resolve_data_dir(args.data_dir))
    real = realworld.generate(data.test_images, data.test_labels)
    digits = [judge.tally(kind, uploads) for kind, uploads in evaluation.by_kind(real).items()]
    mnist_test = judge.mnist_tally(data.test_images)
    print("\nReal digits: accepted = verdict digit\n")
    everything = evaluation.total("all real-world digits", digits)
    print(evaluation.table([*digits, everything, mnist_test], "accepted"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
