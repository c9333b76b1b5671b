"""A graded cohort as data: each learner's points and verdict for each autograded exercise.

Points come from nbgrader's gradebook (each test cell's score out of its
``max_score``); verdicts from the autograded notebooks
(``autograded/<student>/<assignment>/``, see :mod:`course.grading.judging.verdicts`).
Submissions still held for a human (any autograded item that needs a manual
grade: a time-out, a dead kernel, suspicious code) are counted, not analysed:
their points are not final. Blank submissions (no exercise attempted) are
counted and kept apart: a few zeros make every exercise look discriminating.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode
from traitlets.config import Config

from course.errors import CourseError
from course.grading.coursedir import GradingError, load_config, put_venv_on_path, source_dir
from course.grading.judging.verdicts import (
    BLANK,
    TIMEOUTS,
    UNGRADED,
    Verdict,
    exercise_of,
    verdict_of,
)
from course.grading.records.gradebook import gradebook
from course.notebook import error_outputs, grade_id, is_test_cell, read

GRADEBOOK = "gradebook.db"


@dataclass(frozen=True)
class Item:
    """One autograded exercise: its test cell and its points."""

    exercise: str
    grade_id: str
    notebook: str
    points: float


@dataclass(frozen=True)
class Response:
    """One learner's answer to one exercise: the verdict and the points it earned."""

    verdict: Verdict
    score: float


@dataclass
class Learner:
    """One learner's graded submission."""

    student: str
    responses: dict[str, Response]

    @property
    def total(self) -> float:
        """Points earned on the autograded exercises."""
        return sum(r.score for r in self.responses.values())


@dataclass
class Cohort:
    """Everything the item report needs about one assignment's graded submissions."""

    assignment: str
    items: list[Item]
    learners: list[Learner] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    no_notebook: list[str] = field(default_factory=list)
    by_hand: list[str] = field(default_factory=list)
    blank: list[Learner] = field(default_factory=list)
    from_metadata: int = 0
    from_outputs: int = 0


def autograded_folder(config: Config, student: str, assignment: str) -> Path:
    """Return ``autograded/<student>/<assignment>`` as nbgrader names it."""
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    return Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))


def _items(gb, assignment: str) -> list[tuple[str, str, float]]:
    """Return (notebook, grade id, max score) of every autograded cell, in the gradebook."""
    from nbgrader.api import MissingEntry

    try:
        record = gb.find_assignment(assignment)
    except MissingEntry:
        raise GradingError(f"the gradebook has no assignment {assignment!r}: grade it first "
                           f"with `python -m course grade {assignment} SUBMISSIONS`.") from None
    return [(nb.name, cell.name, float(cell.max_score)) for nb in record.notebooks
            for cell in nb.grade_cells if cell.cell_type == "code"]


def _scores(gb, assignment: str) -> dict[str, tuple[dict[str, float], bool, bool]]:
    """Each submitter's points by grade id, whether held for review, and memos left to mark."""
    found = {}
    for submission in gb.assignment_submissions(assignment):
        points, held, by_hand = {}, False, False
        for nb in submission.notebooks:
            for grade in nb.grades:
                if grade.cell_type != "code":
                    by_hand |= grade.manual_score is None and grade.needs_manual_grade
                    continue
                points[grade.name] = float(grade.score or 0.0)
                held |= bool(grade.needs_manual_grade)
        found[submission.student.id] = (points, held, by_hand)
    return found


def _notebooks(folder: Path, names: set[str]) -> list[NotebookNode] | None:
    """Read a student's autograded notebooks (None if none exists or one cannot be read)."""
    paths = [folder / f"{name}.ipynb" for name in sorted(names)]
    try:
        found = [read(p) for p in paths if p.is_file()]
    except CourseError as error:
        print(f"warning: left out of the report: {error}", file=sys.stderr)
        return None
    return found or None


def _test_cells(notebooks: list[NotebookNode]) -> dict[str, NotebookNode]:
    return {grade_id(c): c for nb in notebooks for c in nb.cells if is_test_cell(c)}


def timed_out(notebooks: list[NotebookNode]) -> bool:
    """Return True if any cell of these notebooks was stopped for running too long."""
    return any(o.get("ename") in TIMEOUTS
               for nb in notebooks for c in nb.cells for o in error_outputs(c))


def _name_items(root: Path, config: Config, assignment: str,
                raw: list[tuple[str, str, float]]) -> list[Item]:
    """Name each autograded cell by the exercise its source test cell checks."""
    names, order = {}, {}
    for notebook in sorted({nb for nb, _, _ in raw}):
        path = root / source_dir(config) / assignment / f"{notebook}.ipynb"
        tests = [c for c in read(path).cells if is_test_cell(c)] if path.is_file() else []
        names |= {grade_id(c): exercise_of(c) for c in tests}
        order |= {(notebook, grade_id(c)): i for i, c in enumerate(tests)}
    items, seen = [], set()
    for nb, gid, points in sorted(raw, key=lambda r: (r[0], order.get(r[:2], len(order)), r[1])):
        name = names.get(gid) or gid.removesuffix("_test")
        items.append(Item(gid if name in seen else name, gid, nb, points))
        seen.add(name)
    return items


def _learner(cohort: Cohort, student: str, points: dict[str, float],
             cells: dict[str, NotebookNode]) -> Learner:
    responses = {}
    for item in cohort.items:
        cell = cells.get(item.grade_id)
        if cell is None:
            verdict, written = Verdict(item.exercise, UNGRADED, "no test cell"), False
        else:
            verdict, written = verdict_of(cell, f"{student}'s {item.notebook}.ipynb")
        cohort.from_metadata += written
        cohort.from_outputs += not written
        responses[item.exercise] = Response(verdict, points.get(item.grade_id, 0.0))
    return Learner(student, responses)


def read_cohort(root: Path, assignment: str) -> Cohort:
    """Read the gradebook and autograded notebooks of ``assignment`` in course ``root``."""
    put_venv_on_path()  # nbgrader runs alembic on the gradebook
    config = load_config(root)
    if not (root / GRADEBOOK).is_file():
        raise GradingError(f"there is no {GRADEBOOK} in {root}: grade the assignment first with "
                           f"`python -m course grade {assignment} SUBMISSIONS`.")
    with gradebook(str(config.CourseDirectory.db_url)) as gb:
        raw = _items(gb, assignment)
        scores = _scores(gb, assignment)
        everyone = sorted(s.id for s in gb.students)
    cohort = Cohort(assignment, _name_items(root, config, assignment, raw))
    cohort.missing = [s for s in everyone if s not in scores]
    names = {nb for nb, _, _ in raw}
    for student in sorted(scores):
        points, held, by_hand = scores[student]
        for flag, group in ((held, cohort.held), (by_hand, cohort.by_hand)):
            if flag:
                group.append(student)
        notebooks = _notebooks(autograded_folder(config, student, assignment), names)
        if notebooks is None:
            if not held:
                cohort.no_notebook.append(student)
            continue
        if timed_out(notebooks):
            cohort.timed_out.append(student)
        if not held:
            learner = _learner(cohort, student, points, _test_cells(notebooks))
            blank = learner.responses and all(r.verdict.status == BLANK
                                              for r in learner.responses.values())
            (cohort.blank if blank else cohort.learners).append(learner)
    return cohort
