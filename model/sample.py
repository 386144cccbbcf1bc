"""A fixed sample of MNIST test digits, shipped beside the weights: what a few SGD steps on one
drawing do to the network's accuracy on other digits (``model.lesson``) is measured on it.

    python -m model.sample --data-dir ../shared/data/mnist

writes ``model/weights/mnist_sample.npz`` (np.savez_compressed, no pickle): ``images`` uint8
(N, 28, 28) as the MNIST files hold them (white ink on black, 0–255) and ``labels`` uint8 (N,),
the first SAMPLE_SIZE digits of the MNIST test set. It does not depend on the weights, so
retraining leaves it as it is.
"""

from __future__ import annotations

import argparse
import sys
import threading
import weakref
from pathlib import Path

import numpy as np

from model.network import Network

SAMPLE_SIZE = 1000
DEFAULT_SAMPLE = Path(__file__).resolve().parent / "weights" / "mnist_sample.npz"


class SampleError(ValueError):
    """A sample file that is missing or does not hold MNIST digits and their labels."""


def to_network_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) → float32 (N, 1, 28, 28) in [0, 1], the network's input."""
    return (images.astype(np.float32) / 255.0)[:, None]


class Sample:
    """Digits (N, 1, 28, 28) float32 in [0, 1] and their labels (N,), and the network's accuracy on them.

    ``accuracy(network, remember=True)`` keeps the figure per network object, for networks whose
    parameters never change (the served ones): the server then counts each network once.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != (len(images),):
            raise SampleError(f"a sample is images (N, 28, 28) and labels (N,), "
                              f"not {images.shape} and {labels.shape}")
        if images.dtype != np.uint8 or labels.dtype != np.uint8 or len(labels) == 0 or labels.max() > 9:
            raise SampleError("a sample holds uint8 images 0–255 and uint8 labels 0–9")
        self.images = to_network_input(images)
        self.labels = labels.astype(np.intp)
        self._remembered: weakref.WeakKeyDictionary[Network, float] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.labels)

    def accuracy(self, network: Network, remember: bool = False) -> float:
        """The share of the sample's digits whose most probable class is their label."""
        if remember:
            with self._lock:
                known = self._remembered.get(network)
            if known is not None:
                return known
        probabilities, _ = network.predict(self.images)
        share = float((probabilities.argmax(axis=1) == self.labels).mean())
        if remember:
            with self._lock:
                self._remembered[network] = share
        return share


def load(path: str | Path = DEFAULT_SAMPLE) -> Sample:
    """The sample written by ``write`` (SampleError if missing or not a sample)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return Sample(arrays["images"], arrays["labels"])
    except FileNotFoundError:
        raise SampleError(f"no MNIST sample at {path}: python -m model.sample writes it") from None
    except (KeyError, ValueError, OSError) as exc:
        raise SampleError(f"{path} is not an MNIST sample: {exc}") from None


def write(images: np.ndarray, labels: np.ndarray, path: str | Path = DEFAULT_SAMPLE) -> None:
    """Save uint8 images (N, 28, 28) and labels (N,) as a sample file (checked by loading it back)."""
    Sample(images, labels)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez_compressed(f, images=images, labels=labels)


def main(argv: list[str] | None = None) -> int:
    # The MNIST reader is needed only to write the sample: the served image has no model/mnist.py.
    from model import mnist

    parser = argparse.ArgumentParser(prog="python -m model.sample", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $MNIST_DIR)")
    parser.add_argument("--out", default=str(DEFAULT_SAMPLE), help="sample file to write (.npz)")
    parser.add_argument("--count", type=int, default=SAMPLE_SIZE, help="the first COUNT test digits")
    args = parser.parse_args(argv)
    directory = mnist.resolve_data_dir(args.data_dir)
    images_name, labels_name = mnist.SPLITS["test"]
    try:
        images = mnist.read_idx(mnist.find_file(directory, images_name), mnist.IMAGES_MAGIC)
        labels = mnist.read_idx(mnist.find_file(directory, labels_name), mnist.LABELS_MAGIC)
    except mnist.MnistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write(images[: args.count], labels[: args.count], args.out)
    print(f"{args.count} MNIST test digits in {args.out} ({Path(args.out).stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
