"""gunicorn settings for Digit Lens, the same in the Docker image and on a plain machine::

    gunicorn --config gunicorn.conf.py 'app:create_app()'

Environment: PORT (8000), HOST (127.0.0.1: this machine only; the Docker image sets 0.0.0.0),
WEB_CONCURRENCY (worker processes; default one per CPU the process may use). Any other setting
can be changed without editing this file through GUNICORN_CMD_ARGS, e.g. ``GUNICORN_CMD_ARGS="--timeout 60"``.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

# One BLAS/OpenMP thread per process, set before the app imports NumPy: the workers already use
# every core, and N workers × N BLAS threads on N cores only adds contention. setdefault leaves
# an explicit choice alone.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


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
threads = 4
# Limit: a client that stops sending mid-request holds its thread until it hangs up, so
# workers × threads stalled connections leave nothing to serve others. Exposed to the open
# internet, run behind deploy/nginx.conf, which buffers request bodies and times out idle
# clients.

# Load the app (and the model) in the master before forking: a missing or corrupt weights file
# stops the server at once, every worker answers its first request at full speed, and the
# workers share the loaded pages copy-on-write.
preload_app = True

# A request takes milliseconds; `timeout` only catches a worker that has hung. Shutdown
# on SIGTERM lets in-flight requests finish within `graceful_timeout`, under Docker's default
# 10 s between SIGTERM and SIGKILL.
timeout = 30
graceful_timeout = 8
keepalive = 5

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
    # With preload_app a bad weights file raises CheckpointError in the master while it starts;
    # its message names the file and the problem, which is all an operator needs to see.
    checkpoint = sys.modules.get("model.checkpoint")
    if checkpoint is not None and issubclass(exc_type, checkpoint.CheckpointError):
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
