"""Find a course directory and configure nbgrader's Python API for it."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"


class GradingError(Exception):
    """A problem the instructor can fix; the message says what and how."""


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


def course_root(path: str | Path) -> Path:
    """Return ``path`` resolved, or raise unless it holds ``nbgrader_config.py``."""
    root = Path(path).resolve()
    if not (root / CONFIG_FILE).is_file():
        raise GradingError(f"{root} is not a course directory: it has no {CONFIG_FILE}. "
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


def assignment_ids(root: Path, config: Config) -> list[str]:
    """Return every assignment with a source notebook ``<source>/<id>/<id>.ipynb``."""
    folder = root / source_dir(config)
    return sorted(p.parent.name for p in folder.glob("*/*.ipynb") if p.stem == p.parent.name)


def check_assignment(root: Path, config: Config, assignment: str) -> None:
    """Raise a clear error unless ``assignment`` has a source notebook."""
    known = assignment_ids(root, config)
    if assignment not in known:
        raise GradingError(f"unknown assignment {assignment!r}: there is no "
                           f"{source_dir(config)}/{assignment}/{assignment}.ipynb. "
                           f"Known assignments: {', '.join(known) or 'none'}.")


def make_api(config: Config):  # -> NbGraderAPI (imported lazily: nbgrader is slow to import)
    """Return an ``NbGraderAPI`` for ``config`` (nbgrader's own Python API)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    put_venv_on_path()
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    api.log.propagate = False  # nbgrader's messages are captured per call, not printed
    if not any(isinstance(h, logging.NullHandler) for h in api.log.handlers):
        api.log.addHandler(logging.NullHandler())
    return api
