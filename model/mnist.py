"""The MNIST files: read and check the four IDX files, find their directory, fetch them.

IDX format: a big-endian header — magic number (2051 for images, 2049 for labels: two zero
bytes, type byte 0x08 = unsigned byte, number of dimensions) and one uint32 per dimension —
then the items as raw bytes. Each file may be raw or gzipped (``<name>.gz``).

``python -m model.mnist [--data-dir D] [--download]`` checks the data and prints a summary.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import struct
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "mnist"  # git-ignored
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
IMAGE_SHAPE = (28, 28)
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILES = tuple(name for pair in SPLITS.values() for name in pair)
EXPECTED_COUNTS = {"train": 60_000, "test": 10_000}
# MD5 of the decompressed files, as published with MNIST; checking the content rather than the
# .gz wrapper lets re-compressed mirrors pass too.
EXPECTED_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# The largest MNIST file is 47 MB decompressed; anything far bigger is not MNIST (or a gzip bomb).
MAX_FILE_BYTES = 64 * 2**20


class MnistError(ValueError):
    """An MNIST file or directory that is missing, corrupt or not what MNIST holds."""


class Mnist(NamedTuple):
    """The dataset as uint8 arrays: images (N, 28, 28) with 0 = background, labels (N,) in 0..9."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def _how_to_get_data(directory: Path) -> str:
    return (
        "point --data-dir or MNIST_DIR at a folder holding the four MNIST IDX files "
        f"({', '.join(FILES)}; raw or .gz), or fetch them with "
        f"`python -m model.mnist --download --data-dir {directory}`"
    )


def resolve_data_dir(value: str | None) -> Path:
    """The MNIST directory: the --data-dir value, else env MNIST_DIR, else <project>/data/mnist."""
    chosen = value or os.environ.get("MNIST_DIR") or DEFAULT_DATA_DIR
    return Path(chosen).expanduser()


def find_file(directory: str | Path, name: str) -> Path:
    """The path of IDX file ``name`` in ``directory``: raw if present, else ``name.gz``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MnistError(f"MNIST directory {directory} does not exist; {_how_to_get_data(directory)}")
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise MnistError(f"{name} (or {name}.gz) is missing from {directory}; {_how_to_get_data(directory)}")


def _gunzip(data: bytes, limit: int = MAX_FILE_BYTES) -> bytes:
    """Decompress all gzip members of ``data``; ValueError if corrupt, truncated or over ``limit``."""
    parts, size = [], 0
    while data:
        stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            part = stream.decompress(data, limit + 1 - size)
        except zlib.error as exc:
            raise ValueError(f"not a valid gzip file ({exc})") from exc
        size += len(part)
        if size > limit:
            raise ValueError(f"decompresses to more than {limit} bytes, far more than any MNIST file")
        if not stream.eof:
            raise ValueError("gzip data is truncated (the compressed stream ends early)")
        parts.append(part)
        data = stream.unused_data
    return b"".join(parts)


def _read_content(path: Path) -> bytes:
    """The IDX bytes of ``path``, decompressed if its name ends in .gz."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise MnistError(f"{path} is larger than {MAX_FILE_BYTES} bytes; not an MNIST file")
        data = path.read_bytes()
    except OSError as exc:
        raise MnistError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if path.suffix != ".gz":
        return data
    try:
        return _gunzip(data)
    except ValueError as exc:
        raise MnistError(f"{path}: {exc}") from exc


def _parse_idx(content: bytes, path: Path, magic: int | None = None) -> np.ndarray:
    if len(content) < 4:
        raise MnistError(f"{path}: {len(content)} bytes, too short for an IDX header")
    (found,) = struct.unpack(">I", content[:4])
    if found not in (IMAGES_MAGIC, LABELS_MAGIC):
        raise MnistError(
            f"{path}: magic number {found} is not an MNIST IDX file "
            f"(expected {IMAGES_MAGIC} for images or {LABELS_MAGIC} for labels)"
        )
    if magic is not None and found != magic:
        kind = "images" if magic == IMAGES_MAGIC else "labels"
        raise MnistError(f"{path}: magic number {found}, but a {kind} file must have {magic}")
    ndim = found & 0xFF
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise MnistError(f"{path}: truncated inside the header ({len(content)} of {header_size} bytes)")
    shape = struct.unpack(f">{ndim}I", content[4:header_size])
    if found == IMAGES_MAGIC and shape[1:] != IMAGE_SHAPE:
        raise MnistError(f"{path}: images are {shape[1]}x{shape[2]}, expected 28x28")
    expected = int(np.prod(shape))
    actual = len(content) - header_size
    if actual < expected:
        raise MnistError(
            f"{path}: truncated: the header declares {shape[0]} items ({expected} bytes) "
            f"but only {actual} bytes follow"
        )
    if actual > expected:
        raise MnistError(f"{path}: {actual - expected} unexpected bytes after the {shape[0]} items declared")
    # Copy out of the read buffer so callers get a writable array that owns its memory.
    array = np.frombuffer(content, dtype=np.uint8, count=expected, offset=header_size).reshape(shape).copy()
    if found == LABELS_MAGIC and array.size and array.max() > 9:
        index = int(np.flatnonzero(array > 9)[0])
        raise MnistError(f"{path}: label {array[index]} at index {index} is not a digit 0..9")
    return array


def read_idx(path: str | Path, magic: int | None = None) -> np.ndarray:
    """Read one IDX file (raw or .gz): images uint8 (N, 28, 28) or labels uint8 (N,) in 0..9.

    ``magic`` (IMAGES_MAGIC or LABELS_MAGIC), if given, is the kind the file must be.
    Raises MnistError, naming the file, for anything wrong with it.
    """
    path = Path(path)
    return _parse_idx(_read_content(path), path, magic)


def load_mnist(directory: str | Path, *, expected_counts: dict[str, int] = EXPECTED_COUNTS) -> Mnist:
    """Load and check the four MNIST files in ``directory``.

    Train images (60000, 28, 28) and labels (60000,), test (10000, 28, 28) and (10000,), all uint8.
    ``expected_counts`` ({"train": n, "test": m}) exists for tests with tiny fake files.
    """
    arrays = []
    for split, (images_name, labels_name) in SPLITS.items():
        images_path, labels_path = find_file(directory, images_name), find_file(directory, labels_name)
        images = read_idx(images_path, IMAGES_MAGIC)
        labels = read_idx(labels_path, LABELS_MAGIC)
        if len(images) != len(labels):
            raise MnistError(
                f"{images_path.name} holds {len(images)} images but {labels_path.name} holds "
                f"{len(labels)} labels; the {split} files in {directory} do not belong together"
            )
        if len(images) != expected_counts[split]:
            raise MnistError(
                f"{images_path.name} and {labels_path.name} in {directory} hold {len(images)} {split} "
                f"items; MNIST has {expected_counts[split]}"
            )
        arrays += [images, labels]
    return Mnist(*arrays)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(directory: str | Path) -> dict[str, str]:
    """SHA-256 (hex) of each of the four files load_mnist reads, keyed by file name (e.g. ``x.gz``)."""
    paths = [find_file(directory, name) for name in FILES]
    return {path.name: _sha256(path) for path in paths}


def pixel_stats(images: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of uint8 ``images`` (any shape) on the [0, 1] scale.

    From a 256-bin histogram, so no float copy of the 47-million-pixel training set is made.
    """
    counts = np.bincount(images.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256) / 255.0
    mean = counts @ levels / counts.sum()
    variance = counts @ (levels - mean) ** 2 / counts.sum()
    return float(mean), float(np.sqrt(variance))


def _fetch(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data = response.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"more than {MAX_FILE_BYTES} bytes")
    return data


def _md5_of_content(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def download(
    directory: str | Path,
    mirrors: tuple[str, ...] | list[str] = MIRRORS,
    timeout: float = 60.0,
    expected_md5: dict[str, str] = EXPECTED_MD5,
) -> list[str]:
    """Fetch the four ``.gz`` files into ``directory`` from the first mirror that serves them.

    Each download is verified (MD5 of its decompressed content against ``expected_md5``) before
    it is renamed into place; a file already present and valid is kept. Returns the names of
    the files downloaded. Raises MnistError when no mirror gives a valid file (nothing is left
    behind) or when a present file fails its checksum (it is not overwritten).
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MnistError(f"cannot create MNIST directory {directory}: {exc.strerror or exc}") from exc
    fetched = []
    for name in FILES:
        try:
            present = find_file(directory, name)
        except MnistError:
            present = None
        if present is not None:
            if _md5_of_content(_read_content(present)) != expected_md5[name]:
                raise MnistError(
                    f"{present} is present but its content fails the MD5 check; "
                    "delete it to download it again"
                )
            continue
        failures = []
        for mirror in mirrors:
            url = f"{mirror.rstrip('/')}/{name}.gz"
            try:
                data = _fetch(url, timeout)
                digest = _md5_of_content(_gunzip(data))
            except (OSError, ValueError, http.client.HTTPException) as exc:
                failures.append(f"{url}: {exc}")
                continue
            if digest != expected_md5[name]:
                failures.append(f"{url}: MD5 of the content is {digest}, expected {expected_md5[name]}")
                continue
            # Write beside the target and rename, so no half-written file ever has the real name.
            handle, partial = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
            try:
                with os.fdopen(handle, "wb") as f:
                    f.write(data)
                os.replace(partial, directory / f"{name}.gz")
            except BaseException as exc:
                Path(partial).unlink(missing_ok=True)
                if isinstance(exc, OSError):
                    raise MnistError(f"cannot write {directory / name}.gz: {exc.strerror or exc}") from exc
                raise
            fetched.append(f"{name}.gz")
            break
        else:
            reasons = "; ".join(failures) or "no mirrors given"
            raise MnistError(f"could not download a valid {name}.gz: {reasons}")
    return fetched


def _summary(directory: Path, mnist: Mnist, seconds: float) -> str:
    mean, std = pixel_stats(mnist.train_images)
    lines = [f"MNIST in {directory} (loaded in {seconds:.2f} s)"]
    for split, images, labels in (
        ("train", mnist.train_images, mnist.train_labels),
        ("test", mnist.test_images, mnist.test_labels),
    ):
        per_class = " ".join(str(n) for n in np.bincount(labels, minlength=10))
        lines.append(f"  {split:5} {len(images):6} images {images.shape[1]}x{images.shape[2]}, "
                     f"labels 0..9: {per_class}")
    lines.append(f"  train pixels on [0, 1]: mean {mean:.4f}, std {std:.4f}")
    lines += [f"  sha256 {digest}  {name}" for name, digest in file_checksums(directory).items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.mnist", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help=f"MNIST folder (default: env MNIST_DIR, else {DEFAULT_DATA_DIR})")
    parser.add_argument("--download", action="store_true", help="fetch missing files from a public mirror")
    args = parser.parse_args(argv)
    directory = resolve_data_dir(args.data_dir)
    try:
        if args.download:
            for name in download(directory):
                print(f"downloaded {directory / name}")
        start = time.perf_counter()
        mnist = load_mnist(directory)
        print(_summary(directory, mnist, time.perf_counter() - start))
    except MnistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
