"""Self-assessed written answers: a self-paced learner's own marks for their memos.

Memos (and the other written answers) are graded by hand. A learner alone marks their
own against the mark scheme and model answer in ``solutions/<module>/<module>.ipynb``
and records the mark with ``python3 run.py progress --self-assess 03_metrics memo 4``.
Marks are kept in ``my-work/self-assessment.json``, never in a notebook, and
``progress`` shows them next to the autograded points.
"""

from __future__ import annotations

import json
from pathlib import Path

from course.errors import LearnerError

FILE = "self-assessment.json"


def store(course_dir: Path) -> Path:
    """Return the file that holds the learner's self-assessed marks."""
    from course.workspace import WORK_DIR

    return course_dir / WORK_DIR / FILE


def load(course_dir: Path) -> dict[str, dict[str, float]]:
    """Return ``{module: {grade_id: points}}`` (empty when nothing was recorded)."""
    path = store(course_dir)
    try:
        marks = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as error:
        raise LearnerError(f"{path} is not valid JSON ({error}); fix or delete it, then "
                           "record your marks again.") from error
    return marks if isinstance(marks, dict) else {}


def pick_item(module: str, item: str, written: dict[str, float]) -> str:
    """Turn ``memo`` or ``decision_memo`` into the grade id of one written answer."""
    matches = [g for g in written if g == item] or [g for g in written if item in g]
    if len(matches) != 1:
        known = ", ".join(written) or "none"
        raise LearnerError(f"{item!r} is not one written answer of {module}; its written "
                           f"answers are: {known}.")
    return matches[0]


def parse_points(given: str, most: float) -> float:
    """Return ``given`` as points between 0 and ``most``, or a clear error."""
    try:
        points = float(given)
    except ValueError:
        raise LearnerError(f"points should be a number, such as 4; you gave {given!r}.") from None
    if not 0 <= points <= most:
        raise LearnerError(f"points should be between 0 and {most:g}; you gave {given}.")
    return points


def record(course_dir: Path, module: str, grade_id: str, points: float) -> Path:
    """Save one self-assessed mark; return the file it is kept in."""
    marks = load(course_dir)
    marks.setdefault(module, {})[grade_id] = points
    path = store(course_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(marks, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path
