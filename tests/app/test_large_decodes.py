"""A worker's large-decode turns (app.decode_turns.LargeDecodes): a request holding an image over
LARGE_IMAGE_PIXELS decodes in a turn, waits for one while a waiting place is free, and is refused
at once (503 server_busy, Retry-After) when none is; small images never wait."""

from __future__ import annotations

import threading
import time

import pytest

from app import create_app
from app import preprocessing as preprocessing_package
from harness.api_checks import TEST_LIMITS, assert_error
from harness.images import encode
from harness.pictures import draw_digit_seven

LARGE = 300 * 300  # the canvas drawing (280 × 280) is under it, a 400 × 400 drawing over it
SMALL_PNG = encode(draw_digit_seven(280), "PNG")
LARGE_PNG = encode(draw_digit_seven(400), "PNG")


def _app(served_weights, waiting: int):
    return create_app({"WEIGHTS_PATH": str(served_weights), "TESTING": True, **TEST_LIMITS,
                       "LARGE_IMAGE_PIXELS": LARGE, "LARGE_DECODES": 1, "LARGE_REQUESTS_WAITING": waiting})


def _post(app, png: bytes):
    return app.test_client().post("/predict", data=png, content_type="image/png")


def test_a_large_image_is_refused_at_once_when_its_worker_holds_all_it_may_and_a_small_one_is_not(
    served_weights,
):
    app = _app(served_weights, waiting=0)
    with app.extensions["large_decodes"].turn(LARGE):  # another request decoding a large image
        refused = _post(app, LARGE_PNG)
        small = _post(app, SMALL_PNG)
    error = assert_error(refused, 503, "server_busy")
    assert refused.headers["Retry-After"] == "1"
    assert str(LARGE) in error["message"]
    assert small.status_code == 200
    assert _post(app, LARGE_PNG).status_code == 200  # its turn is free again


def test_a_large_image_waits_for_its_turn_while_a_waiting_place_is_free(served_weights):
    app = _app(served_weights, waiting=1)
    answers = []
    with app.extensions["large_decodes"].turn(LARGE):
        waiting = threading.Thread(target=lambda: answers.append(_post(app, LARGE_PNG)))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and answers == []  # waiting for the turn held here
    waiting.join(30)
    assert [response.status_code for response in answers] == [200]


@pytest.fixture
def decodes_at_once(monkeypatch) -> list[int]:
    """How many decodes run at once, each time one starts (each is slowed a little so that they
    would overlap if they could)."""
    running, seen, lock = [0], [], threading.Lock()
    original = preprocessing_package.decode

    def counting_decode(image):
        with lock:
            running[0] += 1
            seen.append(running[0])
        time.sleep(0.05)
        try:
            return original(image)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(preprocessing_package, "decode", counting_decode)
    return seen


def test_large_images_are_decoded_one_at_a_time_whatever_the_threads_do(served_weights, decodes_at_once):
    app = _app(served_weights, waiting=3)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(_post(app, LARGE_PNG))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [response.status_code for response in answers] == [200] * 4
    assert decodes_at_once == [1] * 4
