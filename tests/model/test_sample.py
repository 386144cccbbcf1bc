"""The fixed sample of MNIST test digits shipped beside the weights (model.sample): what it holds,
how it is written, and the accuracy counted on it."""

from __future__ import annotations

import numpy as np
import pytest

from model import checkpoint, mnist, sample
from model.network import DEFAULT_SPEC, Network


def test_the_shipped_sample_is_the_first_thousand_mnist_test_digits(mnist_dir):
    shipped = np.load(sample.DEFAULT_SAMPLE, allow_pickle=False)
    assert set(shipped.files) == {"images", "labels"}
    images, labels = shipped["images"], shipped["labels"]
    assert images.shape == (sample.SAMPLE_SIZE, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (sample.SAMPLE_SIZE,) and labels.dtype == np.uint8
    images_name, labels_name = mnist.SPLITS["test"]
    test_images = mnist.read_idx(mnist.find_file(mnist_dir, images_name))
    test_labels = mnist.read_idx(mnist.find_file(mnist_dir, labels_name))
    np.testing.assert_array_equal(images, test_images[: sample.SAMPLE_SIZE])
    np.testing.assert_array_equal(labels, test_labels[: sample.SAMPLE_SIZE])


def test_the_command_writes_what_load_reads(mnist_dir, tmp_path):
    out = tmp_path / "sample.npz"
    assert sample.main(["--data-dir", str(mnist_dir), "--out", str(out), "--count", "25"]) == 0
    written = sample.load(out)
    assert len(written) == 25
    shipped = sample.load()
    np.testing.assert_array_equal(written.images, shipped.images[:25])
    np.testing.assert_array_equal(written.labels, shipped.labels[:25])


def test_the_sample_is_in_the_networks_input_form():
    loaded = sample.load()
    assert loaded.images.shape == (sample.SAMPLE_SIZE, 1, 28, 28) and loaded.images.dtype == np.float32
    assert loaded.images.min() >= 0.0 and loaded.images.max() == 1.0


def test_the_accuracy_is_the_share_of_digits_read_right_counted_one_by_one():
    network = checkpoint.load(checkpoint.DEFAULT_WEIGHTS)
    loaded = sample.load()
    right = 0
    for image, label in zip(loaded.images, loaded.labels, strict=True):
        right += int(network.predict(image[np.newaxis])[0].argmax() == label)
    assert loaded.accuracy(network) == right / len(loaded)
    assert loaded.accuracy(network, remember=True) == right / len(loaded)
    assert right / len(loaded) > 0.95  # the served weights read these digits


def test_a_remembered_accuracy_belongs_to_its_network():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    small = sample.Sample(images, np.arange(20, dtype=np.uint8) % 10)
    first = Network(DEFAULT_SPEC, rng=np.random.default_rng(1))
    second = Network(DEFAULT_SPEC, rng=np.random.default_rng(2))
    assert small.accuracy(first, remember=True) == small.accuracy(first)
    assert small.accuracy(second, remember=True) == small.accuracy(second)


@pytest.mark.parametrize(
    ("images", "labels"),
    [
        (np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8)),
        (np.zeros((3, 27, 28), np.uint8), np.zeros(3, np.uint8)),
        (np.zeros((3, 28, 28), np.float32), np.zeros(3, np.uint8)),
        (np.zeros((3, 28, 28), np.uint8), np.full(3, 10, np.uint8)),
        (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)),
    ],
)
def test_what_is_not_a_sample_is_refused(images, labels, tmp_path):
    with pytest.raises(sample.SampleError):
        sample.Sample(images, labels)
    np.savez_compressed(tmp_path / "bad.npz", images=images, labels=labels)
    with pytest.raises(sample.SampleError):
        sample.load(tmp_path / "bad.npz")


def test_a_missing_sample_file_says_how_to_write_it(tmp_path):
    with pytest.raises(sample.SampleError, match="python -m model.sample"):
        sample.load(tmp_path / "none.npz")
