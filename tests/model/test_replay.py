"""The training replay: snapshots of every parameter written by a Recorder beside the weights, and
read back by Replay as networks."""

from __future__ import annotations

import numpy as np
import pytest

from model.network import Network
from model.replay import FORMAT, Recorder, Replay, ReplayError, replay_path, replay_steps


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, tiny_network):
    """Three snapshots: two random networks and tiny_network, saved beside a weights path."""
    rng = np.random.default_rng(5)
    images = rng.random((20, 1, 28, 28), dtype=np.float32)
    labels = np.arange(20) % 10
    networks = [Network(tiny_network.spec, rng=rng), Network(tiny_network.spec, rng=rng), tiny_network]
    recorder = Recorder([0, 5, 50])
    for step, network in zip((0, 5, 50), networks, strict=True):
        recorder.take(network, step, step / 25, images, labels)
    weights = tmp_path_factory.mktemp("replay") / "w.npz"
    return recorder.save(weights), recorder.describe(), networks, (images, labels)


def test_the_steps_are_log_spaced_early_then_epoch_ends():
    assert replay_steps(600, 20) == [0, 3, 10, 30, 100, 300, 600, 1200, 3000, 6000, 12000]
    assert replay_steps(30, 2) == [0, 3, 10, 30, 60]


def test_a_replay_file_holds_every_parameter_of_every_snapshot_in_float16(recorded, tiny_network):
    path, listed, networks, _ = recorded
    assert path == replay_path(path.with_name("w.npz"))
    with np.load(path) as data:
        assert str(data["format"]) == FORMAT
        assert data["step"].tolist() == [0, 5, 50]
        for name, value in tiny_network.params.items():
            stored = data[f"param/{name}"]
            assert stored.dtype == np.float16 and stored.shape == (3, *value.shape)
            np.testing.assert_allclose(stored[2], value, rtol=1e-3, atol=1e-4)


def test_each_snapshot_is_measured_on_the_test_images(recorded):
    _, listed, networks, (images, labels) = recorded
    for entry, network in zip(listed, networks, strict=True):
        probabilities, _ = network.predict(images)
        assert entry["test_accuracy"] == round(float((probabilities.argmax(axis=1) == labels).mean()), 4)
        chosen = probabilities[np.arange(len(labels)), labels]
        assert entry["test_loss"] == pytest.approx(-np.log(chosen + 1e-7).mean(), abs=1e-4)


def test_replay_rebuilds_each_snapshot_and_keeps_it(recorded):
    path, listed, networks, (images, _) = recorded
    replay = Replay(path, networks[0].spec, listed)
    for index, original in enumerate(networks):
        network = replay.network(index)
        assert network is replay.network(index)  # built once
        assert all(value.dtype == np.float32 for value in network.params.values())
        np.testing.assert_allclose(network.predict(images)[0], original.predict(images)[0], atol=2e-3)
    # The networks' parameters are views of the loaded arrays, not copies of them.
    first, second = replay.network(0).params["affine1.W"], replay.network(1).params["affine1.W"]
    assert first.base is not None and first.base is second.base


@pytest.mark.parametrize("index", [-1, 3, 100])
def test_an_index_outside_the_replay_is_an_index_error(recorded, index):
    path, listed, networks, _ = recorded
    with pytest.raises(IndexError, match="0..2"):
        Replay(path, networks[0].spec, listed).network(index)


def test_a_replay_that_does_not_fit_its_card_or_network_is_a_replay_error(recorded, tmp_path):
    path, listed, networks, _ = recorded
    with pytest.raises(ReplayError, match="holds \\[3\\] snapshots"):
        Replay(path, networks[0].spec, listed[:2]).network(0)
    other = {**networks[0].spec, "layers": [{**networks[0].spec["layers"][0], "filters": 8},
                                             *networks[0].spec["layers"][1:]]}
    with pytest.raises(ReplayError, match="does not fit"):
        Replay(path, other, listed).network(0)
    broken = tmp_path / "broken.replay.npz"
    broken.write_bytes(b"PK not really")
    with pytest.raises(ReplayError, match="not readable"):
        Replay(broken, networks[0].spec, listed).network(0)
