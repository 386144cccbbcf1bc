"""The service around the predictions: health, readiness, the model card, and the app factory."""

from __future__ import annotations

import numpy as np
import pytest

from app import create_app
from harness.tiny_model import fit_tiny_verdict_rule
from model import checkpoint
from model.network import Network


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_the_loaded_model(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "parameter_count": app.extensions["model"].network.parameter_count,
    }


def test_model_card_adds_the_architecture_computed_from_the_spec(app, client):
    card = client.get("/api/model").get_json()
    network = app.extensions["model"].network
    assert card["name"] == "tiny random-weight test model"  # from the card file
    assert card["parameter_count"] == network.parameter_count == 30 * 25 + 30 + 4320 * 100 + 100 + 1010
    layers = card["architecture"]
    assert [layer["name"] for layer in layers] == network.layer_names
    shapes = {layer["name"]: layer["output_shape"] for layer in layers}
    assert shapes["conv1"] == shapes["relu1"] == [30, 24, 24]
    assert shapes["pool1"] == [30, 12, 12]
    assert shapes["affine2"] == [10]
    assert {layer["name"]: layer["parameters"] for layer in layers}["conv1"] == 30 * 25 + 30


def test_model_card_keeps_what_training_wrote(tmp_path):
    weights = tmp_path / "trained.npz"
    card = {
        "test_accuracy": 0.991,
        "parameter_count": 433890,
        "confusion_matrix": np.eye(10, dtype=int).tolist(),
        "history": [{"epoch": 1, "loss": 0.3, "train_accuracy": 0.9, "test_accuracy": 0.95, "seconds": 3.0}],
    }
    network = Network(rng=np.random.default_rng(5))
    checkpoint.save(weights, network, card, verdict_rule=fit_tiny_verdict_rule(network))
    served = create_app({"WEIGHTS_PATH": str(weights)}).test_client().get("/api/model").get_json()
    assert {key: served[key] for key in card} == card
    assert "architecture" in served

# --- the factory -----------------------------------------------------------------------------


def test_two_apps_in_one_process_are_independent(tiny_weights):
    first = create_app({"WEIGHTS_PATH": str(tiny_weights), "MAX_BATCH_SIZE": 2})
    second = create_app({"WEIGHTS_PATH": str(tiny_weights), "MAX_BATCH_SIZE": 3})
    assert first.extensions["model"] is not second.extensions["model"]
    images = {"images": [{"pixels": [[0] * 28] * 28}] * 3}
    assert first.test_client().post("/predict/batch", json=images).status_code == 413
    assert second.test_client().post("/predict/batch", json=images).status_code == 200
    assert not first.debug and not second.debug


def test_environment_settings_apply_and_config_overrides_them(tiny_weights, monkeypatch):
    monkeypatch.setenv("DIGIT_LENS_WEIGHTS_PATH", str(tiny_weights))
    monkeypatch.setenv("DIGIT_LENS_MAX_BATCH_SIZE", "5")
    monkeypatch.setenv("DIGIT_LENS_MAX_IMAGE_PIXELS", "1234")
    app = create_app({"MAX_IMAGE_PIXELS": 99})
    assert app.config["WEIGHTS_PATH"] == str(tiny_weights)
    assert app.config["MAX_BATCH_SIZE"] == 5
    assert app.config["MAX_IMAGE_PIXELS"] == 99


def test_a_malformed_environment_setting_is_named(monkeypatch, tiny_weights):
    monkeypatch.setenv("DIGIT_LENS_MAX_BATCH_SIZE", "lots")
    with pytest.raises(ValueError, match="DIGIT_LENS_MAX_BATCH_SIZE"):
        create_app({"WEIGHTS_PATH": str(tiny_weights)})


def test_missing_weights_stop_start_up_with_a_clear_error(tmp_path):
    with pytest.raises(checkpoint.CheckpointError, match="not found"):
        create_app({"WEIGHTS_PATH": str(tmp_path / "absent.npz")})
