"""The course directory: its root, its nbgrader configuration, and running nbgrader.

Part of the neutral base: learners', authors' and instructors' tools all use it,
and it imports nothing of theirs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from course.errors import InstructorError

CONFIG_FILE = "nbgrader_config.py"


def add_course_dir(parser: argparse.ArgumentParser) -> None:
    """Give a command the ``--course-dir`` option: the course root, by default here."""
    parser.add_argument("--course-dir", default=".", help="the course root (default: here)")


def venv_bin() -> str:
    """Return the directory of this Python's scripts (nbgrader runs ``alembic`` from it)."""
    return str(Path(sys.executable).parent)


def nbgrader_env() -> dict[str, str]:
    """Return the environment with this Python's bin directory first on PATH."""
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [venv_bin()]:
        parts = [venv_bin(), *parts]
    return dict(os.environ, PATH=os.pathsep.join(parts))


def put_venv_on_path() -> None:
    """Put this Python's bin directory first on PATH, for nbgrader's subprocesses."""
    os.environ["PATH"] = nbgrader_env()["PATH"]


def run_nbgrader(args: list[str], cwd: Path, timeout: float = 1800,
                 check: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in course directory ``cwd``; return what it did.

    With ``check``, a failure raises ``subprocess.CalledProcessError``.
    """
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, check=check,
                          env=nbgrader_env(), capture_output=True, text=True, timeout=timeout)


def course_root(path: str | Path) -> Path:
    """Return ``path`` resolved, or raise unless it holds ``nbgrader_config.py``."""
    root = Path(path).resolve()
    if not (root / CONFIG_FILE).is_file():
        raise InstructorError(f"{root} is not a course directory: it has no {CONFIG_FILE}. "
                              "Run from the repository root or pass --course-dir.")
    return root


def load_config(root: Path) -> Config:
    """Return the course's nbgrader configuration, with paths made absolute for ``root``."""
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    return config


def source_dir(config: Config) -> str:
    """Return the name of the source directory (``solutions`` in this course)."""
    return str(config.CourseDirectory.get("source_directory", "source"))


def release_dir(config: Config) -> str:
    """Return the name of the release directory (``notebooks`` in this course)."""
    return str(config.CourseDirectory.get("release_directory", "release"))


def release_folder(root: Path) -> str:
    """Return the release folder's name for the course at ``root`` (``notebooks``)."""
    if (root / CONFIG_FILE).is_file():
        return release_dir(load_config(root))
    return "notebooks"


def scratch_course(root: Path, modules: list[str], target: Path,
                   with_release: bool = False) -> Path:
    """Make ``target`` a course directory with ``root``'s config and these modules' sources.

    ``with_release`` copies their released notebooks too (a course for a hub's instructor).
    """
    config = load_config(root)
    folders = [source_dir(config)] + ([release_dir(config)] if with_release else [])
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / CONFIG_FILE, target / CONFIG_FILE)
    for folder in folders:
        for module in modules:
            if (root / folder / module).is_dir():
                shutil.copytree(root / folder / module, target / folder / module,
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return target
