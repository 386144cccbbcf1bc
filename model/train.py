"""Train the Digit Lens CNN on MNIST and write its weights and model card.

    python -m model.train --data-dir ../shared/data/mnist --epochs 20 --seed 0

Trains with the fused convolution block of ``model.fast``; ``--reference`` trains with the
textbook layers of ``model.layers`` only (the same function, slower).

Prints a progress line every ``--log-every`` batches (loss, images/s) and one line per
epoch (train and test accuracy, seconds); ends by writing ``--out`` (.npz) and the model
card beside it (.json). The same arguments and seed give the same weights.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import datetime
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

from model import checkpoint, mnist
from model.augment import NONE, Augmentation, augment
from model.network import DEFAULT_SPEC, INIT, Network, output_shapes
from model.optimizers import OPTIMIZERS

_FULL = Augmentation()
AUGMENTATIONS = {
    "full": _FULL,
    "affine": dataclasses.replace(_FULL, thicken=0.0, thin=0.0),
    "stroke": dataclasses.replace(_FULL, rotation_degrees=0.0, scale=0.0, shear=0.0, translation=0.0),
    "none": NONE,
}

# Train accuracy is measured on this many fixed training images (not all 60,000: it
# would take as long as a third of an epoch and tells nothing more).
TRAIN_EVAL_SIZE = 10_000


def keep_freed_memory() -> None:
    """Ask glibc to keep freed blocks of up to 32 MiB for reuse instead of unmapping them.

    Every training step allocates and frees the same few arrays of several MiB; by default
    each comes from a fresh mmap whose pages fault in one by one, which costs ~15% of a step.
    A no-op where the C library has no mallopt (macOS, musl).
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's largest allowed value
    mallopt(m_trim_threshold, 256 * 1024 * 1024)


def to_network_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) → float32 (N, 1, 28, 28) in [0, 1], the network's input."""
    return (images.astype(np.float32) / 255.0)[:, None]


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[true, predicted] (classes, classes)."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (labels.astype(np.intp), predictions.astype(np.intp)), 1)
    return counts


def predict_classes(network: Network, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Most probable class (N,) for images (N, 1, 28, 28)."""
    batches = range(0, len(images), batch_size)
    return np.concatenate([network.predict(images[i : i + batch_size])[0].argmax(axis=1) for i in batches])


def learning_rate(base: float, schedule: str, step: int, total_steps: int) -> float:
    """The step's learning rate: constant, or cosine decay from base to base/100."""
    if schedule == "constant":
        return base
    floor = base / 100
    return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * step / total_steps))


def filters_of(network: Network, name: str = "conv1") -> list:
    """The first convolution's filters as nested lists (FN, FH, FW) for the model card."""
    weights = network.params[f"{name}.W"]
    return np.round(weights[:, 0], 6).tolist()


FILTER_FIGURES = (
    "Means over the filters. correlation_with_start: Pearson correlation of each trained filter with its "
    "start. neighbour_correlation: Pearson correlation, within each trained filter, between every weight and "
    "its right-hand and lower neighbours (all adjacent pairs of the filter together)."
)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two arrays' values, in the order they are stored."""
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def filter_figures(before, after) -> dict:
    """How much the filters (FN, FH, FW) learned, two figures averaged over the filters:

    * correlation_with_start: Pearson correlation of each trained filter with its start
      (near 1: training barely moved it);
    * neighbour_correlation: within each trained filter, the Pearson correlation between
      every weight and its right-hand and lower neighbour, all 2·FH·(FW−1) such pairs of a
      square filter together (near 0: noise; higher: smooth strokes, edges and blobs).
    """
    before, after = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    neighbours = []
    for w in after:
        first = np.concatenate([w[:, :-1].ravel(), w[:-1, :].ravel()])
        second = np.concatenate([w[:, 1:].ravel(), w[1:, :].ravel()])
        neighbours.append(_correlation(first, second))
    starts = [_correlation(a, b) for a, b in zip(after, before, strict=True)]
    return {
        "correlation_with_start": round(float(np.mean(starts)), 4),
        "neighbour_correlation": round(float(np.mean(neighbours)), 4),
    }


def train(args: argparse.Namespace, log=print) -> tuple[Network, dict]:
    """Run the training described by the parsed arguments; returns (network, model card)."""
    started = time.perf_counter()
    data_dir = mnist.resolve_data_dir(args.data_dir)
    if args.download:
        mnist.download(data_dir)
    data = mnist.load_mnist(data_dir)
    train_images = to_network_input(data.train_images)
    train_labels = data.train_labels.astype(np.intp)
    test_images = to_network_input(data.test_images)
    test_labels = data.test_labels.astype(np.intp)
    if args.limit:
        train_images, train_labels = train_images[: args.limit], train_labels[: args.limit]

    rng = np.random.default_rng(args.seed)
    network = Network(DEFAULT_SPEC, rng=rng, fast=not args.reference)
    filters_before = filters_of(network)
    optimizer = OPTIMIZERS[args.optimizer](lr=args.lr)
    aug = AUGMENTATIONS[args.augment]
    eval_images = train_images[:TRAIN_EVAL_SIZE]
    eval_labels = train_labels[:TRAIN_EVAL_SIZE]

    n = len(train_images)
    steps_per_epoch = math.ceil(n / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    history = []
    step = 0
    log(
        f"training {network.parameter_count:,} parameters on {n:,} images: {args.epochs} epochs, "
        f"batch {args.batch_size}, {args.optimizer} lr {args.lr} ({args.schedule}), "
        f"augmentation {args.augment}, seed {args.seed}, "
        + ("textbook layers (--reference)" if args.reference else "fused conv→ReLU→pool block")
    )
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        order = rng.permutation(n)
        losses = []
        window_start, window_images = time.perf_counter(), 0
        for batch in range(steps_per_epoch):
            index = order[batch * args.batch_size : (batch + 1) * args.batch_size]
            images = augment(train_images[index], rng, aug)
            optimizer.lr = learning_rate(args.lr, args.schedule, step, total_steps)
            loss, grads = network.gradient(images, train_labels[index])
            optimizer.update(network.params, grads)
            losses.append(loss)
            step += 1
            window_images += len(index)
            if args.log_every and (batch + 1) % args.log_every == 0:
                rate = window_images / (time.perf_counter() - window_start)
                log(
                    f"  epoch {epoch} batch {batch + 1}/{steps_per_epoch}  "
                    f"loss {np.mean(losses[-args.log_every:]):.4f}  {rate:,.0f} images/s"
                )
                window_start, window_images = time.perf_counter(), 0
        train_seconds = time.perf_counter() - epoch_start
        train_accuracy = float((predict_classes(network, eval_images) == eval_labels).mean())
        test_predictions = predict_classes(network, test_images)
        test_accuracy = float((test_predictions == test_labels).mean())
        record = {
            "epoch": epoch,
            "loss": round(float(np.mean(losses)), 5),
            "train_accuracy": round(train_accuracy, 5),
            "test_accuracy": round(test_accuracy, 5),
            "seconds": round(train_seconds, 2),
            "learning_rate": round(optimizer.lr, 7),
        }
        history.append(record)
        log(
            f"epoch {epoch}/{args.epochs}  loss {record['loss']:.4f}  train acc {train_accuracy:.4f}  "
            f"test acc {test_accuracy:.4f}  {train_seconds:.1f} s"
        )
        card = model_card(
            network, args, aug, history, filters_before, data_dir, test_predictions, test_labels, n,
            time.perf_counter() - started,
        )
        if args.out:
            # After every epoch, so a long run that is stopped still leaves usable weights.
            checkpoint.save(args.out, network, card)

    return network, card


def model_card(network, args, aug, history, filters_before, data_dir, predictions, test_labels, n, seconds):
    """The human-readable record of a training run (written next to the weights)."""
    filters_after = filters_of(network)
    return {
        "name": "Digit Lens CNN",
        "format": checkpoint.FORMAT,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "architecture": [
            {**entry, "output_shape": list(shape)}
            for entry, (_, shape) in zip(network.spec["layers"], output_shapes(network.spec), strict=True)
        ],
        "input": {"shape": network.spec["input_shape"], "range": [0.0, 1.0], "ink": "white on black"},
        "parameter_count": network.parameter_count,
        "training": {
            "command": "python -m model.train " + " ".join(args.argv),
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "optimizer": args.optimizer,
            "learning_rate": args.lr,
            "schedule": args.schedule,
            "seed": args.seed,
            "init": INIT,
            "layers": "reference (model.layers)" if args.reference else "fast (model.fast block)",
            "augmentation": aug.as_dict(),
            "training_images": n,
            "seconds": round(seconds, 1),
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "data": {"directory_files": mnist.file_checksums(data_dir), "checksum": "sha256"},
        "history": history,
        "test_accuracy": float((predictions == test_labels).mean()),
        "test_images": len(test_labels),
        "confusion_matrix": confusion_matrix(test_labels, predictions).tolist(),
        "filters": {
            "layer": "conv1",
            "before": filters_before,
            "after": filters_after,
            **filter_figures(filters_before, filters_after),
            "figures": FILTER_FIGURES,
        },
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder with the four MNIST IDX files (default: $MNIST_DIR)")
    parser.add_argument("--download", action="store_true", help="fetch MNIST from a public mirror first")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.001, help="base learning rate")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    parser.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--augment", choices=sorted(AUGMENTATIONS), default="full",
        help="full: random affine jitter and stroke-width changes (default); affine or stroke: "
        "one of them; none",
    )
    parser.add_argument(
        "--reference", action="store_true",
        help="train with the textbook layers of model.layers instead of the fused block of model.fast",
    )
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    parser.add_argument("--log-every", type=int, default=100, help="progress line every N batches")
    parser.add_argument("--out", default=str(checkpoint.DEFAULT_WEIGHTS), help="weights file (.npz)")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not args.lr > 0:
        parser.error("--lr must be positive")
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keep_freed_memory()
    try:
        network, card = train(args)
    except mnist.MnistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    print(f"test accuracy {card['test_accuracy']:.4f}; wrote {out} and {checkpoint.card_path(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
