"""/predict/batch: one result per image, in order, each as /predict would give it or the error of
its slot; the good images go through the network at once."""

from __future__ import annotations

import io

import numpy as np

from harness.api_checks import assert_result_matches, b64, expected_for_file, run_network


def test_batch_answers_in_order_with_errors_in_their_slots(app, client, digit_pixels, paper_png, canvas_png):
    shifted = np.roll(np.asarray(digit_pixels), 5, axis=1).tolist()
    response = client.post(
        "/predict/batch",
        json={
            "images": [
                {"pixels": digit_pixels},
                "data:image/png;base64," + b64(paper_png),
                "not base64 at all!",
                {"pixels": [[1, 2, 3]]},
                {"image": b64(canvas_png)},
                {"pixels": shifted},
                42,
                {"neither": True},
            ]
        },
    )
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert len(results) == 8
    pixels_image = np.asarray(digit_pixels, dtype=np.float32) / 255
    shifted_image = np.asarray(shifted, dtype=np.float32) / 255
    assert_result_matches(results[0], pixels_image, run_network(app, pixels_image)[0])
    assert_result_matches(results[1], *expected_for_file(app, paper_png))
    assert results[2] == {"error": {"code": "invalid_base64", "message": results[2]["error"]["message"]}}
    assert results[3]["error"]["code"] == "invalid_pixels"
    assert_result_matches(results[4], *expected_for_file(app, canvas_png))
    assert_result_matches(results[5], shifted_image, run_network(app, shifted_image)[0])
    assert results[6]["error"]["code"] == "invalid_parameter"
    assert results[7]["error"]["code"] == "missing_field"


def test_batch_of_multipart_files_keeps_their_order(app, client, paper_png, canvas_png, digit_files):
    files = [paper_png, canvas_png, digit_files["image/gif"]]
    response = client.post(
        "/predict/batch",
        data={"image": [(io.BytesIO(data), f"{i}.png") for i, data in enumerate(files)]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert len(results) == 3
    for result, data in zip(results, files, strict=True):
        assert_result_matches(result, *expected_for_file(app, data))


def test_batch_runs_the_good_images_through_the_network_at_once(app, client, digit_pixels, monkeypatch):
    network = app.extensions["model"].network
    batch_sizes = []
    original = network.predict

    def counting_predict(x, keep=()):
        batch_sizes.append(x.shape)
        return original(x, keep=keep)

    monkeypatch.setattr(network, "predict", counting_predict)
    images = [{"pixels": digit_pixels}, "@@@", {"pixels": digit_pixels}, {"pixels": digit_pixels}]
    response = client.post("/predict/batch", json={"images": images})
    assert response.status_code == 200
    assert batch_sizes == [(3, 1, 28, 28)]


def test_batch_with_no_readable_image_still_answers_every_slot(client):
    response = client.post("/predict/batch", json={"images": ["@@@", {"pixels": []}]})
    assert response.status_code == 200
    codes = [result["error"]["code"] for result in response.get_json()["results"]]
    assert codes == ["invalid_base64", "invalid_pixels"]


def test_batch_up_to_the_limit_is_accepted(app, client, digit_pixels):
    limit = app.config["MAX_BATCH_SIZE"]
    response = client.post("/predict/batch", json={"images": [{"pixels": digit_pixels}] * limit})
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == limit
