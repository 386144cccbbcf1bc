"""/predict?snapshot=K: the drawing read by the network as it was at snapshot K of its training
(GET /api/model lists them as replay), with every include, and its verdict said."""

from __future__ import annotations

import io
import json
import shutil

import jsonschema_rs
import numpy as np
import pytest

from app import create_app
from app.replay import EARLIER_VERDICT, SERVED_VERDICT
from harness.api_checks import ALL_EXTRAS, assert_error, b64, pixels_image
from harness.images import encode
from harness.number_pictures import drawn
from model import checkpoint
from model.network import FILTERS_LAYER, HIDDEN_LAYER, LOGITS_LAYER, MAPS_LAYER
from model.replay import Replay, replay_path


@pytest.fixture(scope="module")
def card(app) -> dict:
    return app.test_client().get("/api/model").get_json()


@pytest.fixture(scope="module")
def snapshot_networks(served_weights, card, tiny_network):
    """Each snapshot rebuilt straight from the replay file, as model.replay reads it."""
    replay = Replay(replay_path(served_weights), tiny_network.spec, card["replay"])
    return [replay.network(index) for index in range(len(replay))]


def predict(client, pixels, query: str = "", **kwargs):
    return client.post(f"/predict?{query}", json={"pixels": pixels}, **kwargs)


def test_the_model_card_lists_the_snapshots_in_training_order(card, served_weights):
    replay = card["replay"]
    written = json.loads(checkpoint.card_path(served_weights).read_text())["replay"]
    assert replay == written and len(replay) >= 2
    assert replay[0]["step"] == 0
    assert [entry["step"] for entry in replay] == sorted(entry["step"] for entry in replay)
    assert all(set(entry) == {"step", "epoch", "test_accuracy", "test_loss"} for entry in replay)


def test_the_last_snapshot_is_the_served_network_itself(client, app, card, digit_pixels):
    last = len(card["replay"]) - 1
    assert app.extensions["replay"].predictor(last) is app.extensions["model"]
    served = predict(client, digit_pixels, f"include={ALL_EXTRAS}").get_json()
    answer = predict(client, digit_pixels, f"include={ALL_EXTRAS}&snapshot={last}").get_json()
    snapshot = answer.pop("snapshot")
    for result in (served, answer):
        del result["timing_ms"]
    assert answer == served  # the float32 weights, not their float16 copy in the replay
    assert snapshot == {"index": last, **card["replay"][last], "served": True, "verdict": SERVED_VERDICT}


def test_an_earlier_snapshot_answers_with_its_own_weights(client, card, snapshot_networks, digit_pixels):
    image = pixels_image(digit_pixels)[np.newaxis, np.newaxis]
    answers = []
    for index, network in enumerate(snapshot_networks[:-1]):
        result = predict(client, digit_pixels, f"snapshot={index}&include=layers,feature_maps").get_json()
        probabilities, kept = network.predict(image, keep=(MAPS_LAYER, HIDDEN_LAYER, LOGITS_LAYER))
        assert result["probabilities"] == pytest.approx(probabilities[0].tolist(), rel=1e-5, abs=1e-7)
        assert result["layers"]["logits"]["values"] == pytest.approx(kept[LOGITS_LAYER][0].tolist(), rel=1e-5)
        assert result["layers"]["hidden"]["values"] == pytest.approx(kept[HIDDEN_LAYER][0].tolist(),
                                                                     rel=1e-5, abs=1e-6)
        assert result["feature_maps"]["scale"] == pytest.approx(kept[MAPS_LAYER][0].max(axis=(1, 2)).tolist(),
                                                               rel=1e-5)
        assert result["snapshot"] == {"index": index, **card["replay"][index], "served": False,
                                      "verdict": EARLIER_VERDICT}
        answers.append(result["probabilities"])
    assert len({tuple(answer) for answer in answers}) == len(answers)  # each snapshot its own answer


def test_the_filters_are_the_answering_snapshots(client, app, card, snapshot_networks, digit_pixels):
    for index, network in enumerate(snapshot_networks):
        filters = predict(client, digit_pixels, f"snapshot={index}&include=filters").get_json()["filters"]
        served = index == len(snapshot_networks) - 1
        params = (app.extensions["model"].network if served else network).params
        assert filters["layer"] == FILTERS_LAYER
        weights, bias = params[f"{FILTERS_LAYER}.W"][:, 0], params[f"{FILTERS_LAYER}.b"]
        np.testing.assert_allclose(filters["weights"], weights, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(filters["bias"], bias, rtol=1e-5, atol=1e-9)


def test_every_include_works_with_a_snapshot(client, canvas_png):
    response = client.post(f"/predict?snapshot=1&include={ALL_EXTRAS}&versus=3", data=canvas_png,
                           content_type="image/png")
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    extras = {"feature_maps", "pooled_maps", "saliency", "layers", "steps", "filters", "snapshot"}
    assert extras <= set(result)
    assert result["saliency"]["target"] == result["digit"]


def test_an_earlier_snapshot_gets_the_margin_test_alone(client, app, card, digit_pixels):
    limit = app.extensions["model"].verdict_rule.margin_limit
    for index in range(len(card["replay"]) - 1):
        result = predict(client, digit_pixels, f"snapshot={index}").get_json()
        margin = result["verdict_scores"]["margin"]
        assert result["verdict_scores"]["novelty"] is None
        assert result["verdict"] == ("unsure" if margin < limit else "digit")


def test_a_batch_is_read_by_the_snapshot_asked_for(client, digit_pixels, canvas_png):
    images = [{"pixels": digit_pixels}, "!!", b64(canvas_png)]
    response = client.post("/predict/batch?snapshot=0&include=filters", json={"images": images})
    assert response.status_code == 200
    first, failed, third = response.get_json()["results"]
    assert "error" in failed and "snapshot" not in failed
    assert first["snapshot"]["index"] == third["snapshot"]["index"] == 0
    alone = predict(client, digit_pixels, "snapshot=0").get_json()["probabilities"]
    assert first["probabilities"] == pytest.approx(alone, rel=1e-5)


@pytest.mark.parametrize("value", ["-1", "4", "99", "10000", "x", "1.5", "", " 1", "1e0", "٣", "9" * 50])
def test_a_snapshot_outside_the_replay_is_refused_naming_the_range(client, digit_pixels, value):
    error = assert_error(predict(client, digit_pixels, query_string={"snapshot": value}), 400,
                         "invalid_parameter")
    assert "from 0 to 3" in error["message"]
    assert len(error["message"]) < 200


def test_two_different_snapshots_are_refused(client, digit_pixels):
    response = predict(client, digit_pixels, query_string=[("snapshot", "1"), ("snapshot", "2")])
    assert_error(response, 400, "invalid_parameter")
    same = predict(client, digit_pixels, query_string=[("snapshot", "1"), ("snapshot", "1")])
    assert same.get_json()["snapshot"]["index"] == 1


@pytest.mark.parametrize("body", ["json", "form"])
def test_a_snapshot_in_the_body_is_refused(client, canvas_png, body):
    if body == "json":
        response = client.post("/predict", json={"image": b64(canvas_png), "snapshot": 1})
    else:
        response = client.post("/predict", data={"image": (io.BytesIO(canvas_png), "a.png"), "snapshot": "1"},
                               content_type="multipart/form-data")
    error = assert_error(response, 400, "invalid_parameter")
    assert "query string" in error["message"]


def test_weights_without_a_replay_refuse_a_snapshot(tiny_weights, digit_pixels):
    client = create_app({"WEIGHTS_PATH": str(tiny_weights)}).test_client()
    assert "replay" not in client.get("/api/model").get_json()
    assert_error(predict(client, digit_pixels, "snapshot=0"), 404, "replay_unavailable")
    assert predict(client, digit_pixels).status_code == 200


def test_a_card_whose_replay_file_is_missing_does_not_offer_it(served_weights, tmp_path, digit_pixels):
    weights = tmp_path / "moved.npz"
    shutil.copyfile(served_weights, weights)
    shutil.copyfile(checkpoint.card_path(served_weights), checkpoint.card_path(weights))
    client = create_app({"WEIGHTS_PATH": str(weights)}).test_client()
    assert "replay" not in client.get("/api/model").get_json()
    assert_error(predict(client, digit_pixels, "snapshot=0"), 404, "replay_unavailable")


def test_a_corrupt_replay_file_is_a_404_not_a_500(served_weights, tmp_path, digit_pixels):
    weights = tmp_path / "corrupt.npz"
    shutil.copyfile(served_weights, weights)
    shutil.copyfile(checkpoint.card_path(served_weights), checkpoint.card_path(weights))
    replay_path(weights).write_bytes(b"not a zip file")
    client = create_app({"WEIGHTS_PATH": str(weights)}).test_client()
    assert_error(predict(client, digit_pixels, "snapshot=0"), 404, "replay_unavailable")
    assert predict(client, digit_pixels, "snapshot=3").status_code == 200  # the served weights need no file


def test_snapshot_answers_conform_to_their_closed_schemas(client, digit_pixels):
    document = client.get("/openapi.json").get_json()
    operation = document["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]
    validator = jsonschema_rs.validator_for({**operation["schema"], "components": document["components"]})
    for index in (0, 3):
        result = predict(client, digit_pixels, f"snapshot={index}&include={ALL_EXTRAS}").get_json()
        assert validator.is_valid(result), index
        for field in ("snapshot", "filters"):
            assert not validator.is_valid({**result, field: {**result[field], "surprise": 1}}), field
    card_schema = {**document["components"]["schemas"]["ModelCard"], "components": document["components"]}
    card = client.get("/api/model").get_json()
    assert jsonschema_rs.validator_for(card_schema).is_valid(card)
    changed = {**card, "replay": [{**card["replay"][0], "surprise": 1}]}
    assert not jsonschema_rs.validator_for(card_schema).is_valid(changed)


def test_the_backward_pass_runs_on_the_snapshot_asked_for(client, digit_pixels):
    for index in (0, 3):
        result = predict(client, digit_pixels, f"snapshot={index}&include=gradients&label=3").get_json()
        # The loss is −log of that network's own probability of the label.
        assert result["gradients"]["loss"] == pytest.approx(-np.log(result["probabilities"][3]), rel=1e-3)
    earlier = predict(client, digit_pixels, "snapshot=0&include=gradients&label=3").get_json()
    served = predict(client, digit_pixels, "include=gradients&label=3").get_json()
    assert earlier["gradients"]["loss"] != pytest.approx(served["gradients"]["loss"], rel=1e-3)


def test_a_number_is_read_by_the_snapshot_asked_for(client):
    png = encode(drawn([4, 2], 0), "PNG")
    document = client.get("/openapi.json").get_json()
    schema = document["paths"]["/predict/number"]["post"]["responses"]["200"]["content"]["application/json"]
    validator = jsonschema_rs.validator_for({**schema["schema"], "components": document["components"]})
    response = client.post("/predict/number?snapshot=0&include=filters", data=png, content_type="image/png")
    assert response.status_code == 200, response.get_json()
    number = response.get_json()
    assert number["snapshot"]["index"] == 0 and validator.is_valid(number)
    assert all(digit["verdict_scores"]["novelty"] is None for digit in number["digits"])
    refused = client.post("/predict/number?snapshot=9", data=png, content_type="image/png")
    assert_error(refused, 400, "invalid_parameter")
