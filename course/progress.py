"""``python -m course progress``: how far a self-paced learner is, module by module.

Each notebook is copied to a temporary folder and run there (or, with
``--saved``, its saved outputs are read); the learner's file is only ever
read. A test cell that runs without error passed its visible checks; one
that raises ``NotAttempted`` was not attempted. Points count visible checks
only: cohort grading also runs hidden tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import nbformat

from course.errors import CourseError
from course.notebook import error_outputs, exercise_of, is_hand_graded, is_test_cell
from course.outcomes import BLANK, LEARNER_WORDS, RIGHT, UNGRADED, WRONG

#: A learner's own run sees only the visible check: passed, not right yet (any wrong or
#: invalid answer), not attempted, or not run (course.outcomes.LEARNER_WORDS says each).
PASSED, WRONG, NOT_ATTEMPTED, NOT_RUN = RIGHT, WRONG, BLANK, UNGRADED


@dataclass
class Attempt:
    """How the learner's answer to one exercise did on its visible check."""

    name: str  # the exercise, as course.notebook.exercise_of reads it
    points: float
    state: str  # one of course.outcomes' statuses: RIGHT, WRONG, BLANK or UNGRADED
    message: str = ""


@dataclass
class ModuleProgress:
    """A module's exercises."""

    module: str
    exercises: list[Attempt] = field(default_factory=list)
    written: dict[str, float] = field(default_factory=dict)  # graded by hand: grade id -> points

    @property
    def by_hand(self) -> float:
        """Points of the written answers, graded by hand (or self-assessed)."""
        return sum(self.written.values())

    def count(self, *states: str) -> int:
        """Return how many exercises are in one of ``states``."""
        return sum(e.state in states for e in self.exercises)

    def points(self, *states: str) -> float:
        """Return the points of the exercises in ``states`` (all if none given)."""
        return sum(e.points for e in self.exercises if not states or e.state in states)


def _state(cell: nbformat.NotebookNode) -> tuple[str, str]:
    errors = error_outputs(cell)
    if errors:
        message = str(errors[0].get("evalue", "")).strip().splitlines()
        text = message[0] if message else errors[0].get("ename", "")
        return (NOT_ATTEMPTED if errors[0].get("ename") == "NotAttempted" else WRONG), text
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return NOT_RUN, ""
    return PASSED, ""


def exercises(nb: nbformat.NotebookNode) -> list[Attempt]:
    """Return every graded test cell of a (run) notebook with its state."""
    found = []
    for cell in nb.cells:
        if is_test_cell(cell):
            meta = cell.metadata.nbgrader
            state, message = _state(cell)
            found.append(Attempt(exercise_of(cell), float(meta.get("points", 0)),
                                  state, message))
    return found


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a learner's notebook, or raise a clear error (the file is not touched)."""
    if not path.is_file():
        raise CourseError(f"{path} does not exist. Give the path of a notebook, such as "
                           "my-work/03_metrics.ipynb.")
    try:
        return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as error:  # invalid JSON, wrong format or encoding
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CourseError(f"{path} is not a valid notebook ({first}). Nothing was changed; "
                           "open it in a text editor to repair it, or ask for help.") from error


@contextlib.contextmanager
def _kernel_stderr_to(log: Path) -> Iterator[None]:
    """Send the kernel's start-up chatter (it inherits stderr) to ``log``."""
    sys.stderr.flush()
    saved = os.dup(2)
    target = os.open(log, os.O_WRONLY | os.O_CREAT, 0o644)
    os.dup2(target, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


def run_copy(path: Path, timeout: int) -> nbformat.NotebookNode:
    """Run a copy of ``path`` in a temporary folder and return the executed copy."""
    from course.notebook_run import run_notebook

    with tempfile.TemporaryDirectory(prefix="course-progress-") as folder:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)
        try:
            with _kernel_stderr_to(Path(folder) / "kernel.log"):
                result = run_notebook(copy, timeout=timeout)
        except Exception as error:  # a dead kernel or a cell over the time limit
            raise CourseError(f"{path} could not be run to the end ({type(error).__name__}: "
                               f"{error}). Nothing was changed.") from error
    return result.notebook


def written_answers(nb: nbformat.NotebookNode) -> dict[str, float]:
    """Return ``{grade_id: points}`` of the cells graded by hand (the written answers)."""
    return {c.metadata.nbgrader.get("grade_id", "?"): float(c.metadata.nbgrader.get("points", 0))
            for c in nb.cells if is_hand_graded(c)}


def hand_graded_points(nb: nbformat.NotebookNode) -> float:
    """Return the points of the cells graded by hand (the written answers)."""
    return sum(written_answers(nb).values())


def module_progress(path: Path, run: bool, timeout: int) -> ModuleProgress:
    """Return the progress recorded in one notebook (run in a copy unless ``run`` is False)."""
    nb = read_notebook(path)
    if run:
        nb = run_copy(path, timeout)
    return ModuleProgress(path.stem, exercises(nb), written_answers(nb))


def table(modules: list[ModuleProgress], out: TextIO | None = None,
          marks: dict[str, dict[str, float]] | None = None) -> None:
    """Print one line per module, what is left to do, and the written answers' marks."""
    out = out or sys.stdout
    out.write(f"{'module':<24} {'passed':>9} {'attempted':>10} {'points':>11}\n")
    for m in modules:
        total = len(m.exercises)
        attempted = m.count(PASSED, WRONG)
        out.write(f"{m.module:<24} {m.count(PASSED):>4}/{total:<4} {attempted:>5}/{total:<4} "
                  f"{m.points(PASSED):>5g}/{m.points():<5g}\n")
    for m in modules:
        _module_details(m, out)
    out.write("\nPoints count the visible checks of the autograded exercises; cohort grading "
              "also runs hidden tests.\n")
    _written(modules, marks or {}, out)


def _written(modules: list[ModuleProgress], marks: dict[str, dict[str, float]],
             out: TextIO) -> None:
    """Print the written answers (graded by hand), self-assessed marks, and how to mark."""
    with_memos = [m for m in modules if m.written]
    if not with_memos:
        return
    total = sum(m.by_hand for m in with_memos)
    out.write(f"\nWritten answers (the memos, {total:g} points) are graded by hand, so the "
              "points above leave them out. In a cohort your instructor grades them. On your "
              "own, mark yours against the mark scheme and the model answer (the \"Grader's "
              "notes\") in solutions/<module>/<module>.ipynb, and record your mark:\n")
    todo = None
    for m in with_memos:
        for grade_id, most in m.written.items():
            mark = marks.get(m.module, {}).get(grade_id)
            shown = (f"self-assessed {mark:g}/{most:g}" if mark is not None
                     else f"not marked yet ({most:g} points)")
            out.write(f"  {m.module:<24} {grade_id:<18} {shown}\n")
            if mark is None and todo is None:
                todo = (m.module, grade_id, min(3.0, most))
    if todo:
        out.write(f"For example: python3 run.py progress --self-assess {todo[0]} {todo[1]} "
                  f"{todo[2]:g}\n")


def _module_details(m: ModuleProgress, out: TextIO) -> None:
    """Print what is wrong, not attempted, or not run in one module."""
    wrong = [e for e in m.exercises if e.state == WRONG]
    left = [e.name for e in m.exercises if e.state == NOT_ATTEMPTED]
    not_run = [e.name for e in m.exercises if e.state == NOT_RUN]
    if wrong or left or not_run:
        out.write(f"\n{m.module}:\n")
    for e in wrong:
        out.write(f"  {e.name}: {e.message or LEARNER_WORDS[e.state]}\n")
    if left:
        out.write(f"  not attempted yet: {', '.join(left)}\n")
    if not_run and len(not_run) == len(m.exercises):
        out.write("  not run: the saved notebook has no results of its checks. Run it (Run > "
                  "Run All Cells) and save, or leave out --saved to run a copy.\n")
    elif not_run:
        out.write(f"  checks not run in the saved notebook: {', '.join(not_run)}\n")


def default_notebooks(course_dir: Path) -> list[Path]:
    """Return the learner's notebooks: their copies in ``my-work/``, else the release's."""
    from course.workspace import WORK_DIR, releases

    own = sorted(p for p in (course_dir / WORK_DIR).glob("*.ipynb"))
    if own:
        return own
    try:
        return list(releases(course_dir).values())
    except CourseError:
        return []


def progress(notebooks: list[str], course_dir: Path, run: bool = True, timeout: int = 120) -> int:
    """Print the learner's progress; return 1 if a notebook could not be read or run."""
    paths = [Path(p) for p in notebooks] or default_notebooks(course_dir.resolve())
    if not paths:
        raise CourseError(f"no notebooks found under {course_dir.resolve()}; give their paths.")
    modules, status = [], 0
    for path in paths:
        try:
            modules.append(module_progress(path, run, timeout))
        except CourseError as error:
            print(f"✘ {error}", file=sys.stderr)
            status = 1
    if modules:
        from course.self_assessment import load

        table(modules, marks=load(course_dir.resolve()))
    return status


def self_assess(module: str, item: str, points: str, course_dir: Path) -> int:
    """Record the learner's own mark for one written answer of ``module``; print it."""
    from course.self_assessment import parse_points, pick_item, record
    from course.workspace import releases, resolve_modules

    course_dir = course_dir.resolve()
    available = releases(course_dir)
    [module] = resolve_modules([module], available)
    written = written_answers(read_notebook(available[module]))
    grade_id = pick_item(module, item, written)
    mark = parse_points(points, written[grade_id])
    path = record(course_dir, module, grade_id, mark)
    print(f"✔ Recorded your own mark for {module} {grade_id}: {mark:g}/{written[grade_id]:g} "
          f"(in {path.relative_to(course_dir)}). `python3 run.py progress` shows it.")
    return 0
