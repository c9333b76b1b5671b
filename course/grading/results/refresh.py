"""``python -m course feedback``: feedback files from the gradebook as it is now.

After hand-grading, the feedback written by ``grade`` still shows the memo
ungraded. This regenerates ``feedback/<student>/<assignment>/`` from the
autograded notebooks and the main gradebook (hand-given scores and comments
included) with nbgrader's ``generate_feedback``, configured as ``grade``
configures it: :class:`course.grading.results.feedback.HideHiddenTests` runs first, so
no hidden test reaches a learner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from course.grading.coursedir import GradingError, make_api, put_venv_on_path


@dataclass
class Refreshed:
    """Which students got new feedback, and which could not, with the reason."""

    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def autograded_students(root: Path, assignment: str) -> list[str]:
    """Return every student with an autograded notebook for ``assignment``."""
    return sorted(p.parent.name for p in (root / "autograded").glob(f"*/{assignment}")
                  if p.is_dir())


def refresh_feedback(root: Path, assignment: str, students: list[str] | None = None
                     ) -> Refreshed:
    """Write feedback for ``students`` (default: everyone autograded) from the gradebook."""
    from course.grading.run.settings import grading_config

    put_venv_on_path()
    known = autograded_students(root, assignment)
    wanted = known if students is None else students
    unknown = sorted(set(wanted) - set(known))
    if students is not None and unknown:
        raise GradingError(f"no autograded notebook for {', '.join(unknown)} in "
                           f"autograded/*/{assignment}: grade them first with "
                           f"`python -m course grade {assignment} ...`.")
    api = make_api(grading_config(root))
    done = Refreshed()
    for student in wanted:
        result = api.generate_feedback(assignment, student, force=True)
        if result.get("success"):
            done.written.append(student)
        else:
            lines = (result.get("error") or result.get("log") or "").strip().splitlines()
            done.failed[student] = lines[-1] if lines else "nbgrader gave no reason"
    return done


def ungraded(root: Path, assignment: str, students: list[str] | None = None
             ) -> dict[str, list[str]]:
    """Return, per student, the items still marked "needs manual grade" with no hand score.

    These are the memos not yet marked and the items of a held submission not
    yet reviewed: feedback written now would show them as 0 or provisional.
    """
    from course.grading.coursedir import load_config
    from course.grading.records.gradebook import find_submission, gradebook

    put_venv_on_path()  # nbgrader runs alembic on the gradebook
    wanted = autograded_students(root, assignment) if students is None else students
    found = {}
    with gradebook(str(load_config(root).CourseDirectory.db_url)) as gb:
        for student in wanted:
            submission = find_submission(gb, assignment, student)
            items = [g.name for nb in (submission.notebooks if submission else [])
                     for g in nb.grades if g.needs_manual_grade and g.manual_score is None]
            if items:
                found[student] = items
    return found


def ungraded_message(pending: dict[str, list[str]], assignment: str) -> str:
    """Say who still has items to grade by hand, and what to do."""
    who = "; ".join(f"{student} ({', '.join(items)})" for student, items in pending.items())
    return (f"{len(pending)} student(s) still have items to grade by hand: {who}. Their "
            "feedback would show those items as 0 or not final. Grade them in the formgrader "
            f"(or `python -m course accept {assignment} STUDENT` for a reviewed submission), "
            "name only the students who are done, or pass --allow-ungraded.")
