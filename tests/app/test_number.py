"""POST /predict/number: a whole number found, cut into digits, boxed and read by the same network.

Segmentation's rules are tested piece by piece in tests/app/preprocessing (test_pieces, test_cuts);
here the endpoint, on the tiny network for its refusals and contract and on the committed weights
for what it reads.
"""

from __future__ import annotations

import io

import jsonschema_rs
import numpy as np
import pytest
from PIL import Image

from app import create_app
from app.numbers import least_sure
from app.preprocessing.number import MAX_DIGITS
from harness.api_checks import ALL_EXTRAS, assert_error, b64
from harness.ci import skip_or_fail
from harness.hostile_numbers import bars
from harness.images import encode
from harness.number_pictures import broken_five, drawn, wide_zero, with_marks
from harness.pictures import plain_png
from model import checkpoint

FORTY_TWO_SEEDS = (0, 1, 2, 3)


@pytest.fixture(scope="module")
def trained():
    """A client of the app on the committed, trained weights: what it reads is measured."""
    if not checkpoint.DEFAULT_WEIGHTS.is_file():
        skip_or_fail(f"no committed weights at {checkpoint.DEFAULT_WEIGHTS}")
    return create_app({"WEIGHTS_PATH": str(checkpoint.DEFAULT_WEIGHTS)}).test_client()


def read(client, image: Image.Image, query: str = "") -> dict:
    response = client.post(f"/predict/number{query}", data=encode(image, "PNG"), content_type="image/png")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    return image.getchannel("A").getbbox()


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ({"pixels": [[0] * 28] * 28}, "json", 400, "invalid_parameter"),
        ({"image": "!!"}, "json", 400, "invalid_base64"),
        ({"picture": "x"}, "json", 400, "missing_field"),
        ({"image": 5}, "json", 400, "invalid_parameter"),
        (b"{", "application/json", 400, "invalid_json"),
        (b"not an image", "image/png", 400, "invalid_image"),
        (b"hello", "text/plain", 415, "unsupported_media_type"),
        (plain_png(300, 120), "image/png", 422, "no_digit_found"),
        (encode(Image.new("RGBA", (300, 120), (0, 0, 0, 0)), "PNG"), "image/png", 422, "no_digit_found"),
        (plain_png(1200, 1000), "image/png", 413, "image_too_large"),
        (bars(MAX_DIGITS + 1), "image/png", 422, "too_many_digits"),
    ],
    ids=["pixels", "bad base64", "no image field", "image not a string", "broken JSON", "not an image",
         "text", "blank paper", "empty canvas", "over the pixel limit", "13 digits"],
)
def test_bad_input_gets_its_documented_error(client, body, content_type, status, code):
    if content_type == "json":
        response = client.post("/predict/number", json=body)
    else:
        response = client.post("/predict/number", data=body, content_type=content_type)
    error = assert_error(response, status, code)
    if code == "too_many_digits":
        assert str(MAX_DIGITS) in error["message"]


@pytest.mark.parametrize("query", ["?include=bogus", "?versus=12", "?include=gradients&label=4"],
                         ids=["unknown include", "versus out of range", "gradients (one digit at a time)"])
def test_a_bad_query_is_refused_as_for_predict(client, query):
    response = client.post(f"/predict/number{query}", data=encode(drawn([4, 2], 0), "PNG"),
                           content_type="image/png")
    assert_error(response, 400, "invalid_parameter")


def test_two_images_are_refused(client):
    png = encode(drawn([4, 2], 0), "PNG")
    parts = {"image": [(io.BytesIO(png), "a.png"), (io.BytesIO(png), "b.png")]}
    response = client.post("/predict/number", data=parts, content_type="multipart/form-data")
    assert_error(response, 400, "invalid_parameter")


def test_the_verdict_of_a_number_is_its_least_sure_digits():
    assert least_sure(["digit", "digit"]) == "digit"
    assert least_sure(["digit", "unsure", "digit"]) == "unsure"
    assert least_sure(["unsure", "not_a_digit", "digit"]) == "not_a_digit"


# --- what it reads -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", FORTY_TWO_SEEDS)
def test_a_drawn_42_reads_42_with_boxes_left_to_right_inside_the_image(trained, seed):
    image = drawn([4, 2], seed)
    result = read(trained, image)
    assert result["number"] == "42"
    assert [digit["digit"] for digit in result["digits"]] == [4, 2]
    boxes = [digit["box"] for digit in result["digits"]]
    for x, y, width, height in boxes:
        assert x >= 0 and y >= 0 and width >= 1 and height >= 1
        assert x + width <= image.width and y + height <= image.height
    (x4, _, w4, _), (x2, _, _, _) = boxes
    assert x4 + w4 <= x2  # separated digits: boxes side by side, in order
    left, top, right, bottom = ink_box(image)
    assert abs(boxes[0][0] - left) <= 4 and abs(boxes[1][0] + boxes[1][2] - right) <= 4
    assert abs(min(b[1] for b in boxes) - top) <= 4 and abs(max(b[1] + b[3] for b in boxes) - bottom) <= 4
    assert result["verdict"] == least_sure([digit["verdict"] for digit in result["digits"]])


@pytest.mark.parametrize("seed", FORTY_TWO_SEEDS)
def test_two_touching_digits_are_split(trained, seed):
    image = drawn([4, 2], seed, "touching")
    result = read(trained, image)
    assert result["number"] == "42"
    (x4, _, w4, _), (x2, _, w2, _) = (digit["box"] for digit in result["digits"])
    assert x4 < x2 and x4 + w4 < x2 + w2


@pytest.mark.parametrize("seed", FORTY_TWO_SEEDS)
def test_a_one_touching_a_three_is_split_into_two(trained, seed):
    result = read(trained, drawn([1, 3], seed, "touching"))
    assert result["number"] == "13"


def test_a_broken_five_is_one_digit(trained):
    image = broken_five()
    [digit] = read(trained, image)["digits"]
    assert digit["digit"] == 5
    left, top, right, bottom = ink_box(image)
    assert abs(digit["box"][1] - top) <= 4  # the bar is in the digit's box


@pytest.mark.parametrize("width_share", [1.0, 1.15, 1.3])
def test_a_wide_zero_is_not_split(trained, width_share):
    result = read(trained, wide_zero(width_share=width_share))
    assert result["number"] == "0"


@pytest.mark.parametrize(("speck", "underline"), [(True, False), (False, True), (True, True)])
def test_a_speck_and_an_underline_are_not_digits(trained, speck, underline):
    image = with_marks(drawn([4, 2], 0), speck=speck, underline=underline)
    result = read(trained, image)
    assert result["number"] == "42"


def test_boxes_are_in_the_uploaded_images_own_pixels(trained):
    image = drawn([4, 2], 1)
    small = read(trained, image)["digits"]
    enlarged = image.resize((image.width * 3, image.height * 3), Image.Resampling.BICUBIC)
    large = read(trained, enlarged)["digits"]
    for one, three in zip(small, large, strict=True):
        np.testing.assert_allclose(np.asarray(three["box"]), 3 * np.asarray(one["box"]), atol=9)


def test_every_single_image_form_reads_the_same_number(trained):
    png = encode(drawn([4, 2], 2), "PNG")
    answers = [
        trained.post("/predict/number", data=png, content_type="image/png"),
        trained.post("/predict/number", json={"image": b64(png)}),
        trained.post("/predict/number", json={"image": "data:image/png;base64," + b64(png)}),
        trained.post("/predict/number", data={"image": (io.BytesIO(png), "n.png")},
                     content_type="multipart/form-data"),
    ]
    assert {(response.status_code, response.get_json()["number"]) for response in answers} == {(200, "42")}


def test_include_applies_to_each_digit(trained):
    result = read(trained, drawn([4, 2], 0), f"?include={ALL_EXTRAS}&versus=3")
    for digit in result["digits"]:
        assert {"feature_maps", "pooled_maps", "saliency", "layers", "steps", "box"} <= set(digit)
        assert [step["name"] for step in digit["steps"]] == ["received", "ink", "cropped", "fitted",
                                                             "centred"]
        assert digit["saliency"]["target"] == digit["digit"]
    plain = read(trained, drawn([4, 2], 0))
    assert not {"feature_maps", "saliency", "layers", "steps"} & set(plain["digits"][0])


# --- contract ------------------------------------------------------------------------------------


def test_real_answers_match_the_documented_schemas(client, trained):
    document = client.get("/openapi.json").get_json()
    operation = document["paths"]["/predict/number"]["post"]

    def conforms(response):
        media = operation["responses"][str(response.status_code)]["content"]["application/json"]
        jsonschema_rs.validator_for({**media["schema"], "components": document["components"]}).validate(
            response.get_json())

    png = encode(drawn([4, 2], 0), "PNG")
    statuses = set()
    for response in [
        trained.post(f"/predict/number?include={ALL_EXTRAS}", data=png, content_type="image/png"),
        client.post("/predict/number", data=png, content_type="image/png"),
        client.post("/predict/number", json={"pixels": [[0] * 28] * 28}),
        client.post("/predict/number", data="x", content_type="text/plain"),
        client.post("/predict/number", data=plain_png(200, 100), content_type="image/png"),
        client.post("/predict/number", data=bars(MAX_DIGITS + 1), content_type="image/png"),
        client.post("/predict/number", data=plain_png(1200, 1000), content_type="image/png"),
    ]:
        conforms(response)
        statuses.add(response.status_code)
    assert statuses == {200, 400, 413, 415, 422}
    result = trained.post("/predict/number", data=png, content_type="image/png").get_json()
    schema = {**operation["responses"]["200"]["content"]["application/json"]["schema"],
              "components": document["components"]}
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid(result)
    assert not validator.is_valid({**result, "surprise": 1})
    assert not validator.is_valid({**result, "digits": [{**result["digits"][0], "box": [1, 2, 3]}]})
    assert not validator.is_valid({**result, "verdict": "maybe"})
