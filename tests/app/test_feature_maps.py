"""The compact uint8 + scale form of activation maps decodes back to the real activations."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from app import feature_maps


def test_encoding_round_trips_within_half_a_level_of_each_maps_scale():
    rng = np.random.default_rng(3)
    maps = (rng.random((30, 24, 24)) * rng.random((30, 1, 1)) * 7).astype(np.float32)
    encoded = feature_maps.encode("relu1", maps)
    decoded = feature_maps.decode(encoded)
    assert decoded.shape == (30, 24, 24) and decoded.dtype == np.float32
    tolerance = np.asarray(encoded["scale"])[:, None, None] / 255 * 0.5 + 1e-6
    assert np.all(np.abs(decoded - maps) <= tolerance)


def test_each_scale_is_its_maps_maximum_and_that_maximum_is_byte_255():
    maps = np.zeros((3, 4, 4), dtype=np.float32)
    maps[0, 1, 2] = 2.5
    maps[1] = 0.125
    encoded = feature_maps.encode("pool1", maps)
    assert encoded["scale"] == [2.5, 0.125, 0.0]
    data = np.frombuffer(base64.b64decode(encoded["data"]), dtype=np.uint8).reshape(3, 4, 4)
    assert data[0, 1, 2] == 255 and data[0].sum() == 255
    assert np.all(data[1] == 255)
    assert np.all(data[2] == 0)  # an all-zero map: scale 0 and zero bytes, no division by zero


def test_the_encoded_form_is_documented_json():
    encoded = feature_maps.encode("relu1", np.ones((2, 3, 5), dtype=np.float32))
    assert encoded == {
        "layer": "relu1",
        "shape": [2, 3, 5],
        "dtype": "uint8",
        "encoding": "base64",
        "data": base64.b64encode(bytes([255] * 30)).decode(),
        "scale": [1.0, 1.0],
    }


def test_bytes_are_in_c_order_map_row_column():
    maps = np.zeros((2, 2, 3), dtype=np.float32)
    maps[1, 0, 2] = 1.0
    maps[1, 1, 0] = 0.5
    data = base64.b64decode(feature_maps.encode("m", maps)["data"])
    assert data[1 * 6 + 0 * 3 + 2] == 255
    assert data[1 * 6 + 1 * 3 + 0] == 128  # rint(0.5 * 255)


def test_negative_values_which_a_relu_never_gives_are_stored_as_zero():
    maps = np.array([[[-3.0, 1.0]]], dtype=np.float32)
    assert feature_maps.decode(feature_maps.encode("m", maps)).tolist() == [[[0.0, 1.0]]]


@pytest.mark.parametrize("shape", [(24, 24), (1, 30, 24, 24)])
def test_only_chw_maps_are_encoded(shape):
    with pytest.raises(ValueError, match="C, H, W"):
        feature_maps.encode("m", np.zeros(shape, dtype=np.float32))


def test_maps_in_an_api_response_decode_to_the_networks_activations(app, client, canvas_png):
    response = client.post("/predict?include=feature_maps", data=canvas_png, content_type="image/png")
    assert response.status_code == 200
    result = response.get_json()
    image = np.asarray(result["input"], dtype=np.float32) / 255
    # The input is rounded to bytes in the response, so recompute from the exact network input.
    from app.preprocessing import to_mnist
    from harness.preprocessing import load_image

    exact = to_mnist(load_image(canvas_png, max_pixels=10**9))
    assert np.allclose(exact, image, atol=0.5 / 255 + 1e-6)
    _, activations = app.extensions["model"].network.predict(exact[None, None], keep=("relu1", "pool1"))
    for key, layer in (("feature_maps", "relu1"), ("pooled_maps", "pool1")):
        encoded = result[key]
        real = activations[layer][0]
        scale = np.asarray(encoded["scale"])
        assert np.allclose(scale, real.reshape(len(real), -1).max(axis=1), rtol=1e-5, atol=1e-9)
        decoded = feature_maps.decode(encoded)
        tolerance = scale[:, None, None] / 255 + 1e-6
        assert np.all(np.abs(decoded - real) <= tolerance)
        assert real.max() > 0  # the check above would be empty on all-zero maps
