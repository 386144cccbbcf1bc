"""The training script: a short seeded run learns, is reproducible and writes a full card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model import checkpoint, evaluate, replay, train
from model.augment import Augmentation
from model.network import DEFAULT_SPEC, Network
from model.type_like import TypeLike, TypeLikeBatches


def test_learning_rate_decays_from_base_to_a_hundredth():
    assert train.learning_rate(0.01, "cosine", 0, 100) == pytest.approx(0.01)
    assert train.learning_rate(0.01, "cosine", 100, 100) == pytest.approx(0.0001)
    assert train.learning_rate(0.01, "constant", 70, 100) == 0.01


def test_a_missing_data_directory_is_a_readable_error(tmp_path, capsys):
    assert train.main(["--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "w.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "none" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["--epochs", "0"], ["--batch-size", "-1"], ["--lr", "0"], ["--oe-weight", "-1"], ["--oe-batch", "0"],
     ["--validation", "-5"], ["--type-like", "-1"], ["--type-like-pool", "0"]],
)
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(argv)
    assert exit_info.value.code == 2
    assert "must be" in capsys.readouterr().err


def _short_run(mnist_dir, out, seed=0, limit=5000, epochs=2, extra=()):
    args = train.parse_args(
        ["--data-dir", str(mnist_dir), "--epochs", str(epochs), "--limit", str(limit),
         "--seed", str(seed), "--log-every", "0", "--out", str(out), "--augment", "none",
         "--oe-pool", "300", "--oe-batch", "20", "--type-like-pool", "100", *extra]
    )
    return train.train(args, log=lambda line: None)


@pytest.mark.mnist
@pytest.mark.slow  # trains on MNIST
def test_a_short_seeded_run_reaches_90_percent_on_held_out_digits(mnist_dir, tmp_path):
    network, card = _short_run(mnist_dir, tmp_path / "w.npz")
    # The 10,000 test images were never trained on.
    assert card["test_accuracy"] > 0.90
    assert len(card["history"]) == 2
    assert sum(map(sum, card["confusion_matrix"])) == 10_000
    assert card["filters"]["before"] != card["filters"]["after"]
    assert set(card["data"]["directory_files"]) == {
        p.name for p in mnist_dir.iterdir() if "ubyte" in p.name
    }
    reloaded = checkpoint.load(tmp_path / "w.npz")
    np.testing.assert_array_equal(reloaded.params["conv1.W"], network.params["conv1.W"])
    # Outlier exposure is on by default and the card says how; the last 5,000 training images
    # were held out to set the verdict rule's limits, which travels in the weights file.
    assert card["training"]["outlier_exposure"]["weight"] == 0.15
    assert card["training"]["outlier_exposure"]["per_batch"] == 20
    assert card["training"]["validation_images"] == 5000
    # So are the type-like digits that join each batch.
    assert card["training"]["type_like"]["per_batch"] == TypeLike.per_batch
    assert card["training"]["type_like"]["pool"] == 100
    rule = checkpoint.load_verdict_rule(tmp_path / "w.npz")
    assert checkpoint.load_card(tmp_path / "w.npz")["verdict_rule"] == rule.describe() == card["verdict_rule"]
    assert "held out from training" in rule.fitted["limits_on"]
    misread = json.loads(evaluate.misread_path(tmp_path / "w.npz").read_text())
    matrix = np.asarray(card["confusion_matrix"])
    assert misread["count"] == matrix.sum() - np.trace(matrix) == len(misread["digits"])
    # Each epoch's loss is reported as the digits' cross-entropy and the outlier term apart; the
    # outlier term (cross-entropy to an even answer) can never go below ln 10.
    for entry in card["history"]:
        assert entry["outlier_loss"] >= np.log(10) - 1e-6
        assert entry["loss"] == pytest.approx(entry["digit_loss"] + 0.15 * entry["outlier_loss"], abs=1e-4)
    assert card["history"][-1]["digit_loss"] < card["history"][0]["digit_loss"]


@pytest.mark.mnist
@pytest.mark.slow  # trains on MNIST
def test_the_replay_holds_the_random_start_and_the_trained_network(mnist_dir, tmp_path):
    network, card = _short_run(mnist_dir, tmp_path / "w.npz", limit=1000, epochs=2)
    # 1,000 images in batches of 100: 10 steps an epoch; snapshots at steps 0, 3, then the epochs' ends.
    assert [entry["step"] for entry in card["replay"]] == [0, 3, 10, 20]
    assert [entry["epoch"] for entry in card["replay"]] == [0, 0.3, 1, 2]
    assert card["replay"][-1]["test_accuracy"] == pytest.approx(card["test_accuracy"], abs=2e-3)
    # Untrained, the network is as good as chance; trained, far better.
    assert card["replay"][0]["test_accuracy"] < 0.25 < card["replay"][-1]["test_accuracy"]
    start = Network(DEFAULT_SPEC, rng=np.random.default_rng(0))
    with np.load(replay.replay_path(tmp_path / "w.npz")) as saved:
        for name, value in network.params.items():
            assert saved[f"param/{name}"].dtype == np.float16
            np.testing.assert_allclose(saved[f"param/{name}"][-1], value, rtol=1e-3, atol=1e-4)
            # The first snapshot is the seed's random start, before any update.
            np.testing.assert_allclose(saved[f"param/{name}"][0], start.params[name], rtol=1e-3, atol=1e-4)


@pytest.mark.mnist
@pytest.mark.slow  # trains on MNIST
def test_without_outlier_exposure_or_type_like_digits_the_card_says_so(mnist_dir, tmp_path):
    _, card = _short_run(mnist_dir, tmp_path / "w.npz", limit=300, epochs=1,
                         extra=["--no-outlier-exposure", "--type-like", "0"])
    assert card["training"]["outlier_exposure"] is None
    assert card["training"]["type_like"] is None
    assert checkpoint.load_verdict_rule(tmp_path / "w.npz").margin_limit >= 0


@pytest.mark.mnist
@pytest.mark.slow  # trains on MNIST
def test_the_same_seed_gives_the_same_weights(mnist_dir, tmp_path):
    first, _ = _short_run(mnist_dir, tmp_path / "a.npz", seed=7, limit=300, epochs=1)
    second, _ = _short_run(mnist_dir, tmp_path / "b.npz", seed=7, limit=300, epochs=1)
    other, _ = _short_run(mnist_dir, tmp_path / "c.npz", seed=8, limit=300, epochs=1)
    for name in first.params:
        np.testing.assert_array_equal(first.params[name], second.params[name])
    assert not np.array_equal(first.params["affine1.W"], other.params["affine1.W"])


@pytest.mark.mnist
@pytest.mark.slow  # trains on MNIST
def test_reference_trains_the_textbook_layers_to_the_same_filters(mnist_dir, tmp_path):
    fast, fast_card = _short_run(mnist_dir, tmp_path / "f.npz", seed=3, limit=300, epochs=1)
    reference, card = _short_run(
        mnist_dir, tmp_path / "r.npz", seed=3, limit=300, epochs=1, extra=["--reference"]
    )
    assert card["training"]["layers"].startswith("reference")
    assert fast_card["training"]["layers"].startswith("fast")
    assert [names for names, _ in reference.steps][0] == ("conv1",)
    # float32 sums in another order: equal to rounding, which Adam's first steps may amplify
    # for a near-zero gradient, never to a whole step (the learning rate, 0.001).
    np.testing.assert_allclose(reference.params["conv1.W"], fast.params["conv1.W"], atol=1e-4)


def test_type_like_digits_join_every_batch_with_their_labels():
    images = np.zeros((20, 1, 28, 28), dtype=np.float32)
    labels = np.arange(20) % 10
    typed = TypeLikeBatches(TypeLike(per_batch=3, pool=20), np.random.default_rng(0))
    batches = list(train.shuffled_batches(images, labels, 5, np.random.default_rng(0), Augmentation(),
                                          type_like=typed))
    assert len(batches) == 4
    for batch, batch_labels in batches:
        assert batch.shape == (8, 1, 28, 28) and batch_labels.shape == (8,)
        assert not batch[:5].any()  # the blank digits stay blank, jittered or not
        assert (batch[5:].reshape(3, -1).max(axis=1) > 0.5).all()  # the type-like ones have ink
    assert sorted(np.concatenate([b[:5] for _, b in batches]).tolist()) == sorted(labels.tolist())


@pytest.mark.parametrize(("augmentation", "stream", "untouched"), [
    ("flag_ones", "flag_rng", 7),  # flags go on 1s only
    ("clip_sides", "clip_rng", 1),  # slices come off every digit but 1s
])
def test_augmentations_by_label_draw_from_their_own_random_stream_so_other_digits_stay_the_same(
        augmentation, stream, untouched):
    images = np.zeros((20, 1, 28, 28), dtype=np.float32)
    images[:, :, 6:22, 10:18] = 1.0
    labels = np.array([1, 7] * 10)
    only = {"flag_ones": 0.0, "clip_sides": 0.0}
    runs = [
        list(train.shuffled_batches(images, labels, 5, np.random.default_rng(0),
                                    Augmentation(**{**only, augmentation: share}),
                                    **{stream: np.random.default_rng(1)}))
        for share in (0.0, 1.0)
    ]
    changed = 0
    for (plain_x, plain_labels), (changed_x, changed_labels) in zip(*runs, strict=True):
        np.testing.assert_array_equal(plain_labels, changed_labels)
        kept = plain_labels == untouched
        np.testing.assert_array_equal(plain_x[kept], changed_x[kept])
        changed += int((plain_x[~kept] != changed_x[~kept]).any(axis=(1, 2, 3)).sum())
    assert changed == 10  # every digit it applies to, at a share of 1

