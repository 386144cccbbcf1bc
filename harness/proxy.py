"""Run Debian's nginx with deploy/nginx.conf in front of a server on 127.0.0.1, as the proxy
container runs it, for the deploy tests and benchmarks.

The configuration is the committed file with two lines rewritten and nothing else: the upstream
``server app:8000;`` becomes the local gunicorn, ``listen 8080;`` a free local port. The command
line is the containers' (see ``nginx_argv``), with the prefix, config and pid file moved to a
scratch directory.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from harness.serving import ROOT, free_port

NGINX = Path(os.environ.get("NGINX", "/usr/sbin/nginx"))
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
# In the containers (compose.yaml, deploy/k8s): /tmp is the one writable directory.
CONTAINER_PREFIX = "/tmp/"
CONTAINER_CONF = "/etc/nginx/nginx.conf"
CONTAINER_PID = "/tmp/nginx.pid"

_UPSTREAM = re.compile(r"^(\s*server\s+)app:8000(;)", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*listen\s+)8080(;)", re.MULTILINE)


def nginx_argv(prefix: str, conf: str, pid: str, nginx: str = "nginx", user: str = "") -> list[str]:
    """nginx in the foreground with its error log on stderr: the containers' command.

    ``prefix`` (ending in /) is where the relative temporary paths of the config go. ``user``
    matters only to an nginx started as root, whose workers run as that user."""
    directives = f"daemon off; pid {pid};" + (f" user {user};" if user else "")
    return [nginx, "-p", prefix, "-e", "stderr", "-c", conf, "-g", directives]


def local_config(upstream_port: int, listen_port: int, text: str | None = None) -> str:
    """deploy/nginx.conf with only its upstream and listen port changed to 127.0.0.1 ports."""
    text = NGINX_CONF.read_text() if text is None else text
    text, upstreams = _UPSTREAM.subn(rf"\g<1>127.0.0.1:{upstream_port}\g<2>", text)
    text, listens = _LISTEN.subn(rf"\g<1>127.0.0.1:{listen_port}\g<2>", text)
    if (upstreams, listens) != (1, 1):
        raise ValueError(
            f"{NGINX_CONF.name} must hold exactly one 'server app:8000;' and one 'listen 8080;' "
            f"(found {upstreams} and {listens})"
        )
    return text


class NginxProxy:
    """nginx with deploy/nginx.conf in front of 127.0.0.1:``upstream_port``, its prefix, config,
    pid file and output in ``directory``. Use as a context manager; ``stop()`` signals and waits."""

    def __init__(self, directory: Path, upstream_port: int, nginx: Path = NGINX):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.upstream_port = upstream_port
        self.conf_path = self.directory / "nginx.conf"
        self.conf_path.write_text(local_config(upstream_port, self.port))
        self.log_path = self.directory / "nginx.log"
        # Started as root (as CI runs), nginx would run its workers as a user that cannot write
        # to the scratch directory; the containers start it unprivileged, so this never arises there.
        user = "root" if os.geteuid() == 0 else ""
        self.argv = nginx_argv(
            f"{self.directory}/", str(self.conf_path), str(self.directory / "nginx.pid"), str(nginx), user
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> NginxProxy:
        with open(self.log_path, "wb") as log:
            # A file, not a pipe: an access log nobody reads must never block nginx.
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until nginx accepts connections; raise with its output if it exits or never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.log()}")
            try:  # a connection, not a request: the app behind may be down or silent on purpose
                socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx not listening after {timeout:.0f} s:\n{self.log()}")

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

    def stop(self, sig: int = signal.SIGQUIT, timeout: float = 15.0) -> int:
        """``sig`` (SIGQUIT: finish what is in flight, then exit), then wait; SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode

    def __enter__(self) -> NginxProxy:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop(signal.SIGTERM, timeout=5)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop(signal.SIGTERM, timeout=5)
