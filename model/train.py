"""Train the Digit Lens CNN on MNIST and write its weights and model card.

    python -m model.train --data-dir ../shared/data/mnist --epochs 20 --seed 0

Trains with the fused convolution block of ``model.fast``; ``--reference`` trains with the
textbook layers of ``model.layers`` only (the same function, slower). Non-digit images join
every batch, trained toward a uniform answer (outlier exposure, ``model.outlier_exposure``;
``--no-outlier-exposure`` leaves them out). The last ``--validation`` training images are held
out: the verdict rule (``model.verdict``) is fitted on the others and its limits are chosen
on them.

Prints a progress line every ``--log-every`` batches (loss, images/s) and one line per
epoch (train and test accuracy, seconds); ends by writing ``--out`` (.npz) and the model
card beside it (.json), with the verdict rule inside the weights file, the misread test
digits beside it (``model.evaluate``) and the training replay: snapshots of every parameter at a
dozen moments of the run (``model.replay``). The same arguments and seed give the same weights.
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

from model import checkpoint, evaluate, mnist, replay
from model.augment import NONE, Augmentation, augment, clip_sides, flag_ones
from model.network import DEFAULT_SPEC, INIT, Network, architecture
from model.optimizers import OPTIMIZERS
from model.outlier_exposure import OutlierBatches, OutlierExposure, loss_and_gradient
from model.type_like import TypeLike, TypeLikeBatches

_FULL = Augmentation()
AUGMENTATIONS = {
    "full": _FULL,
    "affine": dataclasses.replace(_FULL, thicken=0.0, thin=0.0, flag_ones=0.0, clip_sides=0.0),
    "stroke": dataclasses.replace(_FULL, rotation_degrees=0.0, scale=0.0, shear=0.0, translation=0.0,
                                  flag_ones=0.0, clip_sides=0.0),
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


def learning_rate(base: float, schedule: str, step: int, total_steps: int) -> float:
    """The step's learning rate: constant, or cosine decay from base to base/100."""
    if schedule == "constant":
        return base
    floor = base / 100
    return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * step / total_steps))


def shuffled_batches(images: np.ndarray, labels: np.ndarray, batch_size: int, rng, aug: Augmentation,
                     flag_rng=None, type_like: TypeLikeBatches | None = None, clip_rng=None):
    """One epoch: the images (N, 1, 28, 28) and labels (N,) in a new random order, in batches,
    each batch of images freshly jittered by ``aug``, some of its 1s flagged first (drawn from
    ``flag_rng``, their own random stream: the order and jitter of the digits stay the same),
    some other digits clipped (drawn from ``clip_rng``, likewise) and, with ``type_like``, a few
    type-like digits joining it before the jitter."""
    order = rng.permutation(len(images))
    for start in range(0, len(images), batch_size):
        index = order[start : start + batch_size]
        batch, batch_labels = images[index], labels[index]
        if aug.flag_ones and flag_rng is not None:
            batch = flag_ones(batch, batch_labels, flag_rng, aug.flag_ones)
        if aug.clip_sides and clip_rng is not None:
            batch = clip_sides(batch, batch_labels, clip_rng, aug.clip_sides)
        if type_like is not None:
            typed, typed_labels = type_like.next()
            batch, batch_labels = np.concatenate([batch, typed]), np.concatenate([batch_labels, typed_labels])
        yield augment(batch, rng, aug), batch_labels


def train_epoch(network: Network, optimizer, batches, rates, outliers: OutlierBatches | None = None,
                after_step=None) -> tuple[float, float]:
    """One gradient step per batch of (images (B, 1, 28, 28), labels (B,)), at the next learning rate
    of ``rates``; with ``outliers``, a batch of non-digits joins each batch (outlier exposure).
    Calls ``after_step(batch, digit_losses)`` after each step; returns the epoch's mean digit loss
    and mean outlier loss (0 without outliers), apart (``outlier_exposure.loss_and_gradient``)."""
    digit_losses, outlier_losses = [], []
    for batch, (images, labels) in enumerate(batches, 1):
        optimizer.lr = next(rates)
        if outliers is None:
            (digit_loss, grads), outlier_loss = network.gradient(images, labels), 0.0
        else:
            digit_loss, outlier_loss, grads = loss_and_gradient(
                network, images, labels, outliers.next(), outliers.settings.weight)
        optimizer.update(network.params, grads)
        digit_losses.append(digit_loss)
        outlier_losses.append(outlier_loss)
        if after_step:
            after_step(batch, digit_losses)
    return float(np.mean(digit_losses)), float(np.mean(outlier_losses))


def progress_log(log, every: int, batch_size: int, epoch: int, steps: int):
    """A train_epoch ``after_step`` that logs, every ``every`` batches, their mean digit loss and
    images/s."""
    window_start = time.perf_counter()

    def progress(batch: int, losses: list[float]) -> None:
        nonlocal window_start
        if batch % every == 0:
            rate = every * batch_size / (time.perf_counter() - window_start)
            loss = np.mean(losses[-every:])
            log(f"  epoch {epoch} batch {batch}/{steps}  digit loss {loss:.4f}  {rate:,.0f} images/s")
            window_start = time.perf_counter()

    return progress


def train(args: argparse.Namespace, log=print) -> tuple[Network, dict]:
    """Run the training described by the parsed arguments; returns (network, model card)."""
    started = time.perf_counter()
    data_dir = mnist.resolve_data_dir(args.data_dir)
    if args.download:
        mnist.download(data_dir)
    data = mnist.load_mnist(data_dir)
    train_images, train_labels, validation_images, _ = evaluate.split_for_verdict(data, args.validation)
    if args.limit:
        train_images, train_labels = train_images[: args.limit], train_labels[: args.limit]
    test_images = evaluate.to_network_input(data.test_images)

    rng = np.random.default_rng(args.seed)
    network = Network(DEFAULT_SPEC, rng=rng, fast=not args.reference)
    optimizer = OPTIMIZERS[args.optimizer](lr=args.lr)
    aug = AUGMENTATIONS[args.augment]
    if aug.flag_ones:
        aug = dataclasses.replace(aug, flag_ones=args.flag_ones)
    if aug.clip_sides:
        aug = dataclasses.replace(aug, clip_sides=args.clip_sides)
    exposure = outliers = None
    if args.outlier_exposure:
        exposure = OutlierExposure(weight=args.oe_weight, per_batch=args.oe_batch, pool=args.oe_pool)
        # Their own random stream, so the digits' order and jitter do not depend on the outliers.
        outliers = OutlierBatches(exposure, np.random.default_rng([args.seed, 1]), aug)
    flag_rng = np.random.default_rng([args.seed, 2])
    clip_rng = np.random.default_rng([args.seed, 5])
    typed_settings = typed = None
    if args.type_like:
        typed_settings = TypeLike(per_batch=args.type_like, pool=args.type_like_pool)
        # Their own random stream too: which ones join a batch leaves the digits' order alone.
        typed = TypeLikeBatches(typed_settings, np.random.default_rng([args.seed, 3]))
    card = model_card(network, args, aug=aug, exposure=exposure, data_dir=data_dir, images=len(train_images),
                      type_like=typed_settings)
    steps_per_epoch = math.ceil(len(train_images) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    rates = (learning_rate(args.lr, args.schedule, step, total_steps) for step in range(total_steps))
    log(
        f"training {network.parameter_count:,} parameters on {len(train_images):,} images: "
        f"{args.epochs} epochs, batch {args.batch_size}, {args.optimizer} lr {args.lr} ({args.schedule}), "
        f"augmentation {args.augment}, seed {args.seed}, "
        + ("textbook layers (--reference)" if args.reference else "fused conv→ReLU→pool block")
        + (f", outlier exposure λ {exposure.weight} × {exposure.per_batch} per batch" if exposure else "")
        + (f", {typed_settings.per_batch} type-like digits per batch" if typed_settings else "")
        + f", {len(validation_images):,} held out for the verdict rule"
    )
    eval_images, eval_labels = train_images[:TRAIN_EVAL_SIZE], train_labels[:TRAIN_EVAL_SIZE]
    recorder = replay.Recorder(replay.replay_steps(steps_per_epoch, args.epochs))

    def take_snapshot(step: int) -> None:
        snapshot = recorder.take(network, step, step / steps_per_epoch, test_images, data.test_labels)
        log(f"  snapshot at step {step}: test acc {snapshot.test_accuracy:.4f}")

    take_snapshot(0)
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        batches = shuffled_batches(train_images, train_labels, args.batch_size, rng, aug, flag_rng, typed,
                                   clip_rng)
        progress = None
        if args.log_every:
            progress = progress_log(log, args.log_every, args.batch_size, epoch, steps_per_epoch)

        def after_step(batch: int, losses: list[float], epoch=epoch, progress=progress) -> None:
            if progress:
                progress(batch, losses)
            step = (epoch - 1) * steps_per_epoch + batch
            if recorder.wants(step):
                take_snapshot(step)

        digit_loss, outlier_loss = train_epoch(network, optimizer, batches, rates, outliers, after_step)
        loss = digit_loss + (exposure.weight * outlier_loss if exposure else 0.0)
        seconds = time.perf_counter() - epoch_start
        train_accuracy = float((network.predict(eval_images)[0].argmax(axis=1) == eval_labels).mean())
        test_predictions = network.predict(test_images)[0].argmax(axis=1)
        evaluate.measure(card, network, data.test_labels, test_predictions)
        card["history"].append({
            "epoch": epoch, "loss": round(loss, 5), "digit_loss": round(digit_loss, 5),
            "outlier_loss": round(outlier_loss, 5) if exposure else None,
            "train_accuracy": round(train_accuracy, 5),
            "test_accuracy": round(card["test_accuracy"], 5), "seconds": round(seconds, 2),
            "learning_rate": round(optimizer.lr, 7),
        })
        card["training"]["seconds"] = round(time.perf_counter() - started, 1)
        log(f"epoch {epoch}/{args.epochs}  digit loss {digit_loss:.4f}  train acc {train_accuracy:.4f}  "
            f"test acc {card['test_accuracy']:.4f}  {seconds:.1f} s")
        if args.out and epoch < args.epochs:
            # After every epoch, so a long run that is stopped still leaves usable weights
            # (python -m model.evaluate --fit-verdict then adds the verdict rule).
            checkpoint.save(args.out, network, card)

    rule = evaluate.fit_verdict_rule(
        network, train_images, train_labels, validation_images, held_out=args.validation > 0,
        outlier_images=evaluate.calibration_outliers(args.seed),
    )
    card["training"]["seconds"] = round(time.perf_counter() - started, 1)
    card["replay"] = recorder.describe()
    if args.out:
        replay_file = recorder.save(args.out)
        size = replay_file.stat().st_size
        log(f"replay: {len(recorder.snapshots)} snapshots, {size:,} bytes in {replay_file}")
        checkpoint.save(args.out, network, card, verdict_rule=rule)
        misread = evaluate.misread_digits(data.test_images, data.test_labels, test_predictions)
        evaluate.write_misread(evaluate.misread_path(args.out), misread)
    card["verdict_rule"] = rule.describe()
    log(f"verdict rule: {rule.fitted['accepted_there']:.4f} of the held-out digits judged 'digit'")
    return network, card


def model_card(network: Network, args: argparse.Namespace, *, aug: Augmentation,
               exposure: OutlierExposure | None, data_dir: Path, images: int,
               type_like: TypeLike | None = None) -> dict:
    """The human-readable record of a training run (written next to the weights), as it starts:
    the network, the run's settings, the data and the filters' start. ``evaluate.measure`` and
    each epoch's history complete it."""
    return {
        "name": "Digit Lens CNN",
        "format": checkpoint.FORMAT,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "architecture": architecture(network),
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
            "training_images": images,
            "validation_images": args.validation,
            "outlier_exposure": exposure.as_dict() if exposure else None,
            "type_like": type_like.as_dict() if type_like else None,
            "seconds": 0.0,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "data": {"directory_files": mnist.file_checksums(data_dir), "checksum": "sha256"},
        "history": [],
        "filters": {"before": evaluate.filters_of(network)},
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
        help="full: random affine jitter, stroke-width changes and flags on some 1s (default); "
        "affine or stroke: the jitter or the stroke-width changes alone; none",
    )
    parser.add_argument(
        "--flag-ones", type=float, default=Augmentation.flag_ones,
        help=f"share of the 1s given a European flag with --augment full (default {Augmentation.flag_ones})",
    )
    parser.add_argument(
        "--clip-sides", type=float, default=Augmentation.clip_sides,
        help="share of the other digits with a slice of one side cut off with --augment full "
        f"(default {Augmentation.clip_sides})",
    )
    parser.add_argument(
        "--reference", action="store_true",
        help="train with the textbook layers of model.layers instead of the fused block of model.fast",
    )
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    parser.add_argument(
        "--validation", type=int, default=5000,
        help="hold out the last N training images to choose the verdict rule's limits (default 5000)",
    )
    parser.add_argument(
        "--outlier-exposure", action=argparse.BooleanOptionalAction, default=True,
        help="train non-digit images toward a uniform answer (default on)",
    )
    parser.add_argument("--oe-weight", type=float, default=OutlierExposure.weight,
                        help=f"λ of outlier exposure (default {OutlierExposure.weight})")
    parser.add_argument("--oe-batch", type=int, default=50, help="outliers per batch (default 50)")
    parser.add_argument("--oe-pool", type=int, default=20_000, help="distinct outliers drawn (default 20000)")
    parser.add_argument(
        "--type-like", type=int, default=TypeLike.per_batch,
        help=f"type-like digits (model.type_like) per batch, 0: none (default {TypeLike.per_batch})",
    )
    parser.add_argument("--type-like-pool", type=int, default=TypeLike.pool,
                        help=f"distinct type-like digits drawn (default {TypeLike.pool})")
    parser.add_argument("--log-every", type=int, default=100, help="progress line every N batches")
    parser.add_argument("--out", default=str(checkpoint.DEFAULT_WEIGHTS), help="weights file (.npz)")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "oe_batch", "oe_pool", "type_like_pool"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not args.lr > 0:
        parser.error("--lr must be positive")
    if args.type_like < 0:
        parser.error("--type-like must be at least 0")
    if not 0 <= args.flag_ones <= 1:
        parser.error("--flag-ones must be between 0 and 1")
    if not 0 <= args.clip_sides <= 1:
        parser.error("--clip-sides must be between 0 and 1")
    if not args.oe_weight >= 0:
        parser.error("--oe-weight must be at least 0")
    if not 0 <= args.validation <= 20_000:
        parser.error("--validation must be between 0 and 20000")
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
