#!/usr/bin/env python3
"""Set up the course and open it, or test it: the README's two commands.

    python3 run.py lab     create .venv, install the pinned packages, copy the modules you
                           have not started into my-work/ (never over your copies), open JupyterLab
                           as a learner (learner-config/: no instructor tools, no news pop-up)
    python3 run.py lab --instructor
                           the same JupyterLab with nbgrader's instructor tools (formgrader,
                           create assignment, course list, assignment list)
    python3 run.py test    create .venv, install packages and test tools, run the test suite

Needs only Python 3.11 and an internet connection to PyPI for the first install.
Extra arguments after `test` go to pytest (for example `python3 run.py test -k metrics`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
WELCOME = "my-work/00_welcome.ipynb"  # the learner's own copy, made by `course start`
# The learner's Jupyter configuration, shared with Binder (its `start` script points
# JUPYTER_CONFIG_PATH here too): nbgrader's student side only, no news pop-up.
LEARNER_CONFIG = ROOT / "learner-config"
INSTRUCTOR_FLAG = "--instructor"


def venv_python() -> Path:
    """Return the path of the virtual environment's Python."""
    sub = "Scripts/python.exe" if os.name == "nt" else "bin/python"
    return VENV / sub


def ensure_python() -> None:
    """Stop with a clear message unless this is Python 3.11."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"The course needs Python 3.11 (nbgrader 0.9.6 needs 3.11 or newer and the "
                 f"pins are tested on 3.11); this is {sys.version.split()[0]}. Run it as "
                 "`python3.11 run.py ...`.")


def install(extras: str) -> Path:
    """Create .venv if needed and install the course with ``extras``; return its Python."""
    ensure_python()
    if not venv_python().exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    python = str(venv_python())
    spec = f".[{extras}]" if extras else "."
    print(f"Installing the course and its pinned packages ({spec}) ...", flush=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-e", spec], cwd=ROOT, check=True)
    return venv_python()


def lab_options() -> list[str]:
    """Serve the whole course (my-work/, notebooks/, solutions/, datasets/), open the welcome.

    Passing the notebook's path instead would make my-work/ JupyterLab's root and put
    solutions/ and the datacards out of reach.
    """
    return [f"--ServerApp.root_dir={ROOT}", f"--ServerApp.default_url=/lab/tree/{WELCOME}"]


def lab_environment(env: dict[str, str], instructor: bool = False) -> dict[str, str]:
    """Return ``env`` with the learner's Jupyter configuration first on JUPYTER_CONFIG_PATH.

    Jupyter reads config directories in that order, so the learner configuration wins over
    the environment's own (where nbgrader enables its instructor tools). An instructor
    gets ``env`` unchanged: every nbgrader tool stays on.
    """
    if instructor:
        return dict(env)
    others = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    paths = [str(LEARNER_CONFIG), *[p for p in others if p != str(LEARNER_CONFIG)]]
    return dict(env, JUPYTER_CONFIG_PATH=os.pathsep.join(paths))


def lab(argv: list[str], env: dict[str, str]) -> int:
    """Install, copy the learner's modules, and run JupyterLab (as a learner by default)."""
    instructor = INSTRUCTOR_FLAG in argv
    extra = [a for a in argv if a != INSTRUCTOR_FLAG]
    python = install("")
    subprocess.run([str(python), "-m", "course", "start"], cwd=ROOT, env=env, check=True)
    return subprocess.call([str(python), "-m", "jupyter", "lab", *lab_options(), *extra],
                           cwd=ROOT, env=lab_environment(env, instructor))


def main(argv: list[str]) -> int:
    """Dispatch ``lab`` or ``test``."""
    if not argv or argv[0] not in ("lab", "test"):
        print(__doc__)
        return 2
    env = dict(os.environ, PYTHONNOUSERSITE="1")
    if argv[0] == "lab":
        return lab(argv[1:], env)
    python = install("test")
    workers = ["-n", "auto", "--dist", "loadfile"]  # one notebook file per worker
    return subprocess.call([str(python), "-m", "pytest", *workers, *argv[1:]], cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
