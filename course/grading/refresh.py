"""``python -m course feedback``: feedback files from the gradebook as it is now.

After hand-grading, the feedback written by ``grade`` still shows the memo
ungraded. This regenerates ``feedback/<student>/<assignment>/`` from the
autograded notebooks and the main gradebook (hand-given scores and comments
included) with nbgrader's ``generate_feedback``, configured as ``grade``
configures it: :class:`course.grading.feedback.HideHiddenTests` runs first, so
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
    from course.grading.settings import grading_config

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
