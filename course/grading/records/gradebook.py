"""Read and write nbgrader's gradebook for a grading run (always from one process)."""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from traitlets.config import Config

from course.grading.coursedir import GradingError, make_api
from course.grading.intake.roster import Student


def gradebook(db_url: str):  # -> nbgrader.api.Gradebook
    """Open nbgrader's gradebook at ``db_url`` (use it as a context manager).

    SQLAlchemy's "not in session" warnings, which nbgrader's own API triggers
    when it creates a submission, are silenced: they do not lose data.
    """
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)
    return Gradebook(db_url)


def prepare_assignment(config: Config, assignment: str, release: Path) -> Path:
    """Run ``nbgrader generate_assignment`` into ``release`` (``notebooks/`` is left alone).

    This records the assignment, its notebooks and its test cells in the
    gradebook, as autograde needs; return the released notebook.
    """
    scratch = Config(config)
    scratch.CourseDirectory.release_directory = str(release)
    result = make_api(scratch).generate_assignment(assignment, force=True, create=True)
    notebook = release / assignment / f"{assignment}.ipynb"
    if not result.get("success") or not notebook.is_file():
        detail = (result.get("log", "") + result.get("error", "")).strip().splitlines()[-8:]
        raise GradingError(f"nbgrader generate_assignment {assignment} failed:\n  "
                           + "\n  ".join(detail))
    return notebook


def release_scratch() -> Path:
    """Return a new temporary folder for a release the course does not keep."""
    return Path(tempfile.mkdtemp(prefix="course-release-"))


def add_students(db_url: str, students: list[Student]) -> None:
    """Create or update each student, with the roster's names and email."""
    with gradebook(db_url) as gb:
        for student in students:
            gb.update_or_create_student(student.id, **student.gradebook_fields())


def find_submission(gb: Any, assignment: str, student: str) -> Any:
    """Return a student's submission in an open gradebook, or None if there is none."""
    from nbgrader.api import MissingEntry

    try:
        return gb.find_submission(assignment, student)
    except MissingEntry:
        return None


def read_scores(db_url: str, assignment: str, student: str) -> dict[str, Any]:
    """Return a submission's autograder results as plain data, to merge elsewhere."""
    with gradebook(db_url) as gb:
        submission = find_submission(gb, assignment, student)
        if submission is None:
            return {}
        notebooks = {}
        for nb in submission.notebooks:
            notebooks[nb.name] = {
                "grades": {g.name: [g.auto_score, g.needs_manual_grade] for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
                "late_penalty": nb.late_submission_penalty,
            }
        stamp = submission.timestamp
        return {"timestamp": stamp.isoformat() if stamp else None, "notebooks": notebooks}


class Hold(Enum):
    """What a human must do before a student's autograded points count."""

    NONE = "none"  # nothing: the points stand
    REVIEW = "review"  # look first: items marked "needs manual grade", points kept
    WITHHOLD = "withhold"  # look first, and the autograder's points are 0 until then


def _rescale(grade: Any, was_auto: float | None, was_points: float | None) -> str:
    """Bring a hand score given before the item's points changed onto the new points.

    A hand score that equalled the autograder's (the instructor accepted it)
    follows the autograder's new score; any other goes back to the instructor,
    kept, marked "needs manual grade". Return what was done ("" if nothing).
    """
    now = grade.max_score
    if grade.manual_score is None or was_points is None or was_points == now:
        return ""
    typed = grade.manual_score
    if grade.auto_score is not None and was_auto is not None and typed == was_auto:
        grade.manual_score = grade.auto_score
        return (f"{grade.name}: your score {typed:g} was the autograder's on the old points "
                f"({was_points:g}); it follows the autograder's {grade.auto_score:g} of "
                f"{now:g}")
    grade.needs_manual_grade = True
    return (f"{grade.name}: its points changed ({was_points:g} -> {now:g}) after you graded "
            f"it by hand ({typed:g}, kept): grade it again")


def _merge_notebook(nb: Any, saved: dict[str, Any], hold: Hold,
                    was_points: dict[str, float]) -> list[str]:
    grades = saved.get("grades", {})
    notes = []
    for grade in nb.grades:
        was_auto = grade.auto_score
        if grade.name in grades:
            score = grades[grade.name][0]
            grade.auto_score = 0.0 if hold is Hold.WITHHOLD and score is not None else score
        if grade.manual_score is None:  # a hand-given score stands, and so does its flag
            grade.needs_manual_grade = hold is not Hold.NONE or grade.auto_score is None
        else:
            notes.append(_rescale(grade, was_auto, was_points.get(grade.name)))
    comments = saved.get("comments", {})
    for comment in nb.comments:
        if comment.name in comments:
            comment.auto_comment = comments[comment.name]
    nb.late_submission_penalty = saved.get("late_penalty")
    if hold is not Hold.NONE:
        nb.flagged = True
    return [note for note in notes if note]


def merge_scores(db_url: str, assignment: str, student: str, scores: dict[str, Any],
                 hold: Hold, was_points: dict[str, float] | None = None) -> list[str]:
    """Write a worker's results for one student into the main gradebook.

    Manual scores already in the gradebook are kept, as nbgrader's own
    autograde keeps them, and an item graded by hand keeps its "needs manual
    grade" flag as it is (:func:`reopen` sets it for a changed resubmission).
    ``Hold.REVIEW`` marks every other item "needs manual grade" and flags the
    notebook, so the formgrader shows it to a human; ``Hold.WITHHOLD`` also sets
    the autograder's scores to zero until a human grades the items.
    ``was_points`` (each item's points when the student was last graded): a hand
    score on an item whose points changed since follows the autograder if it
    was the autograder's score, or is marked for grading again; the returned
    notes say which.
    """
    stamp = {"timestamp": scores["timestamp"]} if scores.get("timestamp") else {}
    notes = []
    with gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student, **stamp)
        for nb in submission.notebooks:
            notes += _merge_notebook(nb, scores.get("notebooks", {}).get(nb.name, {}), hold,
                                     was_points or {})
        gb.db.commit()
    return notes


def auto_points(scores: dict[str, Any]) -> float:
    """Return the points the autograder gave in a worker's results."""
    return sum(grade[0] or 0.0 for nb in scores.get("notebooks", {}).values()
               for grade in nb.get("grades", {}).values())


def hold_for_review(db_url: str, assignment: str, student: str) -> None:
    """Mark a submission that could not be graded: kept, unscored, needs a human.

    Earlier scores of the same student are kept (nothing is lost); a new
    submission gets no score, as nbgrader leaves one whose kernel died.
    """
    with gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                grade.needs_manual_grade = grade.needs_manual_grade or grade.manual_score is None
            nb.flagged = True
        gb.db.commit()


def reopen(db_url: str, assignment: str, student: str, grade_ids: list[str]) -> None:
    """Mark these hand-graded items "needs manual grade" again, keeping their scores."""
    with gradebook(db_url) as gb:
        submission = gb.find_submission(assignment, student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                if grade.name in grade_ids:
                    grade.needs_manual_grade = True
        gb.db.commit()


def manual_scores(db_url: str, assignment: str, student: str) -> dict[str, float]:
    """Return the items of a submission that carry a hand-given score."""
    with gradebook(db_url) as gb:
        submission = find_submission(gb, assignment, student)
        if submission is None:
            return {}
        return {g.name: g.manual_score for nb in submission.notebooks for g in nb.grades
                if g.manual_score is not None}


@dataclass
class Standing:
    """A student's submission as the gradebook has it."""

    submitted: bool
    score: float | None = None
    max_score: float | None = None
    needs_manual_grade: bool = False
    timestamp: str = ""
    by_hand: list[str] = field(default_factory=list)
    points: dict[str, float] = field(default_factory=dict)
    hand_graded: list[str] = field(default_factory=list)
    held: bool = False  # a grading run held it for review (its notebook is flagged)


def assignment_points(db_url: str, assignment: str) -> dict[str, float]:
    """Return each graded item's points as the gradebook has them now."""
    with gradebook(db_url) as gb:
        return _points(gb.find_assignment(assignment))


def _points(assignment: Any) -> dict[str, float]:
    return {cell.name: cell.max_score for nb in assignment.notebooks for cell in nb.grade_cells}


def _standing(gb: Any, assignment: str, student: str) -> Standing:
    submission = find_submission(gb, assignment, student)
    if submission is None:
        found = gb.find_assignment(assignment)
        return Standing(False, None, found.max_score, points=_points(found))
    stamp = submission.timestamp.isoformat() if submission.timestamp else ""
    grades = [g for nb in submission.notebooks for g in nb.grades]
    scored = any(g.auto_score is not None or g.manual_score is not None for g in grades)
    by_hand = [g.name for g in grades if g.needs_manual_grade and g.auto_score is None
               and g.cell.cell_type == "markdown"]
    hand_graded = [g.name for g in grades if g.manual_score is not None]
    return Standing(True, submission.score if scored else None, submission.max_score,
                    bool(submission.needs_manual_grade), stamp, by_hand,
                    _points(submission.assignment), hand_graded,
                    any(nb.flagged for nb in submission.notebooks))


def standing(db_url: str, assignment: str, student: str) -> Standing:
    """Return the gradebook's score for ``student`` on ``assignment``."""
    return standings(db_url, assignment, [student])[student]


def standings(db_url: str, assignment: str, students: list[str]) -> dict[str, Standing]:
    """Return the gradebook's score for each of ``students``, read in one session."""
    from nbgrader.api import MissingEntry

    with gradebook(db_url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry as error:
            raise GradingError(f"the gradebook has no assignment {assignment!r} yet: grade it "
                               f"first with `python -m course grade {assignment} ...`.") from error
        return {student: _standing(gb, assignment, student) for student in students}


def students(db_url: str) -> list[Student]:
    """Return every student in the gradebook."""
    with gradebook(db_url) as gb:
        return [Student(s.id, s.first_name, s.last_name, s.email) for s in gb.students]
