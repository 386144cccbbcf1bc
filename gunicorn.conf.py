"""gunicorn settings for Digit Lens, the same in the Docker image and on a plain machine::

    gunicorn --config gunicorn.conf.py 'app:create_app()'

Environment: PORT (8000), HOST (127.0.0.1: this machine only; the Docker image sets 0.0.0.0),
WEB_CONCURRENCY (worker processes; default one per CPU the process may use). Any other setting
can be changed without editing this file through GUNICORN_CMD_ARGS, e.g. ``GUNICORN_CMD_ARGS="--timeout 60"``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import math
import os
import select
import sys
from http import HTTPStatus
from pathlib import Path

from gunicorn import util

# One BLAS/OpenMP thread per process, set before the app imports NumPy: the workers already use
# every core, and N workers × N BLAS threads on N cores only adds contention. setdefault leaves
# an explicit choice alone.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


# Memory a decoded image frees must go back to the system, or a worker's memory bound
# (docs/deploy.md) would not hold: glibc keeps freed blocks in the arena of the thread that
# freed them, and raises its mmap threshold each time a large block is freed, so each of a
# worker's threads would come to hold the memory of the last large image it decoded. A fixed
# threshold maps every allocation of 4 MiB or more (image buffers) on its own, unmapped as soon
# as it is freed; smaller ones are served as before. Set here, in the master: the workers it
# forks inherit it. mallopt is glibc's (the Docker image's); elsewhere this does nothing.
M_MMAP_THRESHOLD = -3
with contextlib.suppress(AttributeError):  # a C library without mallopt
    ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024)


def _positive_int(name: str, default: int, maximum: int | None = None) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1 or (maximum is not None and int(value) > maximum):
        limit = f" from 1 to {maximum}" if maximum else " of at least 1"
        raise SystemExit(f"gunicorn.conf.py: {name} must be a whole number{limit}, not {value!r}")
    return int(value)


def available_cpus() -> int:
    """CPUs this process may use: its CPU affinity, lowered by a container's CPU quota if any
    (``docker run --cpus=2`` on a 64-core host must not start 64 workers)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = None
    try:  # cgroup v2: "<quota> <period>" or "max <period>"
        limit, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if limit != "max":
            quota = int(limit) / int(period)
    except (OSError, ValueError):
        try:  # cgroup v1: quota -1 means unlimited
            limit = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
            period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
            if limit > 0 and period > 0:
                quota = limit / period
        except (OSError, ValueError):
            pass
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


# Local by default: a developer's `gunicorn` should not be reachable from the network unasked.
_host = os.environ.get("HOST", "127.0.0.1").strip() or "127.0.0.1"
_port = _positive_int("PORT", 8000, maximum=65535)
bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"]

# A prediction is CPU-bound NumPy work, so more processes than CPUs only queue on the CPU and
# each holds its own copy of the app; the usual 2×cores+1 is for workers that wait on I/O.
# Waiting on clients (slow uploads, keep-alive) is what the threads are for: a sync worker is
# held by one trickling client until `timeout` kills it, a gthread worker keeps serving.
workers = _positive_int("WEB_CONCURRENCY", available_cpus())
worker_class = "gthread"
# Each thread may hold one request: docs/deploy.md ("Memory") derives a worker's memory bound,
# and the containers' limits, from this count.
threads = 4
# Limit: a client that stops sending mid-request holds its thread until it hangs up, so
# workers × threads stalled connections leave nothing to serve others. Exposed to the open
# internet, run behind deploy/nginx.conf, which buffers request bodies and times out idle
# clients.

# Load the app (and the model) in the master before forking: a missing or corrupt weights file
# stops the server at once, every worker answers its first request at full speed, and the
# workers share the loaded pages copy-on-write.
preload_app = True

# Timeouts, from the client in: deploy/nginx.conf waits proxy_read_timeout (10 s) for an answer,
# then gives up with a 504 and closes the connection. The app's worst request (a full batch) is
# bounded by its limits, and a worker's threads share one CPU, so a request that has started
# ends within threads × that bound, which is under proxy_read_timeout: nginx gives up only on
# a request still queued here or on a worker that hangs. A queued request whose connection
# nginx has closed is dropped unread (pre_request below), so a 504 leaves at most the requests
# already computing, each within its bound. `timeout` is not a limit on a
# request: a gthread worker's main loop keeps beating while its threads compute, so it only
# restarts a worker whose whole process hangs. docs/deploy.md has the chain with its figures.
# Shutdown on SIGTERM lets in-flight requests finish within `graceful_timeout`, under Docker's
# default 10 s between SIGTERM and SIGKILL.
timeout = 30
graceful_timeout = 8
keepalive = 5

# Requests gunicorn refuses itself, before the app sees them. Behind deploy/nginx.conf that never
# happens: nginx refuses first, and these are at least what it lets through. Its longest
# request line is 8190 bytes (large_client_header_buffers 8k), forwarded as it came, and 8190
# is gunicorn's maximum; it forwards a dozen named headers (proxy_pass_request_headers off),
# each at most one 8 KiB header line plus a space and an appended client address.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 16384

# The control socket (gunicornc) defaults to one path per user, shared by every gunicorn the user
# runs, and as uid 10001 with no home it cannot be created; scaling is the orchestrator's job.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# The heartbeat file is touched constantly; in a container /tmp may be on disk, /dev/shm is not.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"


def _report_start_failure(exc_type, exc, tb):
    # With preload_app a bad weights file raises CheckpointError in the master while it starts (a
    # bad MNIST sample file, SampleError); its message names the file and the problem, which is
    # all an operator needs to see.
    errors = (("model.checkpoint", "CheckpointError"), ("model.sample", "SampleError"))
    readable = [getattr(sys.modules.get(module), name, None) for module, name in errors]
    if any(kind is not None and issubclass(exc_type, kind) for kind in readable):
        print(f"Digit Lens cannot start: {exc}", file=sys.stderr, flush=True)
    else:
        sys.__excepthook__(exc_type, exc, tb)


sys.excepthook = _report_start_failure


def when_ready(server):
    """Log the workers, and which model they serve when the master has loaded the app."""
    # server.app.callable is the preloaded app; calling server.app.wsgi() here would load it in
    # the master even with preload_app off.
    app = server.app.callable
    model = f"model {app.config.get('WEIGHTS_PATH')} " if app is not None else ""
    server.log.info("Serving %swith %d workers × %d threads", model, server.num_workers, server.cfg.threads)


# --- errors gunicorn answers itself, and requests nobody waits for -----------------------------

# Where the API has its own code for a status; any other status gets its HTTP name, e.g. 431
# request_header_fields_too_large, 417 expectation_failed.
_ERROR_CODES = {414: "request_uri_too_long", 500: "internal_error", 501: "not_implemented"}


def _write_json_error(sock, status: int, reason: str, message: str) -> None:
    """gunicorn.util.write_error's replacement: the API's JSON error, with the app's security
    headers, for a request line or headers gunicorn refuses before the app sees them."""
    from app.errors import SECURITY_HEADERS  # loaded already: the worker runs the app

    phrase = HTTPStatus(status).phrase  # gunicorn's own reason is "Bad Request" for its 501
    code = _ERROR_CODES.get(status) or phrase.lower().replace(" ", "_").replace("-", "_")
    error = {"code": code, "message": message or phrase}
    body = json.dumps({"error": error}, separators=(",", ":")).encode() + b"\n"
    head = [f"HTTP/1.1 {status} {phrase}", "Connection: close", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in SECURITY_HEADERS.items())]
    util.write_nonblock(sock, "\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)


def post_worker_init(worker):
    """Answer gunicorn's own errors (400, 414, 417, 431, 501) in JSON: it writes them all with
    gunicorn.util.write_error, as HTML, and nothing else calls that function."""
    util.write_error = _write_json_error


def pre_request(worker, req):
    """Drop a request whose client has hung up before a thread got to it: nginx closes its
    connection when it gives up (proxy_read_timeout), and the request may still be queued here.

    nginx sends a request whole before it waits for the answer, so POLLRDHUP (the peer has
    closed its side; nothing is read to learn it) means it has given up. A client straight at
    gunicorn that half-closes after its request is dropped too: HTTP clients do not do that.
    The ConnectionResetError closes the connection as a reset would, with a debug line."""
    if not hasattr(select, "POLLRDHUP"):  # Linux only: elsewhere, every request is handled
        return
    poller = select.poll()
    poller.register(req.unreader.sock, select.POLLRDHUP)
    if poller.poll(0):
        worker.log.info("Dropped %s %s: the client hung up before it was handled", req.method, req.path)
        raise ConnectionResetError(errno.ECONNRESET, "the client hung up before its request was handled")
