"""A local server run as a child process for the deploy tests and benchmarks: what gunicorn
(``harness.serving``) and nginx (``harness.proxy``) have in common.

The server runs in its own session (so a SIGKILL to its group takes its workers too), with its
output in a file, and answers on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raw_request(
    port: int, data: bytes, source: str = "127.0.0.1", timeout: float = 5.0
) -> tuple[int, dict, bytes]:
    """Send ``data`` as it is to 127.0.0.1:``port`` from ``source``, then read one HTTP answer:
    (status, headers, body). For requests http.client would refuse to send."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as sock:
        with contextlib.suppress(OSError):  # a server may answer (and close) before reading it all
            sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


class ServerProcess:
    """``argv`` started in ``cwd`` with ``env`` (None: this process's), listening on 127.0.0.1:``port``,
    its output in ``log_path``. A subclass says when it is ready (``wait_ready``) and how it stops.

    Use as a context manager: started and ready on entry, SIGTERM on exit.
    """

    name = "server"

    def __init__(
        self,
        argv: list[str],
        port: int,
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ):
        self.argv = argv
        self.port = port
        self.log_path = Path(log_path)
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    def start(self) -> Self:
        with open(self.log_path, "wb") as log:
            # A file, not a pipe: an access log nobody reads must never block the server.
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Return once the server serves; raise with its output if it exits or never does."""
        raise NotImplementedError

    def poll_until(
        self, ready: Callable[[], bool], timeout: float, interval: float, waiting_for: str
    ) -> None:
        """Call ``ready()`` every ``interval`` s until it is true (an OSError counts as not yet);
        raise with the server's output if the server exits or ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(interval)
        raise RuntimeError(f"{self.name} {waiting_for} after {timeout:.0f} s:\n{self.log()}")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict | None = None,
        timeout: float = 10.0,
        source: str = "",
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a new connection from ``source`` (a 127.x.y.z address; default
        127.0.0.1): (status, headers, body)."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout, source_address=(source, 0) if source else None
        )
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def signal_and_wait(self, sig: int, timeout: float) -> int:
        """Send ``sig`` and wait for the exit code; SIGKILL the group if it has not exited within
        ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode

    def __enter__(self) -> Self:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.signal_and_wait(signal.SIGTERM, timeout=5)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.signal_and_wait(signal.SIGTERM, timeout=5)
