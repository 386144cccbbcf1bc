"""Run gunicorn the way the Docker image does, on 127.0.0.1, for the deploy tests and benchmarks.

The command and environment are read from the Dockerfile (its final stage's ENV and exec-form
CMD), never copied, so what is tested here is what the container runs. The repository root
stands in for the image's WORKDIR: the Dockerfile copies each path to the same place under it.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shlex
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"
# What the python:*-slim base image sets that matters to a Python process.
BASE_IMAGE_ENV = {"LANG": "C.UTF-8"}


@dataclass
class Instruction:
    """One Dockerfile instruction: ``COPY --from=build /a /b`` → keyword COPY,
    flags {"from": "build"}, arguments "/a /b"."""

    keyword: str
    arguments: str
    flags: dict[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, or None for the shell form."""
        text = self.arguments.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def read_dockerfile(path: Path = DOCKERFILE) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # Docker drops comment lines inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        keyword, _, rest = text.partition(" ")
        flags = {}
        rest = rest.strip()
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        instructions.append(Instruction(keyword.upper(), rest, flags, start))
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The instructions from the last FROM on: the image that runs."""
    starts = [i for i, instruction in enumerate(instructions) if instruction.keyword == "FROM"]
    return instructions[starts[-1] :] if starts else instructions


_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def _expand(value: str, env: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), value)


def dockerfile_env(instructions: list[Instruction], base: dict[str, str]) -> dict[str, str]:
    """``base`` with the final stage's ENV instructions applied in order ($VAR expanded)."""
    env = dict(base)
    for instruction in final_stage(instructions):
        if instruction.keyword != "ENV":
            continue
        words = shlex.split(instruction.arguments)
        if words and "=" not in words[0]:  # legacy form: ENV NAME value with spaces
            env[words[0]] = _expand(" ".join(words[1:]), env)
            continue
        for word in words:
            name, _, value = word.partition("=")
            env[name] = _expand(value, env)
    return env


def dockerfile_command(instructions: list[Instruction]) -> list[str]:
    """The final stage's CMD, which must be in exec form."""
    commands = [i for i in final_stage(instructions) if i.keyword == "CMD"]
    if not commands or commands[-1].exec_form is None:
        raise ValueError("the Dockerfile's final stage has no exec-form CMD")
    return commands[-1].exec_form


def _dockerignore_regexes() -> list[tuple[bool, re.Pattern]]:
    """(negated, regex) per .dockerignore pattern, in file order (the last match wins)."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex += pattern[i : end + 1]
                i = end + 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        rules.append((negated, re.compile(regex + r"\Z")))
    return rules


def excluded_from_context(path: str) -> bool:
    """Whether Docker leaves ``path`` (relative to the context) out of the build context.

    As Docker does, a pattern that matches a parent folder matches everything under it, and the
    last matching pattern decides.
    """
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for negated, regex in _dockerignore_regexes():
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def image_layout(destination: Path) -> Path:
    """Lay out under ``destination`` the files the final stage copies into its WORKDIR, as the
    build would: only what .dockerignore lets into the context. Returns the WORKDIR stand-in.

    Running gunicorn there proves the image holds everything the server needs.
    """
    import shutil

    workdir = Path(destination)
    for instruction in final_stage(read_dockerfile()):
        if instruction.keyword != "COPY" or "from" in instruction.flags:
            continue
        *sources, target = instruction.arguments.split()
        for source in sources:
            origin = ROOT / source
            files = [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
            for file in files:
                relative = file.relative_to(ROOT).as_posix()
                if excluded_from_context(relative):
                    continue
                if origin.is_file():
                    placed = workdir / target / origin.name if target.endswith("/") else workdir / target
                else:
                    placed = workdir / target / file.relative_to(origin)
                placed.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, placed)
    return workdir


def config_value(name: str, path: Path = GUNICORN_CONFIG):
    """A literal setting of gunicorn.conf.py (e.g. ``graceful_timeout``), read without running it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise KeyError(f"{path.name} assigns no literal {name}")


def container_env(port: int, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The container's environment, on 127.0.0.1:``port``, with this interpreter's bin directory
    standing in for the image's virtualenv. DIGIT_LENS_* settings of the caller pass through,
    as ``docker run -e`` would pass them."""
    base = dict(BASE_IMAGE_ENV)
    base["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dockerfile_env(read_dockerfile(), base)
    env.update({k: v for k, v in os.environ.items() if k.startswith("DIGIT_LENS_")})
    env.update({"HOST": "127.0.0.1", "PORT": str(port)})
    env.update(overrides or {})
    return env


class GunicornServer(ServerProcess):
    """gunicorn started with the Dockerfile's CMD in ``cwd`` (the repository root, or an
    ``image_layout``), output to ``log_path``.

    Use as a context manager; ``stop()`` sends SIGTERM and returns the exit code.
    """

    name = "gunicorn"

    def __init__(
        self,
        log_path: Path,
        env: dict[str, str] | None = None,
        argv: list[str] | None = None,
        cwd: Path = ROOT,
    ):
        port = free_port()
        argv = argv or dockerfile_command(read_dockerfile())
        super().__init__(argv, port, log_path, env=container_env(port, env), cwd=Path(cwd))

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll until /readyz answers 200 and every worker is up; raise with the server's output if not."""

        def ready() -> bool:
            status, _, _ = self.request("GET", "/readyz", timeout=2)
            return status == 200 and len(self.worker_pids()) >= self.expected_workers()

        self.poll_until(ready, timeout, interval=0.1, waiting_for="not ready")

    def expected_workers(self) -> int:
        """How many workers the master will run: WEB_CONCURRENCY, else what gunicorn.conf.py
        logged when ready (its default depends on the CPUs), else 1."""
        if self.env.get("WEB_CONCURRENCY", "").isdigit():
            return int(self.env["WEB_CONCURRENCY"])
        logged = re.search(r"with (\d+) workers", self.log())
        return int(logged.group(1)) if logged else 1

    def worker_pids(self) -> set[int]:
        """The worker processes: the master's children."""
        return children(self.process.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU time the master and its live workers have used so far, in seconds."""
        total = 0.0
        for pid in (self.process.pid, *self.worker_pids()):
            with contextlib.suppress(OSError):  # a worker that has just exited
                total += cpu_seconds(pid)
        return total

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; SIGKILL the group if it has not exited within ``timeout``."""
        return self.signal_and_wait(signal.SIGTERM, timeout)


def children(pid: int) -> set[int]:
    """The pids whose parent is ``pid``, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the ")" that ends the command name: state, ppid, ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def memory_kib(pid: int) -> dict[str, int]:
    """Rss, Pss (shared pages divided among their users) and Uss (pages only this process holds:
    what one more such process costs) in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
            fields[name] = int(rest.split()[0])
    return {
        "Rss": fields["Rss"],
        "Pss": fields["Pss"],
        "Uss": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3 of stat(5); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid: int) -> int:
    """The most resident memory a process has had since it started (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise ValueError(f"/proc/{pid}/status has no VmHWM")
