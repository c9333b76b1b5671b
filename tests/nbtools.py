"""Shared helpers for the tests: the course's notebook vocabulary, a kernel, nbgrader."""

from __future__ import annotations

import subprocess
from pathlib import Path

from course.authoring.kernel import Kernel, Reply  # noqa: F401 (re-exported for the tests)
from course.authoring.release import parse_check
from course.authoring.spec import Exercise, load_spec
from course.layout import nbgrader_env, run_nbgrader, scratch_course
from course.notebook import (  # noqa: F401 (re-exported for the tests)
    HIDDEN,
    SOLUTION,
    answer_cell_for,
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


def require_sandbox() -> None:
    """Skip, saying why, where bubblewrap cannot sandbox grading (CI installs it)."""
    import pytest

    from course.grading.run.sandbox import SandboxUnavailable, bwrap

    try:
        bwrap()
    except SandboxUnavailable as error:
        pytest.skip(f"grading needs its sandbox: {error}")


def course_env() -> dict[str, str]:
    """Environment for nbgrader subprocesses: this Python's bin first (nbgrader runs alembic)."""
    return nbgrader_env()


def nbgrader(*args: str, cwd: Path, check: bool = True,
             timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run the nbgrader command line in course directory ``cwd``."""
    result = run_nbgrader(list(args), cwd, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def make_course(tmp: Path, modules: list[str]) -> Path:
    """A scratch course directory with the config and the given modules' sources."""
    return scratch_course(ROOT, modules, tmp)


def exercises_by_answer_cell(module: str) -> dict[str, Exercise]:
    """Each exercise of ``module`` by the grade id of the answer cell its test checks."""
    spec = load_spec(ROOT, module)
    cells = read(solution_path(module)).cells
    found = {}
    for index, cell in enumerate(cells):
        if is_test_cell(cell):
            exercise = spec[parse_check(visible_part(cell.source).strip(),
                                        f"{module} cell {index}").name]
            answer = answer_cell_for(cells, index, exercise.answer_cell)
            found[grading(answer)["grade_id"]] = exercise
    return found
