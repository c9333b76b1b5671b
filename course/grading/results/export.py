"""``python -m course export``: final grades from the gradebook, with a status per row.

``nbgrader export`` prints every score as a plain number, final or not. This
writes the same students with ``status`` and ``final`` columns: ``final`` is
``yes`` only for a graded submission with nothing left to do (no review, no
ungraded memo, no missing notebook), and ``reasons`` says what is left.
"""

from __future__ import annotations

from pathlib import Path

from course.grading.coursedir import (
    GradingError,
    check_assignment,
    course_root,
    load_config,
    put_venv_on_path,
)
from course.grading.grade import outcomes_now
from course.grading.intake.roster import read_roster
from course.grading.records import gradebook, ledger
from course.grading.results import report


def export(assignment: str, course_dir: Path, to: Path | None = None,
           roster: Path | None = None, grades: Path | None = None) -> list[report.Outcome]:
    """Write ``to`` (default ``final_grades.csv``); return every student's outcome.

    ``roster`` limits and orders the rows (default: every gradebook student);
    ``grades`` is the report ``grade`` wrote, whose reasons are kept.
    """
    put_venv_on_path()
    root = course_root(course_dir)
    config = load_config(root)
    check_assignment(root, config, assignment)
    db_url = str(config.CourseDirectory.db_url)
    if not (root / "gradebook.db").is_file():
        raise GradingError(f"there is no gradebook in {root} yet: grade {assignment} first "
                           f"with `python -m course grade {assignment} ...`.")
    students = read_roster(roster) if roster else gradebook.students(db_url)
    records = ledger.load(grades or root / "grades.csv", assignment)
    on_roster = {s.id for s in students} if roster else set()
    outcomes = outcomes_now(db_url, assignment, students, records, on_roster)
    info = {s.id: s for s in students}
    target = to or root / "final_grades.csv"
    report.write_csv(target, [report.outcome_row(o, assignment, info[o.student])
                              for o in outcomes])
    report.summary(outcomes)
    unsettled = [o for o in outcomes if not report.is_final(o)]
    print(f"final grades written to {target}: {len(outcomes) - len(unsettled)} final, "
          f"{len(unsettled)} not final (status and reasons say why)")
    return outcomes
