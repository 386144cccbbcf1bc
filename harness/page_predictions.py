"""What the page asked /predict for and what it got back, for the inside-the-network tests."""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qs, urlsplit

import numpy as np
from playwright.sync_api import Error as PlaywrightError

from harness.strokes import SEVEN

# A viewport taller than the whole page: every part inside the network is on screen, so every
# answer carries all their data (a part out of sight asks the API for nothing).
TALL = {"width": 1280, "height": 8000}


def read_seven_on_a_tall_page(digit_page, server) -> PredictionLog:
    """Open the page on ``server`` in the TALL viewport, start logging /predict, draw a 7 and wait
    for its answer; returns the log."""
    digit_page.page.set_viewport_size(TALL)
    log = PredictionLog(digit_page.page)
    digit_page.open(server)
    digit_page.read(SEVEN)
    return log


class PredictionLog:
    """Passes the page's /predict requests through to the server and keeps each answer's JSON.

    The page's reads of the drawing and the backward pass's lessons (include=gradients) are kept
    apart: ``queries`` holds each read's query parameters ({"include": [...], "versus": [...]}),
    ``results`` each successful read's answer, in the order they arrived; ``lessons`` each
    successful lesson's answer.
    """

    def __init__(self, page):
        self.queries: list[dict[str, list[str]]] = []
        self.results: list[dict] = []
        self.lesson_queries: list[dict[str, list[str]]] = []
        # Each answered read whole: its query, body, headers and answer (to ask the API again).
        self.reads: list[dict] = []
        self.lessons: list[dict] = []
        page.route("**/predict*", self._through)

    def _through(self, route) -> None:
        query = parse_qs(urlsplit(route.request.url).query)
        lesson = any("gradients" in value.split(",") for value in query.get("include", []))
        (self.lesson_queries if lesson else self.queries).append(query)
        try:
            response = route.fetch()
            answer = response.json() if response.ok else None
        except Exception:  # the page aborted the request (a newer drawing replaced it) or closed
            route.abort()
            return
        if answer is not None:
            (self.lessons if lesson else self.results).append(answer)
            if not lesson:
                self.reads.append({"query": query, "body": route.request.post_data_buffer,
                                   "headers": route.request.headers, "result": answer})
        # The test may have ended and closed the page while this answer was on its way.
        with contextlib.suppress(PlaywrightError):
            route.fulfill(response=response)

    def includes(self) -> list[set[str]]:
        """The include names of every request so far."""
        return [
            {name for value in query.get("include", []) for name in value.split(",") if name}
            for query in self.queries
        ]

    def shown(self, digit_page) -> dict:
        """The newest answer whose input is the one on the page (the answer on screen)."""
        on_screen = digit_page.network_input()
        for result in reversed(self.results):
            if np.asarray(result["input"]).ravel().tolist() == on_screen:
                return result
        raise AssertionError("no answer received matches the input on the page")


# The maps the page was sent, as numbers (test_receptive_field reads them under this name).
