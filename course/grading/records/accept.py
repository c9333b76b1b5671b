"""``python -m course accept``: take the autograder's scores for a reviewed submission.

A submission held for review (a time-out, a duplicate, a deleted test cell)
has every item marked "needs manual grade". After looking at it (formgrader:
Manage Submissions → the assignment → the student's notebook), the instructor
usually agrees with the autograder on most items. This gives each autograded
item the autograder's score as the hand score, item by item: an item where the
instructor already typed another score keeps it unless named, and an item the
autograder never ran, or a written answer, is left for the formgrader. The
hand score equals the autograder's, so a later change of the item's points
moves it with the autograder (see :func:`course.grading.records.gradebook.merge_scores`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.grading.coursedir import GradingError
from course.grading.records import gradebook, ledger

WITHHELD = "points withheld until reviewed"


@dataclass
class Accepted:
    """What ``accept`` did to each item, and why the submission was held."""

    reasons: list[str] = field(default_factory=list)
    accepted: dict[str, float] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)


def hold_reasons(root: Path, assignment: str, student: str) -> list[str]:
    """Return the reasons the last grading run held ``student`` for (from the ledger)."""
    record = ledger.load(root / "grades.csv", assignment).get(student)
    return list(record.reasons) if record else []


def _decide(grade: Any, named: set[str], done: Accepted) -> None:
    """Accept one item's autograder score, or say why it is left alone."""
    auto, typed = grade.auto_score, grade.manual_score
    if grade.cell_type != "code":
        if typed is None:
            done.kept[grade.name] = "a written answer: give it a score in the formgrader"
        return
    if auto is None:
        done.kept[grade.name] = "the autograder did not score it: give a score in the formgrader"
    elif typed is not None and typed != auto and grade.name not in named:
        done.kept[grade.name] = (f"kept your score {typed:g} (the autograder gave {auto:g}); "
                                 "name the item to take the autograder's")
    else:
        grade.manual_score = auto
        grade.needs_manual_grade = False
        done.accepted[grade.name] = auto


def accept(root: Path, db_url: str, assignment: str, student: str,
           items: list[str] | None = None) -> Accepted:
    """Give the autograded items of ``student``'s submission the autograder's scores.

    ``items``: only these grade ids (and these even where a hand score differs).
    Refused when the autograder's points were withheld (suspicious code): they
    are zero in the gradebook, so there is nothing to accept.
    """
    done = Accepted(hold_reasons(root, assignment, student))
    if any(r.startswith(WITHHELD) for r in done.reasons):
        raise GradingError(f"{student}'s points were withheld for suspicious code: grade "
                           "each item in the formgrader after reading the notebook.")
    with gradebook.gradebook(db_url) as gb:
        submission = gradebook.find_submission(gb, assignment, student)
        if submission is None:
            raise GradingError(f"{student} has no graded submission of {assignment}.")
        grades = [g for nb in submission.notebooks for g in nb.grades]
        unknown = sorted(set(items or []) - {g.name for g in grades})
        if unknown:
            raise GradingError(f"no item {', '.join(unknown)} in {assignment}; its items are "
                               f"{', '.join(g.name for g in grades)}.")
        for grade in grades:
            if items is None or grade.name in items:
                _decide(grade, set(items or []), done)
        gb.db.commit()
    return done


def describe(done: Accepted, assignment: str, student: str) -> str:
    """Return what ``accept`` printed: the hold's reasons, then each item."""
    lines = [f"{student} was held for: " + ("; ".join(done.reasons) or "no recorded reason")]
    lines += [f"  {name}: accepted the autograder's {score:g}"
              for name, score in done.accepted.items()]
    lines += [f"  {name}: {why}" for name, why in done.kept.items()]
    lines.append(f"then: python -m course feedback {assignment} {student}; "
                 f"python -m course export {assignment}")
    return "\n".join(lines)
