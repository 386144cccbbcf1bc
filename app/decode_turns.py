"""A worker process's turns at decoding large images, so that its peak memory has a bound
whatever its threads do at once (docs/deploy.md, "Memory", has the formula).

Decoding an image far larger than a digit needs holds far more memory than anything else a
request does, and a worker runs several threads. So requests holding a large image queue for a
turn: ``decoding`` of them decode at once, ``waiting`` more wait in order, and any more are
refused at once (503 server_busy), which leaves the worker's other threads to small requests
and /healthz. A plain semaphore would let newcomers overtake a request already waiting.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from app.errors import ApiError


class ServerBusy(ApiError):
    """A large request refused because its worker already holds as many as it may: 503, and the
    client is told when to try again."""

    headers = {"Retry-After": "1"}

    def __init__(self, message: str):
        super().__init__("server_busy", message)


class LargeDecodes:
    """The turns of one worker process at decoding large images (see app.DEFAULTS): requests
    holding one queue, at most ``decoding + waiting`` of them; the first ``decoding`` decode
    while the others wait, in order. A request that finds the queue full is refused at once, so
    that the worker's other threads stay free for small requests and /healthz. Created by
    create_app before gunicorn forks: each worker has its own."""

    def __init__(self, decoding: int, waiting: int):
        if decoding < 1 or waiting < 0:
            raise ValueError(f"LARGE_DECODES must be at least 1 and LARGE_REQUESTS_WAITING at least 0, "
                             f"not {decoding} and {waiting}")
        self._decoding, self._places = decoding, decoding + waiting
        self._queue: list[object] = []
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def turn(self, large_pixels: int) -> Iterator[None]:
        """Hold a decoding turn, after waiting for it in the queue. Raises ServerBusy when the
        queue is full."""
        ticket = object()
        with self._changed:
            if len(self._queue) >= self._places:
                raise ServerBusy(f"the server is decoding as many images over {large_pixels} pixels "
                                 "as it holds at once; retry in a second, or send a smaller image")
            self._queue.append(ticket)
            self._changed.wait_for(lambda: self._queue.index(ticket) < self._decoding)
        try:
            yield
        finally:
            with self._changed:
                self._queue.remove(ticket)
                self._changed.notify_all()
