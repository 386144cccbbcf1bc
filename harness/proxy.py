"""Run Debian's nginx with deploy/nginx.conf in front of a server on 127.0.0.1, as the proxy
container runs it, for the deploy tests and benchmarks.

The configuration is the committed file with two lines rewritten and nothing else: the upstream
``server app:8000;`` becomes the local gunicorn, ``listen 8080;`` a free local port. The command
line is the containers' (see ``nginx_argv``), with the prefix, config and pid file moved to a
scratch directory.
"""

from __future__ import annotations

import os
import re
import signal
import socket
from pathlib import Path

from harness.process import ServerProcess, free_port
from harness.serving import ROOT

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


class NginxProxy(ServerProcess):
    """nginx with deploy/nginx.conf in front of 127.0.0.1:``upstream_port``, its prefix, config,
    pid file and output in ``directory``. Use as a context manager; ``stop()`` signals and waits."""

    name = "nginx"

    def __init__(self, directory: Path, upstream_port: int, nginx: Path = NGINX):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.upstream_port = upstream_port
        self.conf_path = self.directory / "nginx.conf"
        self.conf_path.write_text(local_config(upstream_port, port))
        # Started as root (as CI runs), nginx would run its workers as a user that cannot write
        # to the scratch directory; the containers start it unprivileged, so this never arises there.
        user = "root" if os.geteuid() == 0 else ""
        argv = nginx_argv(
            f"{self.directory}/", str(self.conf_path), str(self.directory / "nginx.pid"), str(nginx), user
        )
        super().__init__(argv, port, self.directory / "nginx.log")

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until nginx accepts connections; raise with its output if it exits or never does."""

        def listening() -> bool:
            # A connection, not a request: the app behind may be down or silent on purpose.
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
            return True

        self.poll_until(listening, timeout, interval=0.05, waiting_for="not listening")

    def stop(self, sig: int = signal.SIGQUIT, timeout: float = 15.0) -> int:
        """``sig`` (SIGQUIT: finish what is in flight, then exit), then wait; SIGKILL after ``timeout``."""
        return self.signal_and_wait(sig, timeout)
