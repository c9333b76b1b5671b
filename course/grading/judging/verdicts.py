"""What one autograded test cell says about its exercise: right, a named mistake, and so on.

The grader writes its verdict into each autograded test cell's metadata::

    cell.metadata["course"]["verdict"] = {
        "exercise": "precision",             # the answer's variable name
        "status": "right" | "mistake" | "wrong" | "invalid" | "blank",
        "says": "...",                       # the message; for a mistake, the spec's says text
        "key": "0.512",                      # the answer's normalised key, or null
    }

Notebooks autograded before the grader wrote verdicts have only the check's
output; :func:`verdict_of` reads that instead: ``NotAttempted`` is a blank, a
``CheckFailed`` "`NAME` is not right: SAYS" a named mistake, "`NAME` is not right
yet" an unknown wrong answer, any other ``CheckFailed`` an invalid value.
"""

from __future__ import annotations

import re
from typing import Any

from nbformat import NotebookNode

from course import checks
from course.errors import InstructorError
from course.notebook import error_outputs, exercise_of, grade_id  # noqa: F401
from course.outcomes import (  # noqa: F401 (the grading side's vocabulary, re-exported)
    BLANK,
    INVALID,
    KERNEL_ERRORS,
    MISTAKE,
    RIGHT,
    STATUSES,
    TIMEOUTS,
    UNGRADED,
    WRONG,
    Verdict,
    plain,
)

MARKS = "✘… \t\n"


def from_metadata(cell: NotebookNode, where: str) -> Verdict | None:
    """Return the verdict the grader wrote into the cell's metadata, or None if there is none."""
    raw = cell.get("metadata", {}).get("course", {}).get("verdict")
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("status") not in STATUSES:
        raise InstructorError(
            f"{where}: the verdict in test cell {grade_id(cell)!r} is not one the report "
            f"understands (status should be one of {', '.join(STATUSES)}); got {raw!r}. "
            "Grade the assignment again with `python -m course grade`.")
    key = raw.get("key")
    return Verdict(str(raw.get("exercise") or exercise_of(cell)), raw["status"],
                   checks.plain(str(raw.get("says") or "")), None if key is None else str(key))


def _message(output: dict[str, Any]) -> str:
    return plain(output.get("evalue", "")).strip()


def _judge_failure(name: str, ename: str, message: str) -> Verdict:
    text = message.lstrip(MARKS)
    if ename == "NotAttempted":
        return Verdict(name, BLANK, text)
    if ename != "CheckFailed":
        return Verdict(name, INVALID, f"{ename}: {text}" if text else ename)
    named = f"`{name}` is not right: "
    if text.startswith(named):
        return Verdict(name, MISTAKE, text[len(named):].strip())
    if text.startswith(f"`{name}` is not right"):
        return Verdict(name, WRONG, text)
    return Verdict(name, INVALID, text)


def from_outputs(cell: NotebookNode) -> Verdict:
    """Read the verdict from the check's output (notebooks graded before verdicts existed)."""
    name = exercise_of(cell)
    errors = error_outputs(cell)
    if errors:
        ename = str(errors[0].get("ename", ""))
        if ename in KERNEL_ERRORS:
            return Verdict(name, UNGRADED, _message(errors[0]))
        return _judge_failure(name, ename, _message(errors[0]))
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return Verdict(name, UNGRADED, "the test cell did not run")
    return Verdict(name, RIGHT)


def verdict_of(cell: NotebookNode, where: str = "notebook") -> tuple[Verdict, bool]:
    """Return a test cell's verdict and whether it came from the grader's metadata."""
    written = from_metadata(cell, where)
    if written is not None:
        return written, True
    return from_outputs(cell), False


def invalid_reason(message: str) -> str:
    """Group invalid answers by what was wrong with them, without the value given.

    "`p` should be a share between 0 and 1; you gave 59.7, which looks like a
    percentage. ..." becomes "`p` should be a share between 0 and 1 (a percentage?)".
    """
    text = message.lstrip(MARKS)
    first = re.split(r";|\byou gave\b", text, maxsplit=1)[0].strip().rstrip(".,:")
    if "looks like a percentage" in message:
        return f"{first} (a percentage?)"
    if "a count?" in message:
        return f"{first} (a count?)"
    return first
