"""What each kind of training augmentation buys, measured side by side.

    MNIST_DIR=../shared/data/mnist python -m bench.augmentation [--epochs 10]

Trains the network once per augmentation setting (none, stroke width only, affine jitter
only, both), same seed and epochs, and prints for each: MNIST test accuracy and the
accuracy on the generated real-world set (harness.realworld) read through POST /predict.
Takes about 1.5 minutes per setting and 10 epochs on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from app import create_app
from harness import realworld
from model import mnist
from model.train import AUGMENTATIONS, keep_freed_memory, parse_args, train


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="MNIST directory (default: $MNIST_DIR)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", nargs="+", default=["none", "stroke", "affine", "full"],
                        choices=sorted(AUGMENTATIONS))
    args = parser.parse_args(argv)
    keep_freed_memory()

    data_dir = mnist.resolve_data_dir(args.data_dir)
    data = mnist.load_mnist(data_dir)
    samples = realworld.generate(data.test_images, data.test_labels)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for setting in args.settings:
            out = Path(tmp) / f"{setting}.npz"
            train_args = parse_args([
                "--data-dir", str(data_dir), "--epochs", str(args.epochs), "--seed", str(args.seed),
                "--augment", setting, "--log-every", "0", "--out", str(out),
            ])
            _, card = train(train_args, log=lambda line: None)  # saves weights, card and verdict rule
            app = create_app({"WEIGHTS_PATH": str(out), "TESTING": True})
            by_kind = realworld.evaluate(samples, realworld.api_classifier(app))
            everything = [outcome for outcomes in by_kind.values() for outcome in outcomes]
            groups = {
                group: [o for kind, outcomes in by_kind.items() if kind.startswith(group) for o in outcomes]
                for group in ("typed", "canvas", "mnist")
            }
            rows.append((setting, card["test_accuracy"], realworld.accuracy(everything),
                         {group: realworld.accuracy(outcomes) for group, outcomes in groups.items()}))
            print(f"{setting}: MNIST test {card['test_accuracy']:.4f}, "
                  f"real-world {realworld.accuracy(everything):.4f}", flush=True)

    print(f"\n{args.epochs} epochs, seed {args.seed}, {len(samples)} real-world images")
    print("| augmentation | MNIST test | real-world all | typed | canvas | MNIST-derived |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for setting, test_accuracy, real_world, groups in rows:
        print(f"| {setting} | {100 * test_accuracy:.2f}% | {100 * real_world:.1f}% | "
              + " | ".join(f"{100 * groups[g]:.1f}%" for g in ("typed", "canvas", "mnist")) + " |")


if __name__ == "__main__":
    main()
