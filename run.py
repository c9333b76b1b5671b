#!/usr/bin/env python3
"""Set up the course and open it, or test it: the README's two commands.

    python3 run.py lab     create .venv, install the pinned packages, copy the modules you
                           have not started into my-work/ (never over your copies), open JupyterLab
                           as a learner (learner-config/: no instructor tools, no news pop-up)
    python3 run.py lab --instructor
                           the same JupyterLab with nbgrader's instructor tools (formgrader,
                           create assignment, course list, assignment list)
    python3 run.py start 03 --fresh
                           a fresh copy of a module in my-work/ (yours is kept in my-work/backups/)
    python3 run.py progress [NOTEBOOK ...] [--saved] [--self-assess MODULE ANSWER POINTS]
                           how far you are: exercises passed, points, memos self-assessed
    python3 run.py test    create .venv, install packages and test tools, run the test suite

Needs only Python 3.11 and an internet connection to PyPI for the first install (later runs
install nothing unless pyproject.toml changed). `start` and `progress` run the course's
commands of the same name in .venv, so a learner never needs its path.
Extra arguments after `test` go to pytest (for example `python3 run.py test -k metrics`).
"""

from __future__ import annotations

import hashlib
import json
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
STAMP = VENV / "course-install.json"  # what install() last installed, to skip pip next time
ROOT_NOTE = "You are root (a container or a cloud VM?): starting Jupyter with --allow-root."
LEARNER_COMMANDS = ("start", "progress")  # run.py <command>: the venv's course <command>


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


def install_record(extras: str) -> dict[str, object]:
    """Describe an install of this checkout with ``extras``: root, pyproject's digest, extras."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return {"root": str(ROOT), "pyproject_sha256": digest,
            "extras": sorted({e for e in extras.split(",") if e})}


def installed(extras: str) -> bool:
    """Return True if .venv already holds this checkout with ``extras`` (nothing to do)."""
    try:
        done = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return False
    want = install_record(extras)
    return (venv_python().exists() and done.get("root") == want["root"]
            and done.get("pyproject_sha256") == want["pyproject_sha256"]
            and set(want["extras"]) <= set(done.get("extras", [])))


def mark_installed(extras: str) -> None:
    """Record that .venv holds this checkout with ``extras`` (and what it held before)."""
    record = install_record(extras)
    try:
        before = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        before = {}
    if before.get("pyproject_sha256") == record["pyproject_sha256"]:
        record["extras"] = sorted(set(record["extras"]) | set(before.get("extras", [])))
    STAMP.write_text(json.dumps(record, indent=1) + "\n")


def install(extras: str) -> Path:
    """Create .venv if needed and install the course with ``extras``; return its Python.

    Skipped when .venv already holds them (same checkout, same pyproject.toml), so coming
    back needs no network.
    """
    ensure_python()
    if installed(extras):
        return venv_python()
    if not venv_python().exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    python = str(venv_python())
    spec = f".[{extras}]" if extras else "."
    print(f"Installing the course and its pinned packages ({spec}) ...", flush=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-e", spec], cwd=ROOT, check=True)
    mark_installed(extras)
    return venv_python()


def lab_options() -> list[str]:
    """Serve the whole course (my-work/, notebooks/, solutions/, datasets/), open the welcome.

    Passing the notebook's path instead would make my-work/ JupyterLab's root and put
    solutions/ and the datacards out of reach.
    JupyterLab ignores ``ServerApp.default_url`` (it sets its own, ``/lab``), so the welcome
    notebook is LabApp's default URL: the printed URL, the browser and ``/`` all open it.
    As root (a container, a cloud VM) Jupyter refuses to start without ``--allow-root``.
    """
    options = [f"--ServerApp.root_dir={ROOT}", f"--LabApp.default_url=/lab/tree/{WELCOME}"]
    return [*options, "--allow-root"] if running_as_root() else options


def running_as_root() -> bool:
    """Return True on a POSIX system when this process runs as root."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


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
    if running_as_root():
        print(ROOT_NOTE, flush=True)
    return subprocess.call([str(python), "-m", "jupyter", "lab", *lab_options(), *extra],
                           cwd=ROOT, env=lab_environment(env, instructor))


def learner_command(command: str, argv: list[str], env: dict[str, str]) -> int:
    """Run ``python -m course <command> <argv>`` in .venv, for this course, from here."""
    python = install("")
    course_dir = [] if any(a.startswith("--course-dir") for a in argv) else [
        "--course-dir", str(ROOT)]
    return subprocess.call([str(python), "-m", "course", command, *argv, *course_dir], env=env)


def main(argv: list[str]) -> int:
    """Dispatch ``lab``, ``start``, ``progress`` or ``test``."""
    if not argv or argv[0] not in ("lab", "test", *LEARNER_COMMANDS):
        print(__doc__)
        return 2
    env = dict(os.environ, PYTHONNOUSERSITE="1")
    if argv[0] == "lab":
        return lab(argv[1:], env)
    if argv[0] in LEARNER_COMMANDS:
        return learner_command(argv[0], argv[1:], env)
    python = install("test")
    # One file per worker, one worker more than the cores: many slow tests wait (a
    # server starting, a browser, a kernel sleeping out a time limit) with a core idle.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = ["-n", str((cores or 1) + 1), "--dist", "loadfile"]
    return subprocess.call([str(python), "-m", "pytest", *workers, *argv[1:]], cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
