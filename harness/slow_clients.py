"""Slow clients against a server on 127.0.0.1, and whether /healthz still answers meanwhile.

A slow client opens a connection and sends its request a byte at a time: its headers (the request
line at once, then one header byte per ``interval``) or its body (the headers at once, then one
body byte per ``interval``). It keeps trickling until told to finish, then sends the rest at once
and reads the answer, as a slow but honest client would.

Each slow client connects from its own loopback address (127.0.1.1, 127.0.1.2, ...: Linux answers
on all of 127.0.0.0/8), as slow clients spread over the internet would, so a per-address limit
does not turn them away; the /healthz probes come from 127.0.0.1.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass, field

from harness.probes import Probe

HEADERS, BODY = "headers", "body"


def loopback_address(index: int) -> str:
    """The ``index``-th distinct loopback source address (never 127.0.0.1)."""
    if not 0 <= index < 250 * 250:
        raise ValueError("index out of range")
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


@dataclass
class SlowClient:
    """One trickling request to 127.0.0.1:``port``; ``status`` is its answer (None: none came)."""

    port: int
    trickles: str  # HEADERS or BODY
    probe: Probe  # what a BODY client uploads; HEADERS clients ask for GET /healthz
    source: str
    interval: float = 0.25
    status: int | None = None
    connected: bool = False
    error: str = ""

    def _parts(self) -> tuple[bytes, bytes]:
        """(sent at once, trickled then finished)."""
        host = f"Host: 127.0.0.1:{self.port}\r\n"
        if self.trickles == HEADERS:
            padding = "X-Slow-Client: " + "x" * 400 + "\r\n"
            return f"GET /healthz HTTP/1.1\r\n{host}".encode(), f"{padding}Connection: close\r\n\r\n".encode()
        head = (
            f"POST {self.probe.path} HTTP/1.1\r\n{host}Content-Type: {self.probe.content_type}\r\n"
            f"Content-Length: {len(self.probe.body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        return head, self.probe.body

    def run(self, finish: threading.Event, timeout: float) -> None:
        start, rest = self._parts()
        try:
            with socket.create_connection(
                ("127.0.0.1", self.port), timeout=timeout, source_address=(self.source, 0)
            ) as connection:
                self.connected = True
                connection.sendall(start)
                sent = 0
                # Keep one byte back so the request stays incomplete until ``finish``.
                while not finish.wait(self.interval) and sent < len(rest) - 1:
                    connection.sendall(rest[sent : sent + 1])
                    sent += 1
                finish.wait()
                connection.sendall(rest[sent:])
                response = http.client.HTTPResponse(connection)
                response.begin()
                response.read()
                self.status = response.status
        except (OSError, http.client.HTTPException) as exc:
            self.error = f"{type(exc).__name__}: {exc}"


@dataclass
class HealthProbe:
    """One GET /healthz on a new connection: its status (None: no answer) and seconds taken."""

    status: int | None
    seconds: float


def probe_health(port: int, timeout: float = 1.0, source: str = "127.0.0.1") -> HealthProbe:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        return HealthProbe(response.status, time.monotonic() - started)
    except (OSError, http.client.HTTPException):
        return HealthProbe(None, time.monotonic() - started)
    finally:
        connection.close()


@dataclass
class SlowClientRun:
    """``header_clients`` + ``body_clients`` slow clients on 127.0.0.1:``port``; while every one
    of them trickles, ``probes`` GET /healthz, each allowed ``probe_timeout`` s. ``same_source``
    sends every slow client from one address (127.0.0.2) instead of one each."""

    port: int
    body_probe: Probe
    header_clients: int
    body_clients: int
    probes: int = 10
    probe_timeout: float = 1.0
    probe_gap: float = 0.1
    interval: float = 0.25
    same_source: bool = False
    clients: list[SlowClient] = field(default_factory=list)
    health: list[HealthProbe] = field(default_factory=list)

    def run(self, settle: float = 1.0) -> SlowClientRun:
        kinds = [HEADERS] * self.header_clients + [BODY] * self.body_clients
        self.clients = [
            SlowClient(
                self.port,
                kind,
                self.body_probe,
                "127.0.0.2" if self.same_source else loopback_address(i),
                self.interval,
            )
            for i, kind in enumerate(kinds)
        ]
        finish = threading.Event()
        timeout = 30 + self.probes * (self.probe_timeout + self.probe_gap)
        threads = [threading.Thread(target=c.run, args=(finish, timeout), daemon=True) for c in self.clients]
        for thread in threads:
            thread.start()
        time.sleep(settle)  # every client connected and trickling
        try:
            for _ in range(self.probes):
                self.health.append(probe_health(self.port, self.probe_timeout))
                time.sleep(self.probe_gap)
        finally:
            finish.set()
            for thread in threads:
                thread.join(timeout)
        return self

    def answered(self) -> int:
        """Probes answered 200 within ``probe_timeout``."""
        return sum(p.status == 200 and p.seconds <= self.probe_timeout for p in self.health)

    def statuses(self, kind: str) -> dict[int | None, int]:
        """How the slow clients of ``kind`` were answered: {status: count}."""
        counts: dict[int | None, int] = {}
        for client in self.clients:
            if client.trickles == kind:
                counts[client.status] = counts.get(client.status, 0) + 1
        return counts
