"""Weights and the spec that rebuilds the network, together in one ``.npz`` (never pickle),
plus a human-readable model card (``.json``) beside it.

Inside the ``.npz``: ``spec`` (the network spec as a JSON string), ``format`` (this
file's version), one array per parameter under ``param/<name>`` and the verdict rule's
arrays under ``verdict/<name>`` (see ``model.verdict``).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from model.network import Network, SpecError
from model.verdict import VerdictRule

#: Version 3: the verdict rule (is it a digit at all?) travels with the weights it was fitted on.
#: Version 2: Affine layers flatten their input in C order (C, H, W), as the book does;
#: version 1 files flattened channels-last, so their affine weights mean something else.
FORMAT = "digit-lens-checkpoint/3"
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "digit_lens.npz"


class CheckpointError(ValueError):
    """A weights file that is missing, corrupt or does not match its spec."""


def card_path(weights_path: str | Path) -> Path:
    """Where the model card of a weights file lives: same name, ``.json``."""
    return Path(weights_path).with_suffix(".json")


def misread_path(weights_path: str | Path) -> Path:
    """Where the misread MNIST test digits of a weights file live: ``<name>.misread.json``
    (written by model.train and model.evaluate, served by the app)."""
    return Path(weights_path).with_suffix(".misread.json")


def save(
    path: str | Path, network: Network, card: dict | None = None, verdict_rule: VerdictRule | None = None
) -> None:
    """Write the network's spec and parameters to ``path`` and, if given, its verdict rule and
    its model card (which then also describes the rule under "verdict_rule")."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"param/{name}": value for name, value in network.params.items()}
    if verdict_rule is not None:
        arrays.update({f"verdict/{name}": value for name, value in verdict_rule.to_arrays().items()})
        if card is not None:
            card = {**card, "verdict_rule": verdict_rule.describe()}
    arrays["spec"] = np.array(json.dumps(network.spec))
    arrays["format"] = np.array(FORMAT)
    # Write next to the target and rename, so a crash never leaves half a file behind.
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        np.savez_compressed(f, **arrays)
    partial.replace(path)
    if card is not None:
        save_card(path, card)


def save_card(weights_path: str | Path, card: dict) -> None:
    """Write the model card beside the weights at ``weights_path``."""
    card_path(weights_path).write_text(json.dumps(card, indent=1) + "\n")


def _read(path: Path) -> dict[str, np.ndarray]:
    """Every array of a checkpoint of this format, by name; a clear CheckpointError if it is not one."""
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"weights file {path} is not a readable .npz: {exc}") from exc
    found = str(contents.get("format", np.array("")).item())
    if found != FORMAT:
        if found.startswith("digit-lens-checkpoint/"):
            raise CheckpointError(
                f"weights file {path} is {found}, an older format this version cannot read "
                f"(it needs {FORMAT}): retrain with python -m model.train"
            )
        raise CheckpointError(f"weights file {path} is not a {FORMAT} file")
    return contents


def load(path: str | Path, fast: bool = True) -> Network:
    """Rebuild the network saved at ``path`` (``fast`` as in Network); a clear CheckpointError
    if it cannot be."""
    path = Path(path)
    contents = _read(path)
    try:
        spec = json.loads(contents["spec"].item())
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"weights file {path} has no readable network spec") from exc
    params = {
        key.removeprefix("param/"): value for key, value in contents.items() if key.startswith("param/")
    }
    try:
        network = Network(spec, params, fast=fast)
    except SpecError as exc:
        raise CheckpointError(f"weights file {path} does not match its spec: {exc}") from exc
    for name, value in network.params.items():
        if not np.isfinite(value).all():
            raise CheckpointError(f"weights file {path}: parameter {name} holds NaN or infinity")
    return network


def load_verdict_rule(path: str | Path) -> VerdictRule:
    """The verdict rule saved with the weights at ``path``; CheckpointError if it has none."""
    path = Path(path)
    contents = _read(path)
    arrays = {key.removeprefix("verdict/"): v for key, v in contents.items() if key.startswith("verdict/")}
    if not arrays:
        raise CheckpointError(
            f"weights file {path} has no verdict rule: fit one with python -m model.evaluate --fit-verdict"
        )
    try:
        return VerdictRule.from_arrays(arrays)
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"weights file {path} has an unusable verdict rule: {exc}") from exc


def load_card(weights_path: str | Path) -> dict:
    """The model card next to a weights file, or a minimal one if it is missing."""
    path = card_path(weights_path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise CheckpointError(f"model card {path} is not valid JSON: {exc}") from exc
