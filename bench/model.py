"""Benchmark of the NumPy CNN, side by side with the identical network in PyTorch.

    python -m bench.model [--rounds 5]

Prints, for the fused block (``Network(fast=True)``, what training and serving run) and for
the textbook layers (``fast=False``, ``python -m model.train --reference``), training
throughput (images/s and seconds per 60,000-image epoch at batch 100, from timed Adam steps),
single-image inference latency and batch-1000 inference throughput, with the fused/textbook
time ratios. When PyTorch is installed (not a dependency:
``pip install -r requirements-bench.txt``) the same measurements run for it in the same
process, interleaved round by round so both see the same machine load, and the
NumPy/PyTorch time ratios are printed (below 1 means NumPy is faster).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from model.network import DEFAULT_SPEC, Network
from model.optimizers import Adam
from model.train import keep_freed_memory

BATCH = 100
EPOCH_IMAGES = 60_000


def numpy_runner(rng, fast=True):
    network = Network(DEFAULT_SPEC, rng=rng, fast=fast)
    optimizer = Adam(lr=0.001)
    x_train = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, BATCH)

    def train_step():
        _, grads = network.gradient(x_train, labels)
        optimizer.update(network.params, grads)

    def infer(x):
        return network.predict(x)[0]

    return train_step, infer


def torch_runner(torch, rng):
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 30, 5),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(4320, 100),
        nn.ReLU(),
        nn.Linear(100, 10),
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001)
    loss_fn = nn.CrossEntropyLoss()
    x_train = torch.from_numpy(rng.random((BATCH, 1, 28, 28), dtype=np.float32))
    labels = torch.from_numpy(rng.integers(0, 10, BATCH))

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(x_train), labels).backward()
        optimizer.step()

    def infer(x):
        with torch.inference_mode():
            return torch.softmax(net(torch.from_numpy(x)), dim=1).numpy()

    return train_step, infer


def time_calls(fn, calls: int) -> list[float]:
    """Seconds of each of ``calls`` calls."""
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def measure(runner, single, batch, args) -> dict[str, list[float]]:
    train_step, infer = runner
    # Untimed calls first: the other framework's worker threads may still be spinning from
    # its turn, and each deserves a machine as quiet as the other had.
    time_calls(train_step, 3)
    return {
        "train_step": time_calls(train_step, args.train_steps),
        "single": time_calls(lambda: infer(single), args.single_calls),
        "batch": time_calls(lambda: infer(batch), args.batch_calls),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians over all)")
    parser.add_argument("--train-steps", type=int, default=30, help="Adam steps per round")
    parser.add_argument("--single-calls", type=int, default=300, help="1-image calls per round")
    parser.add_argument("--batch-calls", type=int, default=5, help="1000-image calls per round")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the training script does; it applies to both frameworks

    rng = np.random.default_rng(0)
    single = rng.random((1, 1, 28, 28), dtype=np.float32)
    batch = rng.random((1000, 1, 28, 28), dtype=np.float32)
    runners = {"numpy": numpy_runner(rng), "reference": numpy_runner(rng, fast=False)}
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch is not installed: NumPy figures only (pip install -r requirements-bench.txt)")
    if torch is not None:
        runners["torch"] = torch_runner(torch, rng)

    print(
        f"numpy {np.__version__} (OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')})"
        + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else "")
        + f"; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    for runner in runners.values():  # warm-up: allocations, BLAS threads, torch kernels
        measure(runner, single, batch, argparse.Namespace(train_steps=5, single_calls=50, batch_calls=1))

    samples = {name: {"train_step": [], "single": [], "batch": []} for name in runners}
    for _ in range(args.rounds):
        for name, runner in runners.items():
            for key, times in measure(runner, single, batch, args).items():
                samples[name][key].extend(times)

    medians = {name: {key: statistics.median(v) for key, v in s.items()} for name, s in samples.items()}
    print(f"\n{'':28}" + "".join(f"{name:>14}" for name in runners) + "  numpy/reference"
          + ("   numpy/torch" if torch else ""))

    def row(label, key, scale, unit, fmt="{:14.1f}"):
        cells = "".join(fmt.format(medians[name][key] * scale) for name in runners)
        ratios = f"  {medians['numpy'][key] / medians['reference'][key]:14.2f}×"
        if torch:
            ratios += f"   {medians['numpy'][key] / medians['torch'][key]:11.2f}×"
        print(f"{label:<22}{unit:>6}{cells}{ratios}")

    row("train step, batch 100", "train_step", 1e3, "ms", "{:14.2f}")
    row("train epoch, 60k imgs", "train_step", EPOCH_IMAGES / BATCH, "s")
    row("single-image latency", "single", 1e6, "µs")
    row("batch-1000 inference", "batch", 1e3, "ms")
    print(
        f"{'':28}"
        + "".join(f"{BATCH / medians[name]['train_step']:>10,.0f} i/s" for name in runners)
        + "  (training)"
    )
    print(
        f"{'':28}"
        + "".join(f"{1000 / medians[name]['batch']:>10,.0f} i/s" for name in runners)
        + "  (batch inference)"
    )
    n = {key: len(v) for key, v in samples["numpy"].items()}
    print(
        f"\nmedians over {n['train_step']} train steps, {n['single']} single-image calls and "
        f"{n['batch']} batch calls per framework, {args.rounds} interleaved rounds"
    )
    print("numpy: the fused block (model.fast), as trained and served; reference: the textbook layers")
    if torch:
        print("targets: epoch ≤ 0.8×, single-image ≤ 0.4×, batch-1000 ≤ 0.5× PyTorch's time")
    print("load average " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
