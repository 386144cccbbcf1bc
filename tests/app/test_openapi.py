"""/openapi.json is a valid OpenAPI 3.1 document that describes exactly what the API does."""

from __future__ import annotations

import base64
import copy
import io

import hypothesis
import jsonschema_rs
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from app import create_app, openapi
from app.request_parsing import MAX_INCLUDE_VALUES
from harness.api_checks import ALL_EXTRAS, TEST_LIMITS
from harness.ci import skip_or_fail

ZEROS = [[0] * 28] * 28


@pytest.fixture(scope="module")
def document(app) -> dict:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def response_schema(document: dict, path: str, method: str, status: int) -> dict:
    """The JSON schema of one documented response, with the components attached for $refs."""
    operation = document["paths"][path][method]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def conforms(document: dict, path: str, method: str, response) -> None:
    schema = response_schema(document, path, method, response.status_code)
    jsonschema_rs.validator_for(schema).validate(response.get_json())


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    OPENAPI_31_VALIDATOR.validate(document)


def test_every_schema_is_a_valid_json_schema(document):
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_every_api_route_is_documented_with_its_methods(app, document):
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served


def test_the_limits_in_the_document_are_the_apps(app, document):
    images = document["components"]["schemas"]["BatchJson"]["properties"]["images"]
    assert images["maxItems"] == app.config["MAX_BATCH_SIZE"]
    assert str(app.config["MAX_CONTENT_LENGTH"]) in document["info"]["description"]


def test_every_accepted_content_type_is_documented(document):
    content = document["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert set(content) == {
        "multipart/form-data", "application/json",
        "image/png", "image/jpeg", "image/webp", "image/gif",
    }
    batch = document["paths"]["/predict/batch"]["post"]["requestBody"]["content"]
    assert set(batch) == {"multipart/form-data", "application/json"}


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_include_and_versus_are_documented_in_the_query_string_only(document, path):
    operation = document["paths"][path]["post"]
    parameters = {(parameter["name"], parameter["in"]) for parameter in operation["parameters"]}
    # The parameters of include=gradients, which a batch cannot ask for, on /predict alone.
    gradients = set() if path.endswith("batch") else {"label", "learning_rate", "steps"}
    documented = {("include", "query"), ("versus", "query"), ("snapshot", "query")}
    assert parameters == documented | {(name, "query") for name in gradients}
    content = operation["requestBody"]["content"]
    extras = {"include", "versus", "snapshot", "label", "learning_rate", "steps"}
    assert not extras & set(content["multipart/form-data"]["schema"]["properties"])
    json_body = {**content["application/json"]["schema"], "components": document["components"]}
    image = {"pixels": ZEROS}
    valid = {"images": [image]} if path.endswith("batch") else image
    assert jsonschema_rs.validator_for(json_body).is_valid(valid)
    for extra in ({"include": ["saliency"]}, {"versus": 3}, {"snapshot": 0}, {"label": 3},
                  {"learning_rate": 0.1}, {"steps": 2}):
        assert not jsonschema_rs.validator_for(json_body).is_valid({**valid, **extra}), extra


def test_real_responses_match_their_documented_schemas(client, document, canvas_png, digit_pixels):
    png64 = base64.b64encode(canvas_png).decode()
    checks = [
        ("/predict", client.post("/predict?include=feature_maps", json={"pixels": digit_pixels})),
        ("/predict", client.post("/predict", data=canvas_png, content_type="image/png")),
        ("/predict", client.post("/predict", json={"pixels": 7})),
        ("/predict", client.post("/predict", data="x", content_type="text/plain")),
        ("/predict", client.post("/predict", json={"pixels": ZEROS, "include": ["x"]})),
        ("/predict", client.post("/predict", data={"image": (io.BytesIO(canvas_png), "a.png")},
                                 content_type="multipart/form-data")),
        ("/predict/batch", client.post("/predict/batch?include=feature_maps",
                                       json={"images": [png64, "!!", {"pixels": digit_pixels}, 5]})),
        ("/predict/batch", client.post("/predict/batch", json={"images": []})),
        ("/predict/batch", client.post("/predict/batch", json={"images": ["x"] * 100})),
        # Every extra, from a drawing (five steps) and from pixels (one), single and in a batch.
        ("/predict", client.post(f"/predict?include={ALL_EXTRAS}&versus=3", data=canvas_png,
                                 content_type="image/png")),
        ("/predict", client.post(f"/predict?include={ALL_EXTRAS}&versus=0", json={"pixels": digit_pixels})),
        ("/predict/batch", client.post(f"/predict/batch?include={ALL_EXTRAS}",
                                       json={"images": [png64, "!!", {"pixels": digit_pixels}]})),
        ("/predict", client.post("/predict?include=saliency&versus=10", json={"pixels": digit_pixels})),
        ("/predict", client.post("/predict?include=gradients,layers&label=4&learning_rate=1&steps=3",
                                 json={"pixels": digit_pixels})),
        ("/predict", client.post("/predict?include=gradients&steps=99", json={"pixels": digit_pixels})),
        ("/predict/batch", client.post("/predict/batch?include=gradients", json={"images": [png64]})),
    ]
    lab = {"pixels": [[0, 1, 0]] * 3, "kernel": [[1, -1]] * 2}
    checks += [
        ("/api/convolve", client.post("/api/convolve", json=lab)),
        ("/api/convolve", client.post("/api/convolve", json={**lab, "stride": 2, "pad": 3,
                                                              "pool": {"kind": "average", "size": 3}})),
        ("/api/convolve", client.post("/api/convolve", json={**lab, "kernel": [[1] * 4] * 4})),
        ("/api/convolve", client.post("/api/convolve", json={**lab, "stride": 0})),
        ("/api/convolve", client.post("/api/convolve", data=b" " * 65 * 1024,
                                      content_type="application/json")),
        ("/api/convolve", client.post("/api/convolve", data="x", content_type="text/plain")),
    ]
    statuses = set()
    for path, response in checks:
        conforms(document, path, "post", response)
        statuses.add(response.status_code)
    assert statuses == {200, 400, 413, 415}
    for path in ("/api/model", "/api/model/misread", "/healthz", "/readyz", "/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200
        conforms(document, path, "get", response)


def test_every_extra_conforms_to_its_closed_schema(client, document, canvas_png):
    response = client.post(f"/predict?include={ALL_EXTRAS}", data=canvas_png, content_type="image/png")
    result = response.get_json()
    validator = jsonschema_rs.validator_for(response_schema(document, "/predict", "post", 200))
    assert validator.is_valid(result)
    for field, inner in [("saliency", None), ("layers", "hidden"), ("layers", "logits"),
                         ("verdict_scores", None), ("timing_ms", None)]:
        changed = copy.deepcopy(result)
        (changed[field] if inner is None else changed[field][inner])["surprise"] = 1
        assert not validator.is_valid(changed), (field, inner)
    changed = copy.deepcopy(result)
    changed["steps"][0]["surprise"] = 1
    assert not validator.is_valid(changed)
    assert not validator.is_valid({**result, "verdict": "maybe"})
    assert not validator.is_valid({**result, "saliency": {**result["saliency"], "versus": 10}})


def test_a_missing_misread_list_conforms_to_its_documented_error(document, tiny_weights):
    # tiny_weights has no misread digits beside it.
    response = create_app({"WEIGHTS_PATH": str(tiny_weights)}).test_client().get("/api/model/misread")
    assert response.status_code == 404
    conforms(document, "/api/model/misread", "get", response)


def test_the_include_pattern_accepts_exactly_what_the_api_accepts(document):
    import re

    [include] = [p for p in document["paths"]["/predict"]["post"]["parameters"] if p["name"] == "include"]
    pattern = re.compile(include["schema"]["pattern"])
    for accepted in ["saliency", ALL_EXTRAS, "layers,layers", ",".join(["steps"] * MAX_INCLUDE_VALUES),
                     "gradients", "saliency,gradients"]:
        assert pattern.fullmatch(accepted), accepted
    for refused in ["", "saliency,", ",saliency", "saliency, layers", "x", ",".join(["steps"] * 17)]:
        assert not pattern.fullmatch(refused), refused
    # A batch cannot ask for gradients.
    [batch] = [p for p in document["paths"]["/predict/batch"]["post"]["parameters"] if p["name"] == "include"]
    batch_pattern = re.compile(batch["schema"]["pattern"])
    assert batch_pattern.fullmatch(ALL_EXTRAS)
    assert not batch_pattern.fullmatch("gradients") and not batch_pattern.fullmatch("saliency,gradients")


def test_the_committed_model_card_and_misread_digits_match_the_document(document):
    from model import checkpoint

    if not checkpoint.DEFAULT_WEIGHTS.is_file():
        skip_or_fail(f"no committed weights at {checkpoint.DEFAULT_WEIGHTS}")
    client = create_app({"WEIGHTS_PATH": str(checkpoint.DEFAULT_WEIGHTS)}).test_client()
    for path in ("/api/model", "/api/model/misread"):
        response = client.get(path)
        assert response.status_code == 200, path
        conforms(document, path, "get", response)


def test_a_result_with_an_unknown_field_would_not_conform(client, document, digit_pixels):
    # The response schemas are closed: the document cannot silently fall behind the code.
    result = client.post("/predict", json={"pixels": digit_pixels}).get_json()
    validator = jsonschema_rs.validator_for(response_schema(document, "/predict", "post", 200))
    assert validator.is_valid(result)
    assert not validator.is_valid({**result, "surprise": 1})
    assert not validator.is_valid({**result, "digit": 10})


# --- schemathesis: generated requests from the document, every check --------------------------


# Built at import (schemathesis needs the schema to generate the tests); the test below proves the
# app serves this very document.
DOCUMENT = openapi.document(TEST_LIMITS)
SCHEMATHESIS_CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            # The contract answers a batch over the limit with 413 batch_too_large.
            "negative_data_rejection": {
                "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
            },
            # Replaced by valid_requests_are_refused_only_for_their_image_content below.
            "positive_data_acceptance": {"enabled": False},
        }
    }
)
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=SCHEMATHESIS_CONFIG)


def test_schemathesis_tests_the_document_the_app_serves(document):
    assert document == DOCUMENT


# Schema-valid requests may still be refused for what their image holds, which no schema can
# express (a string or binary field that is not a decodable image, too many pixels in one image or
# in the request's images together, no digit). Everything else a schema-valid request gets must
# be a success.
IMAGE_CONTENT_REFUSALS = {
    "invalid_base64", "invalid_image", "image_too_large", "too_many_pixels", "no_digit_found",
    "too_many_digits", "too_many_marks",  # /predict/number: more marks than a number holds
}
# The lab's schema gives each size its bounds, but not that the filter must fit in the padded
# picture and the pooling window in the map.
SIZE_REFUSALS = {"window_does_not_fit"}


def valid_requests_are_refused_only_for_their_image_content(ctx, response, case):
    """Replaces schemathesis's positive_data_acceptance, which cannot know about image content."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code < 400:
        return None
    code = response.json()["error"]["code"]
    if case.path == "/api/convolve":
        if code not in SIZE_REFUSALS:
            raise AssertionError(f"a schema-valid lab request was refused with {response.status_code} {code}")
        return None
    sent_pixels = isinstance(case.body, dict) and "pixels" in case.body
    # How many snapshots there are belongs to the weights served, not to the document.
    if code == "invalid_parameter" and response.json()["error"]["message"].startswith("snapshot must be"):
        return None
    if code not in IMAGE_CONTENT_REFUSALS or sent_pixels:
        raise AssertionError(f"a schema-valid request was refused with {response.status_code} {code}")
    return None


@schema.parametrize()
@hypothesis.settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
def test_the_api_behaves_as_documented(app, case):
    case.call_and_validate(
        app=app, additional_checks=[valid_requests_are_refused_only_for_their_image_content]
    )
