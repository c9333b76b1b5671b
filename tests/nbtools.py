"""Shared helpers for the tests: the course's notebook vocabulary, a kernel, nbgrader."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from course.authoring.kernel import Kernel, Reply  # noqa: F401 (re-exported for the tests)
from course.authoring.release import parse_check
from course.authoring.spec import Exercise, load_spec
from course.grading.coursedir import nbgrader_env
from course.notebook import (  # noqa: F401 (re-exported for the tests)
    HIDDEN,
    SOLUTION,
    grading,
    is_answer_cell,
    is_test_cell,
    read,
    release_path,
    repository_root,
    solution_path,
    visible_part,
)
from course.notebook import module_ids as _module_ids

ROOT = repository_root()


def module_ids() -> list[str]:
    """Return the id of every module that has a solution notebook."""
    return _module_ids(ROOT)


def course_env() -> dict[str, str]:
    """Environment for nbgrader subprocesses: this Python's bin first (nbgrader runs alembic)."""
    return nbgrader_env()


def nbgrader(*args: str, cwd: Path, check: bool = True,
             timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run the nbgrader command line in course directory ``cwd``."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(cmd, cwd=cwd, env=course_env(), capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def make_course(tmp: Path, modules: list[str]) -> Path:
    """A scratch course directory with the config and the given modules' sources."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
    for module in modules:
        shutil.copytree(ROOT / "solutions" / module, tmp / "solutions" / module,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return tmp


def exercises_by_answer_cell(module: str) -> dict[str, Exercise]:
    """Each exercise of ``module`` by the grade id of the answer cell its test checks."""
    spec = load_spec(ROOT, module)
    found, last_answer = {}, None
    for index, cell in enumerate(read(solution_path(module)).cells):
        if is_answer_cell(cell):
            last_answer = grading(cell)["grade_id"]
        elif is_test_cell(cell):
            call = parse_check(visible_part(cell.source).strip(), f"{module} cell {index}")
            exercise = spec[call.name]
            found[exercise.answer_cell or last_answer] = exercise
    return found
