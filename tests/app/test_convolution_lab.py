"""POST /api/convolve, the convolution lab: the tutorial's lesson on sizes (filter, stride, padding,
pooling) computed by the network's own layers — checked against plain loops — and every request
that does not fit refused with its code and a message."""

from __future__ import annotations

import io

import numpy as np
import pytest

from app.convolution_lab import MAX_BODY_BYTES
from harness.api_checks import assert_error, run_network

# A 6×6 picture of a 5, ink = 1: the size of the tutorial's example.
FIVE = [
    [1, 1, 1, 1, 1, 0],
    [1, 0, 0, 0, 0, 0],
    [1, 1, 1, 1, 0, 0],
    [0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 1, 0],
    [1, 1, 1, 1, 0, 0],
]
EDGE = [[1, 0, -1]] * 3


def loop_convolution(picture, kernel, stride: int, pad: int) -> np.ndarray:
    """The convolution as the tutorial draws it: pad with zeros, then one window at a time."""
    padded = np.pad(np.asarray(picture, dtype=np.float64), pad)
    kernel = np.asarray(kernel, dtype=np.float64)
    size = len(kernel)
    positions = range(0, len(padded) - size + 1, stride)
    return np.array([[(padded[y : y + size, x : x + size] * kernel).sum() for x in positions]
                     for y in positions])


def loop_pooling(feature_map: np.ndarray, reduce, size: int, stride: int) -> np.ndarray:
    positions = range(0, len(feature_map) - size + 1, stride)
    return np.array([[reduce(feature_map[y : y + size, x : x + size]) for x in positions] for y in positions])


def convolve(client, **fields) -> dict:
    response = client.post("/api/convolve", json=fields)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(("stride", "side"), [(3, 2), (1, 4), (2, 2)])
def test_the_tutorials_six_by_six_example_has_the_size_the_stride_gives(client, stride, side):
    answer = convolve(client, pixels=FIVE, kernel=EDGE, stride=stride)
    assert answer["map_shape"] == [side, side]
    np.testing.assert_allclose(answer["map"], loop_convolution(FIVE, EDGE, stride, 0))


def test_padding_adds_a_border_of_zeros(client):
    answer = convolve(client, pixels=FIVE, kernel=EDGE, pad=1)
    # 6 + 2·1 − 3 + 1 = 6: padding by one keeps a 3×3 filter's map as large as the picture.
    assert answer["map_shape"] == [6, 6]
    np.testing.assert_allclose(answer["map"], loop_convolution(FIVE, EDGE, 1, 1))
    # The left column of windows sees the zero border where the weights are +1.
    column = np.asarray(FIVE, dtype=np.float64)
    np.testing.assert_allclose(np.asarray(answer["map"])[1:-1, 0],
                               -(column[:-2, 1] + column[1:-1, 1] + column[2:, 1]))


def test_max_pooling_keeps_each_blocks_largest_value_and_average_pooling_its_mean(client):
    rng = np.random.default_rng(3)
    picture = rng.uniform(0, 1, (9, 9)).round(3).tolist()
    kernel = rng.uniform(-1, 1, (2, 2)).round(3).tolist()
    feature_map = loop_convolution(picture, kernel, 1, 0)  # 8×8
    for kind, reduce in (("max", np.max), ("average", np.mean)):
        answer = convolve(client, pixels=picture, kernel=kernel, pool={"kind": kind, "size": 2, "stride": 2})
        assert answer["pooled_shape"] == [4, 4]
        np.testing.assert_allclose(answer["pooled"], loop_pooling(feature_map, reduce, 2, 2), rtol=1e-5)


@pytest.mark.parametrize(("side", "size", "stride", "pad", "pool_size", "pool_stride"), [
    (28, 5, 1, 0, 2, 2),
    (28, 7, 4, 3, 3, 1),
    (13, 4, 2, 1, 2, 3),
    (6, 6, 1, 0, 1, 1),
    (1, 3, 1, 1, 1, 4),
    (28, 1, 3, 2, 4, 4),
])
@pytest.mark.parametrize("kind", ["max", "average"])
def test_every_size_is_the_loops_answer(client, side, size, stride, pad, pool_size, pool_stride, kind):
    rng = np.random.default_rng(side * 100 + size)
    picture = rng.uniform(0, 1, (side, side)).round(4).tolist()
    kernel = rng.normal(0, 1, (size, size)).round(4).tolist()
    answer = convolve(client, pixels=picture, kernel=kernel, stride=stride, pad=pad,
                      pool={"kind": kind, "size": pool_size, "stride": pool_stride})
    expected_map = loop_convolution(picture, kernel, stride, pad)
    expected_pooled = loop_pooling(expected_map, np.max if kind == "max" else np.mean, pool_size, pool_stride)
    # Six significant digits each (responses.significant).
    np.testing.assert_allclose(answer["map"], expected_map, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(answer["pooled"], expected_pooled, rtol=1e-5, atol=1e-9)
    assert answer["map_shape"] == list(expected_map.shape)
    assert answer["pooled_shape"] == list(expected_pooled.shape)
    # What the floor drops: the last rows of the padded picture no window reaches.
    span = side + 2 * pad - size
    assert answer["map_remainder"] == span - (expected_map.shape[0] - 1) * stride
    assert answer["pooled_remainder"] == (expected_map.shape[0] - pool_size) % pool_stride


def test_what_the_stride_cannot_reach_is_the_remainder(client):
    # 7 + 0 − 3 = 4 = 1·3 + 1: windows at 0 and 3, and the last column is never reached.
    answer = convolve(client, pixels=[[1] * 7] * 7, kernel=EDGE, stride=3, pool={"kind": "max", "size": 1})
    assert (answer["map_shape"], answer["map_remainder"]) == ([2, 2], 1)
    assert (answer["pooled_shape"], answer["pooled_remainder"]) == ([2, 2], 0)


def test_left_out_fields_are_the_layers_defaults(client):
    picture = np.random.default_rng(5).uniform(0, 1, (8, 8)).tolist()
    answer = convolve(client, pixels=picture, kernel=EDGE)
    expected = loop_convolution(picture, EDGE, 1, 0)
    np.testing.assert_allclose(answer["map"], expected, rtol=1e-5, atol=1e-9)
    # The network's pooling: 2×2 max, stride 2.
    np.testing.assert_allclose(answer["pooled"], loop_pooling(expected, np.max, 2, 2), rtol=1e-5, atol=1e-9)
    average = convolve(client, pixels=picture, kernel=EDGE, pool={"kind": "average", "size": 3})
    assert average["pooled_shape"] == [2, 2]


def test_a_whole_number_written_with_a_point_is_that_number(client):
    # JSON Schema's integer includes 2.0; the lab reads it as 2.
    answer = convolve(client, **LAB, stride=3.0, pad=0.0, pool={"kind": "max", "size": 1.0})
    assert (answer["map_shape"], answer["pooled_shape"]) == ([2, 2], [2, 2])


def test_a_learned_filter_gives_the_networks_own_map_before_bias_and_relu(app, client, digit_pixels):
    image = np.asarray(digit_pixels, dtype=np.float64) / 255
    _, kept = run_network(app, image.astype(np.float32), keep=("conv1",))
    network = app.extensions["model"].network
    for index in (0, 17):
        kernel = network.params["conv1.W"][index, 0].astype(np.float64)
        answer = convolve(client, pixels=image.tolist(), kernel=kernel.tolist())
        assert (answer["map_shape"], answer["pooled_shape"]) == ([24, 24], [12, 12])
        np.testing.assert_allclose(answer["map"], kept["conv1"][index] - network.params["conv1.b"][index],
                                   rtol=1e-4, atol=1e-6)


def test_no_negative_zero_and_six_significant_digits(client):
    answer = convolve(client, pixels=[[0, 0], [0, 1 / 3]], kernel=[[-1]], pool={"kind": "max", "size": 1})
    assert answer["map"] == [[0.0, 0.0], [0.0, -0.333333]]
    assert all(str(value) != "-0.0" for row in answer["map"] for value in row)


# The tutorial's example with a 3×3 filter; a bad request changes one of its fields.
LAB = {"pixels": FIVE, "kernel": EDGE}


def square(side: int, value: object = 0) -> list:
    return [[value] * side for _ in range(side)]


def with_value(value: object) -> dict:
    pixels = square(6)
    pixels[2][3] = value
    return {"pixels": pixels, "kernel": EDGE}


BAD_REQUESTS = [
    pytest.param({"pixels": FIVE, "kernel": square(7)}, "window_does_not_fit", id="filter larger than input"),
    pytest.param({"pixels": square(1), "kernel": square(4), "pad": 1}, "window_does_not_fit",
                 id="filter larger than padded input"),
    pytest.param(LAB | {"stride": 3, "pool": {"kind": "max", "size": 3}},
                 "window_does_not_fit", id="pool window larger than map"),
    pytest.param(LAB | {"stride": 0}, "invalid_parameter", id="zero stride"),
    pytest.param(LAB | {"stride": -1}, "invalid_parameter", id="negative stride"),
    pytest.param(LAB | {"stride": 5}, "invalid_parameter", id="stride above 4"),
    pytest.param(LAB | {"stride": 1.5}, "invalid_parameter", id="fractional stride"),
    pytest.param(LAB | {"stride": "2"}, "invalid_parameter", id="stride a string"),
    pytest.param(LAB | {"stride": True}, "invalid_parameter", id="stride a boolean"),
    pytest.param(LAB | {"pad": 4}, "invalid_parameter", id="pad above 3"),
    pytest.param(LAB | {"pad": -1}, "invalid_parameter", id="negative pad"),
    pytest.param(LAB | {"pad": None}, "invalid_parameter", id="pad null"),
    pytest.param({"pixels": FIVE, "kernel": square(8)}, "invalid_parameter", id="kernel above 7"),
    pytest.param({"pixels": FIVE, "kernel": []}, "invalid_parameter", id="empty kernel"),
    pytest.param({"pixels": FIVE, "kernel": [[1, 0, -1]] * 2}, "invalid_parameter", id="kernel not square"),
    pytest.param({"pixels": FIVE, "kernel": [[1, 0, -1], [1, 0], [1, 0, -1]]}, "invalid_parameter",
                 id="ragged kernel"),
    pytest.param({"pixels": FIVE, "kernel": [1, 0, -1]}, "invalid_parameter", id="flat kernel"),
    pytest.param({"pixels": FIVE, "kernel": [[[1]]]}, "invalid_parameter", id="kernel too deep"),
    pytest.param({"pixels": square(29), "kernel": EDGE}, "invalid_parameter", id="picture above 28"),
    pytest.param({"pixels": FIVE[:5], "kernel": EDGE}, "invalid_parameter", id="picture not square"),
    pytest.param({"pixels": [*FIVE[:5], [1, 1]], "kernel": EDGE}, "invalid_parameter", id="ragged picture"),
    pytest.param({"pixels": "FIVE", "kernel": EDGE}, "invalid_parameter", id="picture a string"),
    pytest.param({"pixels": {"0": [1]}, "kernel": EDGE}, "invalid_parameter", id="picture an object"),
    pytest.param(with_value(True), "invalid_parameter", id="boolean pixel"),
    pytest.param(with_value(None), "invalid_parameter", id="null pixel"),
    pytest.param(with_value("1"), "invalid_parameter", id="string pixel"),
    pytest.param(with_value(1001), "invalid_parameter", id="pixel above the bound"),
    pytest.param(with_value(10**400), "invalid_parameter", id="huge integer pixel"),
    pytest.param(LAB | {"pool": "max"}, "invalid_parameter", id="pool a string"),
    pytest.param(LAB | {"pool": {"kind": "min", "size": 2}}, "invalid_parameter",
                 id="unknown pool kind"),
    pytest.param(LAB | {"pool": {"kind": ["max"], "size": 2}}, "invalid_parameter",
                 id="pool kind a list"),
    pytest.param(LAB | {"pool": {"kind": "max", "size": 0}}, "invalid_parameter",
                 id="zero pool size"),
    pytest.param(LAB | {"pool": {"kind": "max", "size": 5}}, "invalid_parameter",
                 id="pool size above 4"),
    pytest.param(LAB | {"pool": {"kind": "max", "size": 2, "stride": 0}},
                 "invalid_parameter", id="zero pool stride"),
    pytest.param(LAB | {"pool": {"kind": "max", "size": 2, "pad": 1}},
                 "invalid_parameter", id="unknown pool field"),
    pytest.param(LAB | {"bias": 1}, "invalid_parameter", id="unknown field"),
    pytest.param({"kernel": EDGE}, "missing_field", id="no picture"),
    pytest.param({"pixels": FIVE}, "missing_field", id="no kernel"),
    pytest.param(LAB | {"pool": {"size": 2}}, "missing_field", id="no pool kind"),
    pytest.param(LAB | {"pool": {"kind": "max"}}, "missing_field", id="no pool size"),
    pytest.param([FIVE, EDGE], "invalid_json", id="a json array"),
]


@pytest.mark.parametrize(("document", "code"), BAD_REQUESTS)
def test_a_request_that_does_not_fit_is_refused_with_a_message(client, document, code):
    error = assert_error(client.post("/api/convolve", json=document), 400, code)
    assert len(error["message"]) < 200


def test_the_does_not_fit_message_says_the_sizes(client):
    document = {"pixels": square(2), "kernel": square(5), "pad": 1}
    error = assert_error(client.post("/api/convolve", json=document), 400, "window_does_not_fit")
    assert error["message"] == ("a 5×5 filter does not fit in the 2×2 input padded by 1 on each side (4×4): "
                                "make it smaller or pad more")
    document = LAB | {"stride": 4, "pool": {"kind": "average", "size": 2}}
    error = assert_error(client.post("/api/convolve", json=document), 400, "window_does_not_fit")
    assert error["message"] == "a 2×2 pooling window does not fit in the 1×1 map: make it smaller"


@pytest.mark.parametrize(("data", "content_type", "status", "code"), [
    (b'{"pixels": NaN, "kernel": [[1]]}', "application/json", 400, "invalid_json"),
    (b'{"pixels": [[Infinity]], "kernel": [[1]]}', "application/json", 400, "invalid_json"),
    (b'{"pixels": [[1e999]], "kernel": [[1]]}', "application/json", 400, "invalid_parameter"),
    (b'{"pixels": [[1]], "kernel": [[1]]', "application/json", 400, "invalid_json"),
    (b"[" * 5000 + b"]" * 5000, "application/json", 400, "invalid_json"),
    (b"[" * 900 + b"]" * 900, "application/json", 400, "invalid_json"),
    (b'{"pixels": [[1]], "kernel": [[1]]}', "text/plain", 415, "unsupported_media_type"),
    (b" " * (MAX_BODY_BYTES + 1), "application/json", 413, "payload_too_large"),
])
def test_a_body_that_is_not_a_small_json_object_is_refused(client, data, content_type, status, code):
    assert_error(client.post("/api/convolve", data=data, content_type=content_type), status, code)


def test_a_chunked_body_over_the_labs_limit_is_refused(client):
    body = b'{"pixels": [[' + b"0," * MAX_BODY_BYTES + b"0]], \"kernel\": [[1]]}"
    response = client.post(
        "/api/convolve", input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_is_served(client, method):
    assert_error(getattr(client, method)("/api/convolve"), 405, "method_not_allowed")
