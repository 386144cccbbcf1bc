"""What each request of the hostile corpus costs gunicorn as shipped: status, CPU seconds, memory.

    python -m bench.hostile [--app-dir DIR] [--only TEXT]

gunicorn is started exactly as the Docker image starts it, on 127.0.0.1, from this checkout or
from ``--app-dir`` (another checkout, e.g. an older commit made with ``git worktree add``, to
measure the same corpus before and after a change). For each case it prints the status, the CPU
seconds the workers spent, the peak resident memory a worker reached above what it held before
the request (from /proc's VmHWM, reset before each case), and what it still held after.
Targets: no single image over 0.5 s of CPU, no batch over 2 s, no worker over 400 MB above its
baseline during or after.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from harness import hostile
from harness.serving import ROOT, GunicornServer, cpu_seconds


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak(pid: int) -> None:
    # "5" resets VmHWM to the current RSS (Linux ≥ 4.0), so the peak is this request's own.
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def measure(server: GunicornServer, case: hostile.HostileCase) -> dict:
    """Send ``case`` once; its status and what it cost the workers."""
    body = case.build()
    workers = sorted(server.worker_pids())
    before = {pid: _status_kib(pid, "VmRSS") for pid in workers}
    for pid in workers:
        _reset_peak(pid)
    cpu_before = sum(cpu_seconds(pid) for pid in workers)
    started = time.monotonic()
    status, _ = hostile.send(server.port, case, body=body, timeout=120)
    elapsed = time.monotonic() - started
    time.sleep(0.2)  # let the worker finish any work after the response
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    return {
        "status": status,
        "body_kib": len(body) / 1024,
        "cpu_s": sum(cpu_seconds(pid) for pid in alive) - cpu_before,
        "wall_s": elapsed,
        "peak_mb": max((_status_kib(pid, "VmHWM") - before[pid]) / 1024 for pid in alive),
        "after_mb": max((_status_kib(pid, "VmRSS") - before[pid]) / 1024 for pid in alive),
        "workers_lost": len(workers) - len(alive),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="checkout whose app gunicorn serves")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    args = parser.parse_args()
    cases = [case for case in hostile.cases() if args.only.lower() in case.name.lower()]
    with tempfile.TemporaryDirectory() as scratch, GunicornServer(
        Path(scratch) / "gunicorn.log", cwd=args.app_dir.resolve()
    ) as server:
        workers = len(server.worker_pids())
        print(f"gunicorn from {args.app_dir.resolve()}, {workers} workers, 127.0.0.1:{server.port}")
        print(f"{'case':<56} {'body KiB':>9} {'status':>6} {'CPU s':>6} {'wall s':>7} "
              f"{'peak MB':>8} {'after MB':>9}")
        for case in cases:
            result = measure(server, case)
            lost = f"  ({result['workers_lost']} worker(s) died)" if result["workers_lost"] else ""
            print(f"{case.name:<56} {result['body_kib']:>9.1f} {result['status']:>6} {result['cpu_s']:>6.2f} "
                  f"{result['wall_s']:>7.2f} {result['peak_mb']:>8.1f} {result['after_mb']:>9.1f}{lost}",
                  flush=True)


if __name__ == "__main__":
    main()
