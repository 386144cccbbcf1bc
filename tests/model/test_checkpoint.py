"""Weights and spec in one .npz: round trips, and clear errors for bad files."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from harness.networks import SMALL_SPEC
from model import checkpoint
from model.checkpoint import CheckpointError
from model.network import Network


def test_round_trip_rebuilds_the_same_network_from_the_file_alone(tmp_path):
    network = Network(SMALL_SPEC, rng=np.random.default_rng(0))
    path = tmp_path / "small.npz"
    checkpoint.save(path, network, {"test_accuracy": 0.5})
    loaded = checkpoint.load(path)
    assert loaded.spec == SMALL_SPEC
    x = np.random.default_rng(1).random((2, 2, 9, 9), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x)[0], network.predict(x)[0])
    assert checkpoint.load_card(path) == {"test_accuracy": 0.5}
    assert not list(tmp_path.glob("*.partial"))


def test_the_file_holds_no_pickles(tmp_path, tiny_network):
    path = tmp_path / "w.npz"
    checkpoint.save(path, tiny_network)
    with np.load(path, allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _valid_arrays(network):
    arrays = {f"param/{k}": v for k, v in network.params.items()}
    return {**arrays, "spec": np.array(json.dumps(network.spec)), "format": np.array(checkpoint.FORMAT)}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda net: b"", "not a readable"),
        (lambda net: b"PK\x03\x04 definitely not a zip", "not a readable"),
        (lambda net: _npz_bytes(**_valid_arrays(net))[:3000], "not a readable"),
        (lambda net: _npz_bytes(**{**_valid_arrays(net), "format": np.array("other/9")}), "is not a"),
        (lambda net: _npz_bytes(**{**_valid_arrays(net), "spec": np.array("{not json")}), "spec"),
        (
            lambda net: _npz_bytes(**{**_valid_arrays(net), "param/affine1.W": np.zeros((3, 3))}),
            "does not match",
        ),
        (
            lambda net: _npz_bytes(**{**_valid_arrays(net), "param/conv1.b": np.full(30, np.nan)}),
            "NaN",
        ),
        (
            lambda net: _npz_bytes(**{**_valid_arrays(net), "param/conv1.b": np.array([object()] * 30)}),
            "not a readable",
        ),
    ],
    ids=["empty", "garbage", "truncated", "wrong-format", "bad-spec", "wrong-shape", "nan", "pickle"],
)
def test_bad_weights_files_fail_with_a_clear_message(tmp_path, tiny_network, make, message):
    path = tmp_path / "bad.npz"
    path.write_bytes(make(tiny_network))
    with pytest.raises(CheckpointError, match=message) as caught:
        checkpoint.load(path)
    assert str(path) in str(caught.value)


def test_a_missing_weights_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="not found: .*nowhere.npz"):
        checkpoint.load(tmp_path / "nowhere.npz")


def test_a_corrupt_model_card_is_reported(tmp_path, tiny_network):
    path = tmp_path / "w.npz"
    checkpoint.save(path, tiny_network)
    checkpoint.card_path(path).write_text("{oops")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        checkpoint.load_card(path)


@pytest.mark.parametrize("older", ["digit-lens-checkpoint/1", "digit-lens-checkpoint/2"])
def test_a_file_of_an_older_format_is_refused_in_one_line_that_says_so(tmp_path, tiny_network, older):
    path = tmp_path / "old.npz"
    old = {**_valid_arrays(tiny_network), "format": np.array(older)}
    path.write_bytes(_npz_bytes(**old))
    with pytest.raises(CheckpointError) as caught:
        checkpoint.load(path)
    message = str(caught.value)
    assert "\n" not in message
    assert older in message and "older format" in message and checkpoint.FORMAT in message


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_a_checkpoint_loads_as_either_network(tmp_path, tiny_network, fast):
    path = tmp_path / "w.npz"
    checkpoint.save(path, tiny_network)
    loaded = checkpoint.load(path, fast=fast)
    assert len(loaded.steps) == (4 if fast else 6)
    x = np.random.default_rng(2).random((2, 1, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x)[0], tiny_network.predict(x)[0], rtol=1e-5, atol=1e-7)
