"""The hostile corpus (harness.hostile), scaled to the test app's limits, through the Flask app:
each request is refused with its documented code, never a 500. (tests/deploy/test_hostile.py
sends the whole corpus, chunked framing included, to gunicorn at the shipped limits.)"""

from __future__ import annotations

import pytest

from harness import hostile
from harness.api_checks import CODES_BY_STATUS, TEST_LIMITS

CASES = [
    case
    for case in hostile.cases(
        max_image_pixels=TEST_LIMITS["MAX_IMAGE_PIXELS"],
        max_batch_size=TEST_LIMITS["MAX_BATCH_SIZE"],
        max_content_length=TEST_LIMITS["MAX_CONTENT_LENGTH"],
        max_request_pixels=TEST_LIMITS["MAX_REQUEST_PIXELS"],
    )
    if not case.raw_chunked
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_request_is_answered_with_its_documented_error(client, case):
    response = client.post(case.path, data=case.build(), content_type=case.content_type)
    assert response.status_code in case.statuses, response.get_data(as_text=True)[:300]
    if response.status_code == 200:
        return
    error = response.get_json()["error"]
    assert error["code"] in CODES_BY_STATUS[response.status_code]
    if case.code:
        assert error["code"] == case.code, error
