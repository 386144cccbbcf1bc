"""Training replay: the network's parameters at a dozen moments of its training, to show how it
learned.

``model.train`` takes a snapshot of every parameter at the steps of ``replay_steps`` — the random
start (step 0), a few, a few dozen and a few hundred steps, then the end of epochs 1, 2, 5, 10 and
the last — each with its accuracy and digit loss on the MNIST test images, and writes them beside
the weights (``<name>.replay.npz``). float16 is plenty for showing how a network reads (its
answers match float32's on all but a handful of borderline test digits) and halves the file.

Inside the ``.npz``: ``format``; ``step``, ``epoch``, ``test_accuracy``, ``test_loss`` (S,), one
entry per snapshot in training order; ``param/<name>`` (S, *shape) float16, every snapshot's
value of that parameter. The last snapshot is the trained network itself.
"""

from __future__ import annotations

import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.network import Network, SpecError

FORMAT = "digit-lens-replay/1"
#: Steps within the first epoch, on a log scale, at which a snapshot is taken.
EARLY_STEPS = (0, 3, 10, 30, 100, 300)
#: Epochs whose end is a snapshot (the last epoch always is).
EPOCH_ENDS = (1, 2, 5, 10)


class ReplayError(ValueError):
    """A replay file that is missing, corrupt or does not fit the weights beside it."""


def replay_path(weights_path: str | Path) -> Path:
    """Where the replay of a weights file lives: ``<name>.replay.npz``."""
    return Path(weights_path).with_suffix(".replay.npz")


def replay_steps(steps_per_epoch: int, epochs: int) -> list[int]:
    """The training steps (0 = before the first update) after which a snapshot is taken."""
    early = [step for step in EARLY_STEPS if step < steps_per_epoch]
    ends = [epoch * steps_per_epoch for epoch in (*EPOCH_ENDS, epochs) if epoch <= epochs]
    return sorted(set(early + ends))


@dataclass(frozen=True)
class Snapshot:
    """What the card says of one moment of training (``GET /api/model`` lists them as ``replay``)."""

    step: int
    epoch: float  # epochs done: step / steps per epoch
    test_accuracy: float
    test_loss: float  # mean cross-entropy of the MNIST test digits

    def describe(self) -> dict:
        return {"step": self.step, "epoch": round(self.epoch, 3),
                "test_accuracy": round(self.test_accuracy, 4), "test_loss": round(self.test_loss, 4)}


class Recorder:
    """Collects snapshots during training; ``save`` writes them beside the weights."""

    def __init__(self, steps: list[int]):
        self.steps = set(steps)
        self.snapshots: list[Snapshot] = []
        self.params: list[dict[str, np.ndarray]] = []

    def wants(self, step: int) -> bool:
        return step in self.steps

    def take(self, network: Network, step: int, epoch: float, test_images: np.ndarray,
             test_labels: np.ndarray) -> Snapshot:
        """Snapshot the network as it is after ``step`` updates, measured on the test images
        (N, 1, 28, 28) with labels (N,)."""
        probabilities, _ = network.predict(test_images)
        chosen = probabilities[np.arange(len(test_labels)), test_labels]
        snapshot = Snapshot(
            step=step, epoch=epoch,
            test_accuracy=float((probabilities.argmax(axis=1) == test_labels).mean()),
            test_loss=float(-np.log(chosen + 1e-7).mean()),
        )
        self.snapshots.append(snapshot)
        self.params.append({name: value.astype(np.float16) for name, value in network.params.items()})
        return snapshot

    def describe(self) -> list[dict]:
        return [snapshot.describe() for snapshot in self.snapshots]

    def save(self, weights_path: str | Path) -> Path:
        path = replay_path(weights_path)
        arrays = {f"param/{name}": np.stack([params[name] for params in self.params])
                  for name in self.params[0]}
        for field in ("step", "epoch", "test_accuracy", "test_loss"):
            arrays[field] = np.array([getattr(snapshot, field) for snapshot in self.snapshots])
        arrays["format"] = np.array(FORMAT)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as f:
            np.savez_compressed(f, **arrays)
        partial.replace(path)
        return path


class Replay:
    """The snapshots of one training run, read from disk on first use (not at start-up: a worker
    that is never asked for one never holds them) and kept as float32, the type the network
    computes in: about 1.74 MB a snapshot (float16 on disk halves the file, not the memory).

    ``network(index)`` is snapshot ``index`` as a Network, built on first use and kept: its
    parameters are views of the loaded arrays, so keeping every snapshot's network costs little
    more than the arrays themselves, and a learner dragging the slider over the snapshots again and
    again never waits for one to be rebuilt (converting float16 and building a Network take a few
    milliseconds, as long as reading the drawing). Thread-safe.
    """

    def __init__(self, path: str | Path, spec: dict, snapshots: list[dict]):
        self.path = Path(path)
        self.spec = spec
        self.snapshots = snapshots  # as the model card lists them: describe() of each
        self._params: dict[str, np.ndarray] | None = None
        self._networks: dict[int, Network] = {}  # at most one per snapshot
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.snapshots)

    def _load(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if str(data["format"]) != FORMAT:
                    raise ReplayError(f"{self.path.name} is not a {FORMAT} file")
                params = {key.removeprefix("param/"): data[key].astype(np.float32) for key in data.files
                          if key.startswith("param/")}
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ReplayError(f"replay file {self.path} is not readable: {exc}") from exc
        counts = {len(value) for value in params.values()}
        if counts != {len(self.snapshots)}:
            raise ReplayError(f"{self.path.name} holds {sorted(counts)} snapshots, "
                              f"the model card lists {len(self.snapshots)}")
        return params

    def network(self, index: int) -> Network:
        """Snapshot ``index`` (0 = the random start) as a network; IndexError out of range."""
        if not 0 <= index < len(self.snapshots):
            raise IndexError(f"snapshot {index} is not in 0..{len(self.snapshots) - 1}")
        with self._lock:
            if index in self._networks:
                return self._networks[index]
            if self._params is None:
                self._params = self._load()
            try:
                # value[index] is a C-contiguous float32 view: the Network keeps it without a copy.
                network = Network(self.spec, {name: value[index] for name, value in self._params.items()})
            except SpecError as exc:
                raise ReplayError(f"{self.path.name} does not fit the network: {exc}") from exc
            self._networks[index] = network
            return network
