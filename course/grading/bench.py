"""``python -m course bench-grading``: seconds per submission, sequential and parallel.

A batch of generated submissions (the solution and the blank release, in
turn) is graded three ways, each in a fresh scratch course: nbgrader's own
loop (``nbgrader autograde`` then ``generate_feedback``, one student at a
time, with the course's configuration, so in the sandbox too), ``python -m
course grade --workers 1`` and ``--workers N``. The scores of the three must
agree.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import time
from pathlib import Path

from course.grading.coursedir import (
    check_assignment,
    course_root,
    load_config,
    put_venv_on_path,
    release_dir,
    run_nbgrader,
    scratch_course,
    source_dir,
)
from course.grading.grade import GradeOptions, grade
from course.grading.records.gradebook import standing
from course.grading.run.parallel import default_workers


def make_batch(root: Path, module: str, folder: Path, students: int) -> list[str]:
    """Write ``students`` notebooks, ``s01_<module>.ipynb``..., alternately right and blank."""
    config = load_config(root)
    right = root / source_dir(config) / module / f"{module}.ipynb"
    blank = root / release_dir(config) / module / f"{module}.ipynb"
    folder.mkdir(parents=True)
    ids = [f"s{n:02d}" for n in range(1, students + 1)]
    for n, student in enumerate(ids):
        shutil.copy(right if n % 2 == 0 or not blank.exists() else blank,
                    folder / f"{student}_{module}.ipynb")
    return ids


def _nbgrader(course: Path, *args: str) -> None:
    run_nbgrader(list(args), course, check=True)


def nbgrader_loop(root: Path, module: str, batch: Path, ids: list[str], tmp: Path) -> Path:
    """Grade with nbgrader's own commands, one student after another; return the course."""
    course = scratch_course(root, [module], tmp / "nbgrader")
    _nbgrader(course, "generate_assignment", module, "--force",
              f"--CourseDirectory.release_directory={tmp / 'nbgrader-release'}")
    for student in ids:
        folder = course / "submitted" / student / module
        folder.mkdir(parents=True)
        shutil.copy(batch / f"{student}_{module}.ipynb", folder / f"{module}.ipynb")
    _nbgrader(course, "autograde", module)
    _nbgrader(course, "generate_feedback", module)
    return course


def course_grade(root: Path, module: str, batch: Path, tmp: Path, workers: int) -> Path:
    """Grade with ``python -m course grade --workers N``; return the course."""
    course = scratch_course(root, [module], tmp / f"grade-{workers}")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        grade(GradeOptions(module, batch, workers=workers, course_dir=course))
    return course


def scores(course: Path, module: str, ids: list[str]) -> list[float | None]:
    """Return each student's score in the gradebook of ``course``."""
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    return [standing(db_url, module, student).score for student in ids]


def bench_grading(module: str, course_dir: Path, students: int = 30, workers: int = 0) -> None:
    """Time the three ways of grading a batch and print a table."""
    put_venv_on_path()
    root = course_root(course_dir)
    check_assignment(root, load_config(root), module)
    workers = workers or default_workers()
    with tempfile.TemporaryDirectory(prefix="course-bench-") as name:
        tmp = Path(name)
        ids = make_batch(root, module, tmp / "batch", students)
        runs = [("nbgrader autograde + generate_feedback", lambda: nbgrader_loop(
                    root, module, tmp / "batch", ids, tmp)),
                ("python -m course grade --workers 1", lambda: course_grade(
                    root, module, tmp / "batch", tmp, 1)),
                (f"python -m course grade --workers {workers}", lambda: course_grade(
                    root, module, tmp / "batch", tmp, workers))]
        print(f"{students} submissions of {module}, {default_workers()} cores")
        print(f"{'method':<42} {'seconds':>8} {'s/submission':>13} {'speed-up':>9}")
        baseline, results = 0.0, []
        for label, method in runs:
            began = time.perf_counter()
            course = method()
            seconds = time.perf_counter() - began
            baseline = baseline or seconds
            results.append(scores(course, module, ids))
            print(f"{label:<42} {seconds:8.1f} {seconds / students:13.2f} "
                  f"{baseline / seconds:8.2f}x", flush=True)
        same = all(r == results[0] for r in results)
        print(f"scores identical in all three: {'yes' if same else 'NO'}")
