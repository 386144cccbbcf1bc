"""The hostile corpus (harness.hostile) against gunicorn started as the image starts it: every
case gets its 4xx in the API's JSON error shape, none a 500, and the server still answers after.

What each case costs in CPU seconds and memory is measured by ``python -m bench.hostile``.
"""

from __future__ import annotations

import json

import pytest

from app import DEFAULTS
from harness import hostile
from harness.serving import GunicornServer

CASES = hostile.cases(
    max_image_pixels=DEFAULTS["MAX_IMAGE_PIXELS"],
    max_batch_size=DEFAULTS["MAX_BATCH_SIZE"],
    max_content_length=DEFAULTS["MAX_CONTENT_LENGTH"],
    max_request_pixels=DEFAULTS["MAX_REQUEST_PIXELS"],
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory, served_weights):
    with GunicornServer(tmp_path_factory.mktemp("gunicorn") / "server.log") as running:
        yield running


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_request_gets_its_json_error_never_a_500(server, case):
    status, body = hostile.send(server.port, case, timeout=60)
    assert status in case.statuses, body[:300]
    if status == 200:
        return
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"} and error["message"]
    if case.code:
        assert error["code"] == case.code, error


def test_the_server_still_answers_after_the_corpus(server):
    status, _, body = server.request("GET", "/healthz", timeout=5)
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert "Traceback" not in server.log()
