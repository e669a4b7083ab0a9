"""BottleCRM's own virtual environment (``django-crm`` 1.35 needs Python 3.12 and
installs top-level packages such as ``common`` and ``crm``, so it never shares keepfor's).

Built once and kept across runs in ``~/.cache/keepfor-tests/bottlecrm-1.35/`` (or
``$KEEPFOR_BOTTLECRM_VENV``), under a file lock so that two test sessions never build it
at once. Standard library only: ``.ci/run`` builds it before keepfor is installed::

    python3 tests/servers/bottlecrm_venv.py
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["VERSION", "VenvError", "crm_python", "ensure_venv", "find_python312", "venv_dir"]

VERSION = "1.35"
"""The django-crm release the tests run against."""


class VenvError(Exception):
    """BottleCRM's environment cannot be made here (the reason, in one line)."""


def venv_dir() -> Path:
    """Where the environment is kept."""
    default = Path.home() / ".cache" / "keepfor-tests" / f"bottlecrm-{VERSION}"
    return Path(os.environ.get("KEEPFOR_BOTTLECRM_VENV", default))


def crm_python() -> Path:
    """The environment's Python."""
    return venv_dir() / "bin" / "python"


def find_python312() -> str | None:
    """A Python 3.12 that runs: under pyenv, or on PATH (a pyenv shim on PATH may name
    a version that is not selected, so each candidate is tried)."""
    candidates = []
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv"), "/root/.pyenv"]
    for root in filter(None, roots):
        candidates += sorted(glob.glob(f"{root}/versions/3.12*/bin/python3"), reverse=True)
    candidates += filter(None, [shutil.which("python3.12")])
    for candidate in candidates:
        probe = [candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 12)"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def ensure_venv() -> Path:
    """The environment's Python, building the environment first where it is missing."""
    target = venv_dir()
    done = target / ".keepfor-complete"
    if done.exists():
        return crm_python()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"bottlecrm-{VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            _build(target)
            done.write_text(f"django-crm=={VERSION}\n")
    return crm_python()


def _build(target: Path) -> None:
    python = find_python312()
    if python is None:
        raise VenvError("no Python 3.12 (BottleCRM needs it): not on PATH nor under pyenv")
    shutil.rmtree(target, ignore_errors=True)
    steps = [
        [python, "-m", "venv", str(target)],
        [str(target / "bin" / "python"), "-m", "pip", "install", "-q", f"django-crm=={VERSION}"],
    ]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise VenvError(f"{' '.join(step[-3:])} failed: {last}")


if __name__ == "__main__":
    try:
        print(ensure_venv())
    except VenvError as error:
        sys.exit(f"bottlecrm_venv: {error}")
