"""``python -m harness.setup``: what the tests need besides requirements-dev.txt.

README's test command runs it between ``pip install`` and ``pytest``:

* checkov, in a virtualenv of its own at ``.venv/checkov`` (its pins, packaging<24 among them,
  clash with pytest's), made from requirements-checkov.txt when it is not there;
* Debian packages: chromium (the browser tests), fonts-dejavu-core and fonts-liberation (the
  page's screenshots and the typed test images), nginx (the proxy tests). Under ``CI=true`` as
  root, missing ones are installed with apt-get, since there every skip is a failure; otherwise
  one line says which tests will be skipped and how to install what they need.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

from harness.ci import IN_CI

ROOT = Path(__file__).resolve().parent.parent
CHECKOV_VENV = ROOT / ".venv" / "checkov"

FONTS = Path("/usr/share/fonts/truetype")
# Each Debian package, a file it installs, and the tests that need it.
DEBIAN_PACKAGES = {
    "chromium": (Path(os.environ.get("CHROMIUM", "/usr/bin/chromium")), ("browser",)),
    "fonts-dejavu-core": (FONTS / "dejavu" / "DejaVuSans.ttf", ("screenshot", "typed-image")),
    "fonts-liberation": (FONTS / "liberation" / "LiberationSans-Regular.ttf", ("typed-image",)),
    "nginx": (Path(os.environ.get("NGINX", "/usr/sbin/nginx")), ("proxy",)),
}


def ensure_checkov() -> None:
    """Create .venv/checkov from requirements-checkov.txt unless its checkov is already there."""
    if (CHECKOV_VENV / "bin" / "checkov").is_file():
        print(f"checkov: {CHECKOV_VENV / 'bin' / 'checkov'}")
        return
    print(f"checkov: installing into {CHECKOV_VENV} (requirements-checkov.txt)", flush=True)
    venv.create(CHECKOV_VENV, with_pip=True)
    pip = [str(CHECKOV_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(ROOT / "requirements-checkov.txt")], check=True)


def missing_packages() -> list[str]:
    return [name for name, (path, _) in DEBIAN_PACKAGES.items() if not path.is_file()]


def ensure_debian_packages() -> None:
    """Install the missing packages under CI=true as root; otherwise say what will be skipped."""
    missing = missing_packages()
    if not missing:
        print(f"Debian packages: {', '.join(DEBIAN_PACKAGES)} are installed")
        return
    if IN_CI and os.geteuid() == 0:
        print(f"Debian packages: installing {' '.join(missing)}", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
        subprocess.run(install, check=True, env=env, stdout=subprocess.DEVNULL)
        return
    tests = " and ".join(dict.fromkeys(kind for name in missing for kind in DEBIAN_PACKAGES[name][1]))
    outcome = "fail (CI=true)" if IN_CI else "be skipped"
    print(
        f"Debian packages missing: {' '.join(missing)}: the {tests} tests will {outcome}. To run them: "
        f"sudo apt-get install --no-install-recommends {' '.join(missing)}"
    )


def main() -> int:
    ensure_checkov()
    ensure_debian_packages()
    return 0


if __name__ == "__main__":
    sys.exit(main())
