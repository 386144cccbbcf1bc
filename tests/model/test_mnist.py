"""The MNIST loader: tiny fake IDX files built here, a local HTTP server for --download, the real
files when MNIST_DIR is set. Nothing here touches the internet."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from model import mnist
from model.mnist import MnistError

ROOT = Path(__file__).resolve().parents[2]
TINY_COUNTS = {"train": 3, "test": 2}


def idx_bytes(array: np.ndarray, magic: int | None = None, shape: tuple[int, ...] | None = None) -> bytes:
    """An IDX file holding ``array``; ``magic`` and header ``shape`` can be forced to lie."""
    shape = array.shape if shape is None else shape
    magic = (0x0800 | len(shape)) if magic is None else magic
    return struct.pack(f">I{len(shape)}I", magic, *shape) + array.astype(np.uint8).tobytes()


def tiny_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, (images_name, labels_name) in mnist.SPLITS.items():
        n = TINY_COUNTS[split]
        arrays[images_name] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[labels_name] = rng.integers(0, 10, n, dtype=np.uint8)
    return arrays


def write_tiny(directory: Path, gz: bool = True, seed: int = 0) -> dict[str, np.ndarray]:
    """Write the four files of a tiny valid dataset (3 train, 2 test items) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays = tiny_arrays(seed)
    for name, array in arrays.items():
        data = idx_bytes(array)
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)
    return arrays


def test_tiny_dataset_loads_identically_from_gzipped_and_raw_files(tmp_path):
    arrays = write_tiny(tmp_path / "gz", gz=True)
    write_tiny(tmp_path / "raw", gz=False)
    for directory in (tmp_path / "gz", tmp_path / "raw"):
        data = mnist.load_mnist(directory, expected_counts=TINY_COUNTS)
        np.testing.assert_array_equal(data.train_images, arrays["train-images-idx3-ubyte"])
        np.testing.assert_array_equal(data.train_labels, arrays["train-labels-idx1-ubyte"])
        np.testing.assert_array_equal(data.test_images, arrays["t10k-images-idx3-ubyte"])
        np.testing.assert_array_equal(data.test_labels, arrays["t10k-labels-idx1-ubyte"])
        assert data.train_images.dtype == np.uint8 and data.train_images.shape == (3, 28, 28)
        assert data.test_labels.dtype == np.uint8 and data.test_labels.shape == (2,)
        # Callers may shuffle or augment in place.
        assert data.train_images.flags.writeable and data.train_images.flags.owndata


def test_read_idx_returns_images_and_labels_with_their_header_shapes(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint32).reshape(2, 28, 28) % 256
    (tmp_path / "images").write_bytes(idx_bytes(images))
    (tmp_path / "labels.gz").write_bytes(gzip.compress(idx_bytes(np.array([7, 0, 9]))))
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "images"), images)
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "labels.gz"), [7, 0, 9])


def _rewrite(name: str, data: bytes):
    def corrupt(directory: Path) -> None:
        (directory / f"{name}.gz").unlink()
        (directory / name).write_bytes(data)

    return corrupt


def _rewrite_gz(name: str, transform):
    def corrupt(directory: Path) -> None:
        path = directory / f"{name}.gz"
        path.write_bytes(transform(path.read_bytes()))

    return corrupt


def _remove(name: str):
    return lambda directory: (directory / f"{name}.gz").unlink()


TRAIN_IMAGES, TRAIN_LABELS = mnist.SPLITS["train"]
TEST_IMAGES, TEST_LABELS = mnist.SPLITS["test"]
IMAGES_3 = np.zeros((3, 28, 28), np.uint8)
CORRUPTIONS = [
    ("wrong_magic", TRAIN_IMAGES,
     _rewrite(TRAIN_IMAGES, idx_bytes(IMAGES_3, magic=2052)), "magic number 2052"),
    ("labels_where_images_belong", TRAIN_IMAGES, _rewrite(TRAIN_IMAGES, idx_bytes(np.zeros(3))), "2049"),
    ("truncated_data", TRAIN_IMAGES, _rewrite(TRAIN_IMAGES, idx_bytes(IMAGES_3)[:-100]), "truncated"),
    ("header_count_too_large", TRAIN_IMAGES,
     _rewrite(TRAIN_IMAGES, idx_bytes(IMAGES_3, shape=(4, 28, 28))), "truncated"),
    ("header_cut_short", TEST_LABELS, _rewrite(TEST_LABELS, idx_bytes(np.zeros(2))[:6]), "header"),
    ("empty_file", TEST_LABELS, _rewrite(TEST_LABELS, b""), "too short"),
    ("extra_bytes", TEST_IMAGES,
     _rewrite(TEST_IMAGES, idx_bytes(np.zeros((2, 28, 28))) + b"\0" * 5), "unexpected bytes"),
    ("wrong_image_size", TEST_IMAGES, _rewrite(TEST_IMAGES, idx_bytes(np.zeros((2, 27, 28)))), "28x28"),
    ("gzip_garbage", TRAIN_LABELS, _rewrite_gz(TRAIN_LABELS, lambda b: b"\x1f\x8b" + b"garbage" * 9), "gzip"),
    ("not_gzip_at_all", TRAIN_LABELS, _rewrite_gz(TRAIN_LABELS, lambda b: b"plain text"), "gzip"),
    ("truncated_gzip", TRAIN_IMAGES,
     _rewrite_gz(TRAIN_IMAGES, lambda b: b[: len(b) // 2]), "gzip data is truncated"),
    ("gzip_without_trailer", TEST_LABELS,
     _rewrite_gz(TEST_LABELS, lambda b: b[:-8]), "gzip data is truncated"),
    ("label_above_9", TRAIN_LABELS, _rewrite(TRAIN_LABELS, idx_bytes(np.array([1, 10, 2]))), "label 10"),
    ("labels_fewer_than_images", TRAIN_LABELS,
     _rewrite(TRAIN_LABELS, idx_bytes(np.array([1, 2]))), "do not belong together"),
    ("images_fewer_than_labels", TEST_IMAGES,
     _rewrite(TEST_IMAGES, idx_bytes(np.zeros((1, 28, 28)))), "do not belong together"),
    ("missing_file", TEST_LABELS, _remove(TEST_LABELS), "MNIST_DIR"),
]


@pytest.mark.parametrize(
    ("bad_file", "corrupt", "problem"),
    [case[1:] for case in CORRUPTIONS],
    ids=[case[0] for case in CORRUPTIONS],
)
def test_corrupt_or_mismatched_file_is_refused_naming_the_file(tmp_path, bad_file, corrupt, problem):
    write_tiny(tmp_path)
    corrupt(tmp_path)
    with pytest.raises(MnistError) as caught:
        mnist.load_mnist(tmp_path, expected_counts=TINY_COUNTS)
    assert bad_file in str(caught.value)
    assert problem in str(caught.value)


def test_split_with_the_wrong_number_of_items_is_not_mnist(tmp_path):
    write_tiny(tmp_path)
    with pytest.raises(MnistError, match=r"train-images-idx3-ubyte.*hold 3 train items; MNIST has 60000"):
        mnist.load_mnist(tmp_path)


def test_missing_directory_says_how_to_get_the_data(tmp_path):
    with pytest.raises(MnistError) as caught:
        mnist.load_mnist(tmp_path / "nowhere")
    message = str(caught.value)
    assert "nowhere" in message and "does not exist" in message
    assert "MNIST_DIR" in message and "--data-dir" in message and "--download" in message


def test_data_dir_comes_from_the_flag_then_mnist_dir_then_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "from_env"))
    assert mnist.resolve_data_dir(str(tmp_path / "from_flag")) == tmp_path / "from_flag"
    assert mnist.resolve_data_dir(None) == tmp_path / "from_env"
    monkeypatch.delenv("MNIST_DIR")
    assert mnist.resolve_data_dir(None) == ROOT / "data" / "mnist"


def test_file_checksums_are_the_sha256_of_the_files_actually_read(tmp_path):
    write_tiny(tmp_path, gz=True)
    raw_labels = idx_bytes(np.array([4, 4]))
    (tmp_path / f"{TEST_LABELS}.gz").unlink()
    (tmp_path / TEST_LABELS).write_bytes(raw_labels)
    checksums = mnist.file_checksums(tmp_path)
    assert set(checksums) == {f"{TRAIN_IMAGES}.gz", f"{TRAIN_LABELS}.gz", f"{TEST_IMAGES}.gz", TEST_LABELS}
    assert checksums[TEST_LABELS] == hashlib.sha256(raw_labels).hexdigest()
    gz_bytes = (tmp_path / f"{TRAIN_IMAGES}.gz").read_bytes()
    assert checksums[f"{TRAIN_IMAGES}.gz"] == hashlib.sha256(gz_bytes).hexdigest()


def test_pixel_stats_match_numpy_on_the_zero_one_scale():
    images = np.random.default_rng(3).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    mean, std = mnist.pixel_stats(images)
    scaled = images.astype(np.float64) / 255
    assert mean == pytest.approx(scaled.mean(), abs=1e-12)
    assert std == pytest.approx(scaled.std(), abs=1e-12)


# --- download, against a local server -------------------------------------------------------


class _MirrorServer:
    """Serves ``files[path] = bytes`` on 127.0.0.1 (404 for the rest) and records requested paths."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                body = server.files.get(self.path)
                self.send_response(404 if body is None else 200)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, prefix: str, arrays: dict[str, np.ndarray]) -> str:
        """Serve ``arrays`` as gzipped IDX files under ``/prefix/``; returns that mirror's URL."""
        for name, array in arrays.items():
            self.files[f"/{prefix}/{name}.gz"] = gzip.compress(idx_bytes(array))
        return f"{self.url}/{prefix}/"


@pytest.fixture
def mirror_server():
    server = _MirrorServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    thread.join(timeout=5)


def md5_of(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    return {name: hashlib.md5(idx_bytes(array)).hexdigest() for name, array in arrays.items()}


def test_download_fetches_verifies_and_then_skips_files_already_present(mirror_server, tmp_path):
    arrays = tiny_arrays()
    mirror = mirror_server.serve("good", arrays)
    target = tmp_path / "new" / "mnist"
    fetched = mnist.download(target, mirrors=[mirror], timeout=10, expected_md5=md5_of(arrays))
    assert sorted(fetched) == sorted(f"{name}.gz" for name in mnist.FILES)
    data = mnist.load_mnist(target, expected_counts=TINY_COUNTS)
    np.testing.assert_array_equal(data.train_images, arrays[TRAIN_IMAGES])
    assert sorted(p.name for p in target.iterdir()) == sorted(fetched)  # no temp files left

    requests_before = len(mirror_server.requests)
    assert mnist.download(target, mirrors=[mirror], timeout=10, expected_md5=md5_of(arrays)) == []
    assert len(mirror_server.requests) == requests_before


def test_download_with_a_bad_checksum_fails_and_leaves_nothing_behind(mirror_server, tmp_path):
    mirror = mirror_server.serve("tampered", tiny_arrays(seed=1))
    with pytest.raises(MnistError) as caught:
        mnist.download(tmp_path, mirrors=[mirror], timeout=10, expected_md5=md5_of(tiny_arrays(seed=0)))
    assert TRAIN_IMAGES in str(caught.value) and "MD5" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_download_that_cannot_be_saved_leaves_no_temp_file(mirror_server, tmp_path, monkeypatch):
    arrays = tiny_arrays()
    mirror = mirror_server.serve("good", arrays)

    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mnist.os, "replace", disk_full)
    with pytest.raises(MnistError, match=f"cannot write .*{TRAIN_IMAGES}.gz: No space left"):
        mnist.download(tmp_path, mirrors=[mirror], timeout=10, expected_md5=md5_of(arrays))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("first_mirror", ["missing", "garbage"])
def test_download_falls_back_to_the_next_mirror(mirror_server, tmp_path, first_mirror):
    arrays = tiny_arrays()
    for name in mnist.FILES:
        mirror_server.files[f"/garbage/{name}.gz"] = b"<html>not here</html>"
    good = mirror_server.serve("good", arrays)
    mirrors = [f"{mirror_server.url}/{first_mirror}/", good]
    fetched = mnist.download(tmp_path, mirrors=mirrors, timeout=10, expected_md5=md5_of(arrays))
    assert len(fetched) == 4
    assert f"/{first_mirror}/{TRAIN_IMAGES}.gz" in mirror_server.requests
    assert f"/good/{TRAIN_IMAGES}.gz" in mirror_server.requests
    mnist.load_mnist(tmp_path, expected_counts=TINY_COUNTS)


def test_download_does_not_overwrite_a_present_file_that_fails_its_checksum(mirror_server, tmp_path):
    arrays = tiny_arrays()
    mirror = mirror_server.serve("good", arrays)
    write_tiny(tmp_path, seed=5)
    before = (tmp_path / f"{TRAIN_IMAGES}.gz").read_bytes()
    with pytest.raises(MnistError, match=f"{TRAIN_IMAGES}.gz is present but .* fails the MD5 check"):
        mnist.download(tmp_path, mirrors=[mirror], timeout=10, expected_md5=md5_of(arrays))
    assert (tmp_path / f"{TRAIN_IMAGES}.gz").read_bytes() == before
    assert mirror_server.requests == []


# --- the command line -----------------------------------------------------------------------


def test_cli_reports_a_missing_directory_readably_with_exit_code_1(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "model.mnist", "--data-dir", str(tmp_path / "absent")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: MNIST directory")
    assert "absent" in result.stderr and "--download" in result.stderr


def test_cli_reports_a_corrupt_file_readably(tmp_path, capsys):
    write_tiny(tmp_path)
    (tmp_path / f"{TRAIN_IMAGES}.gz").write_bytes(b"junk")
    assert mnist.main(["--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / TRAIN_IMAGES}.gz: not a valid gzip file")


# --- the real files (MNIST_DIR) -------------------------------------------------------------


@pytest.fixture(scope="module")
def real_mnist(mnist_dir) -> mnist.Mnist:
    return mnist.load_mnist(mnist_dir)


@pytest.mark.mnist
def test_real_mnist_has_the_published_counts_shapes_and_class_balance(real_mnist):
    assert real_mnist.train_images.shape == (60000, 28, 28) and real_mnist.train_images.dtype == np.uint8
    assert real_mnist.test_images.shape == (10000, 28, 28) and real_mnist.test_images.dtype == np.uint8
    assert real_mnist.train_labels.dtype == np.uint8 and real_mnist.test_labels.dtype == np.uint8
    assert np.bincount(real_mnist.train_labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                                             5851, 5949]
    assert np.bincount(real_mnist.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974,
                                                            1009]


@pytest.mark.mnist
def test_real_training_pixels_have_the_usual_mean_and_std(real_mnist):
    mean, std = mnist.pixel_stats(real_mnist.train_images)
    assert mean == pytest.approx(0.1307, abs=5e-5)
    assert std == pytest.approx(0.3081, abs=5e-5)


@pytest.mark.mnist
def test_real_files_pass_the_published_md5_so_download_has_nothing_to_fetch(mnist_dir):
    assert mnist.download(mnist_dir, mirrors=[], expected_md5=mnist.EXPECTED_MD5) == []


@pytest.mark.mnist
def test_real_file_checksums_match_the_folders_sha256sums(mnist_dir):
    sums_file = mnist_dir / "SHA256SUMS"
    if not sums_file.is_file():
        pytest.skip(f"{sums_file} not present to compare against")
    published = dict(reversed(line.split()) for line in sums_file.read_text().splitlines() if line.strip())
    checksums = mnist.file_checksums(mnist_dir)
    assert len(checksums) == 4
    assert checksums == {name: published.get(name) for name in checksums}
