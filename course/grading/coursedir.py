"""Find a course directory and configure nbgrader's Python API for it."""

from __future__ import annotations

import logging
from pathlib import Path

from traitlets.config import Config

from course.errors import InstructorError
from course.layout import (  # noqa: F401 (the base layer's names, re-exported for grading)
    CONFIG_FILE,
    course_root,
    load_config,
    nbgrader_env,
    put_venv_on_path,
    release_dir,
    run_nbgrader,
    scratch_course,
    source_dir,
    venv_bin,
)
from course.notebook import module_notebooks


class GradingError(InstructorError):
    """A problem the instructor can fix; the message says what and how."""


def assignment_ids(root: Path, config: Config) -> list[str]:
    """Return every assignment with a source notebook ``<source>/<id>/<id>.ipynb``."""
    return list(module_notebooks(root / source_dir(config)))


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
