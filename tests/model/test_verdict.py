"""The verdict rule: scores from the hidden layer and the probabilities, limits calibrated on
held-out digits, and a round trip through the checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from model import checkpoint, verdict
from model.checkpoint import CheckpointError
from model.verdict import VERDICTS, VerdictRule, calibrate, fit_class_statistics


def _clusters(rng, n_per_class=200, spread=0.3):
    """Hidden vectors (N, 10) around ten well-separated centres, and their labels."""
    centres = np.eye(10) * 5
    labels = np.repeat(np.arange(10), n_per_class)
    return centres[labels] + spread * rng.standard_normal((len(labels), 10)), labels


def _sure(labels, top=0.97):
    """Probabilities (N, 10) that put ``top`` on each label and share the rest."""
    p = np.full((len(labels), 10), (1 - top) / 9)
    p[np.arange(len(labels)), labels] = top
    return p


def test_margin_is_top_probability_minus_runner_up():
    p = np.array([[0.7, 0.2, 0.1] + [0.0] * 7, [0.1] * 10])
    np.testing.assert_allclose(verdict.margins(p), [0.5, 0.0], atol=1e-12)


def test_entropy_is_zero_for_a_sure_answer_and_log_ten_for_a_uniform_one():
    p = np.vstack([np.eye(10)[3], np.full(10, 0.1)])
    np.testing.assert_allclose(verdict.entropies(p), [0.0, np.log(10)], atol=1e-9)


def test_mahalanobis_distance_is_measured_in_the_shared_covariance_units():
    means = np.zeros((10, 2))
    means[1] = [10.0, 10.0]
    precision = np.diag([1 / 4.0, 1.0])  # standard deviations 2 and 1
    rule = VerdictRule(means, precision)
    np.testing.assert_allclose(rule.distances(np.array([[2.0, 0.0], [0.0, 3.0], [10.0, 9.0]])), [1, 3, 1])


def test_fitted_class_statistics_recover_the_class_means():
    hidden, labels = _clusters(np.random.default_rng(0))
    means, precision = fit_class_statistics(hidden, labels)
    np.testing.assert_allclose(means, [hidden[labels == k].mean(axis=0) for k in range(10)])
    assert precision.shape == (10, 10)
    np.testing.assert_allclose(precision, precision.T, rtol=1e-8)


@pytest.fixture(scope="module")
def fitted_rule():
    rng = np.random.default_rng(1)
    hidden, labels = _clusters(rng)
    rule = VerdictRule(*fit_class_statistics(hidden, labels))
    held_out, held_labels = _clusters(rng)
    probabilities = _sure(held_labels)
    # A few held-out digits the network hesitates on, half and half between two classes.
    probabilities[:10] = 0.0
    probabilities[:10, 0], probabilities[:10, 1] = 0.5, 0.5
    return calibrate(rule, probabilities, held_out, accept=0.99)


def test_calibration_keeps_the_asked_share_of_held_out_digits_as_digits(fitted_rule):
    rng = np.random.default_rng(2)
    hidden, labels = _clusters(rng)
    accepted = (fitted_rule.labels(_sure(labels), hidden) == "digit").mean()
    assert 0.97 <= accepted <= 1.0
    assert 0 < fitted_rule.margin_limit <= 0.5


def test_far_from_every_class_is_not_a_digit_and_a_close_call_is_unsure(fitted_rule):
    centres, labels = np.eye(10) * 5, np.arange(10)
    far = centres[:1] + 40.0  # far from all ten centres
    uniform = np.full((1, 10), 0.1)
    close_call = np.zeros((1, 10))
    close_call[0, 2], close_call[0, 5] = 0.5, 0.5
    verdicts = fitted_rule.judge(
        np.vstack([_sure(labels[:1]), _sure(labels[:1]), uniform, close_call]),
        np.vstack([centres[:1], far, centres[:1], centres[2:3]]),
    )
    assert [v.label for v in verdicts] == ["digit", "not_a_digit", "not_a_digit", "unsure"]
    assert all(v.label in VERDICTS for v in verdicts)
    assert verdicts[0].novelty < 1 < verdicts[1].novelty
    assert verdicts[3].margin == pytest.approx(0.0)
    assert verdicts[0].margin == pytest.approx(0.97 - 0.03 / 9)


def test_the_rule_describes_its_limits_for_the_model_card(fitted_rule):
    described = fitted_rule.describe()
    assert described["verdicts"] == list(VERDICTS)
    assert described["novelty_limit"] == 1.0
    assert described["margin_limit"] == round(fitted_rule.margin_limit, 4)
    assert described["fitted"]["calibration"]["accept"] == 0.99


def test_the_rule_travels_inside_the_checkpoint_and_its_card(tmp_path, tiny_network, fitted_rule):
    path = tmp_path / "w.npz"
    checkpoint.save(path, tiny_network, {"name": "t"}, verdict_rule=fitted_rule)
    loaded = checkpoint.load_verdict_rule(path)
    np.testing.assert_array_equal(loaded.class_means, fitted_rule.class_means)
    np.testing.assert_array_equal(loaded.precision, fitted_rule.precision)
    assert loaded.describe() == fitted_rule.describe()
    assert checkpoint.load_card(path)["verdict_rule"] == fitted_rule.describe()
    with np.load(path, allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)


def test_weights_without_a_verdict_rule_say_how_to_fit_one(tmp_path, tiny_network):
    path = tmp_path / "w.npz"
    checkpoint.save(path, tiny_network)
    with pytest.raises(CheckpointError, match="no verdict rule.*model.evaluate --fit-verdict"):
        checkpoint.load_verdict_rule(path)


@pytest.mark.parametrize(
    "broken",
    [
        {"class_means": np.zeros((9, 10))},
        {"precision": np.full((10, 10), np.nan)},
        {"limits": np.array('{"distance_limit": 0, "entropy_limit": 1, "margin_limit": 0}')},
        {"limits": np.array("{not json")},
    ],
    ids=["nine-classes", "nan", "zero-limit", "bad-json"],
)
def test_an_unusable_verdict_rule_is_refused_clearly(tmp_path, tiny_network, fitted_rule, broken):
    path = tmp_path / "w.npz"
    checkpoint.save(path, tiny_network)
    arrays = dict(np.load(path))
    good = {f"verdict/{k}": v for k, v in fitted_rule.to_arrays().items()}
    arrays.update(good)
    arrays.update({f"verdict/{k}": v for k, v in broken.items()})
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match="unusable verdict rule"):
        checkpoint.load_verdict_rule(path)


def test_the_tiny_test_model_has_a_working_rule(tiny_weights):
    rule = checkpoint.load_verdict_rule(tiny_weights)
    network = checkpoint.load(tiny_weights)
    x = np.random.default_rng(9).random((3, 1, 28, 28), dtype=np.float32)
    probabilities, kept = network.predict(x, keep=("relu2",))
    verdicts = rule.judge(probabilities, kept["relu2"])
    assert len(verdicts) == 3 and all(v.label in VERDICTS and v.novelty >= 0 for v in verdicts)


def test_the_novelty_share_goes_to_the_score_that_flags_the_outliers():
    """Outliers like the held-out digits farthest from their class but answered surely: only the
    distance can flag them, so it gets the whole share; outliers at a class mean but answered
    evenly: the entropy gets it."""
    rng = np.random.default_rng(7)
    hidden, labels = _clusters(rng)
    held_out, held_labels = _clusters(rng)
    probabilities = _sure(held_labels, top=0.9) + rng.uniform(0, 0.01, (len(held_labels), 10))
    probabilities /= probabilities.sum(axis=1, keepdims=True)

    def calibrated(outlier_probabilities, outlier_hidden):
        rule = VerdictRule(*fit_class_statistics(hidden, labels))
        return calibrate(
            rule, probabilities, held_out, outlier_probabilities, outlier_hidden, novel_share=0.01
        )

    farthest = np.argsort(VerdictRule(*fit_class_statistics(hidden, labels)).distances(held_out))[-15:]
    far = calibrated(_sure(held_labels[farthest]), held_out[farthest])
    assert far.fitted["calibration"]["distance_share"] >= 0.005
    assert far.fitted["calibration"]["outliers_flagged"] == 1.0
    uneven = calibrated(np.full((50, 10), 0.1), np.eye(10)[np.arange(50) % 10] * 5)
    assert uneven.fitted["calibration"]["distance_share"] == 0.0
    assert uneven.fitted["calibration"]["outliers_flagged"] == 1.0
    assert uneven.fitted["calibration"]["outliers"] == 50


def test_evaluating_weights_without_a_rule_writes_the_misread_digits_and_says_how_to_fit_one(
    tmp_path, tiny_network, capsys, monkeypatch
):
    import json

    from model import evaluate, mnist

    path = tmp_path / "w.npz"
    checkpoint.save(path, tiny_network)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), np.arange(20) % 10
    monkeypatch.setattr(mnist, "load_mnist", lambda directory: mnist.Mnist(images, labels, images, labels))
    assert evaluate.main(["--weights", str(path), "--data-dir", str(tmp_path)]) == 1
    assert "--fit-verdict" in capsys.readouterr().err
    predictions = tiny_network.predict(evaluate.to_network_input(images))[0].argmax(axis=1)
    misread = json.loads(evaluate.misread_path(path).read_text())
    assert misread["count"] == (predictions != labels).sum() == len(misread["digits"])
