"""GET /api/model/misread: the MNIST test digits the model reads wrong, served as written beside its
weights, read once per app, and a 404 that says so when they are not there."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from app import api, create_app
from harness.api_checks import TEST_LIMITS
from harness.tiny_model import tiny_misread_document
from model import evaluate


def test_misread_digits_are_served_as_written_beside_the_weights(app, client, served_weights):
    response = client.get("/api/model/misread")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document == json.loads(evaluate.misread_path(served_weights).read_text())
    assert document["count"] == len(document["digits"]) > 0
    for digit in document["digits"]:
        assert digit["label"] != digit["predicted"]
        assert np.asarray(digit["pixels"]).shape == (28, 28)


def test_the_app_reads_the_misread_digits_where_model_evaluate_writes_them(tmp_path):
    weights = tmp_path / "some" / "model.npz"
    expected = tmp_path / "some" / "model.misread.json"
    assert api.misread_path(weights) == evaluate.misread_path(weights) == expected


def test_misread_digits_are_read_once_per_app(tmp_path, tiny_weights, tiny_network):
    weights = tmp_path / "model.npz"
    shutil.copyfile(tiny_weights, weights)
    evaluate.write_misread(evaluate.misread_path(weights), tiny_misread_document(tiny_network))
    client = create_app({"WEIGHTS_PATH": str(weights), **TEST_LIMITS}).test_client()
    first = client.get("/api/model/misread").get_data()
    evaluate.misread_path(weights).write_text('{"count": 0, "digits": []}')
    assert client.get("/api/model/misread").get_data() == first


@pytest.mark.parametrize("content", [None, "{not json", b"\xff\xfe"], ids=["absent", "not json", "not text"])
def test_without_readable_misread_digits_the_endpoint_says_so(tmp_path, tiny_weights, content):
    weights = tmp_path / "model.npz"
    shutil.copyfile(tiny_weights, weights)
    if content is not None:
        path = evaluate.misread_path(weights)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    client = create_app({"WEIGHTS_PATH": str(weights), **TEST_LIMITS}).test_client()
    response = client.get("/api/model/misread")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "misread_unavailable"
    assert "model.misread.json" in error["message"]
    assert client.get("/api/model").status_code == 200  # the rest of the API is unaffected
