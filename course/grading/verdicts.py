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
from dataclasses import dataclass
from typing import Any

from nbformat import NotebookNode

from course.errors import InstructorError
from course.notebook import error_outputs, grade_id, visible_part

RIGHT, MISTAKE, WRONG, INVALID, BLANK = "right", "mistake", "wrong", "invalid", "blank"
#: The statuses the grader writes, in the order the report shows them.
STATUSES = (RIGHT, MISTAKE, WRONG, INVALID, BLANK)
#: No verdict: the cell did not run (a time-out, a dead kernel) or left no trace.
UNGRADED = "ungraded"
#: Errors that stop a cell before its check could judge the answer.
KERNEL_ERRORS = frozenset({"CellTimeoutError", "SubmissionTimeout", "NotRun", "DeadKernelError",
                           "KernelError", "MemoryError", "GradingError", "GuardError"})
#: Errors that say a cell was stopped by a time limit.
TIMEOUTS = frozenset({"CellTimeoutError", "SubmissionTimeout"})

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CHECK_CALL = re.compile(r"""^\s*check\(\s*["']([^"']+)["']""", re.M)
MARKS = "✘… \t\n"


@dataclass(frozen=True)
class Verdict:
    """What the grader concluded about one learner's answer to one exercise."""

    exercise: str
    status: str
    says: str = ""
    key: str | None = None


def exercise_of(cell: NotebookNode) -> str:
    """Return the exercise a test cell checks: the name in its ``check("name", ...)`` line."""
    found = CHECK_CALL.search(visible_part(cell.get("source", "")))
    if found:
        return found.group(1)
    name = grade_id(cell) or ""
    return name.removesuffix("_test")


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
                   str(raw.get("says") or ""), None if key is None else str(key))


def _message(output: dict[str, Any]) -> str:
    return ANSI.sub("", str(output.get("evalue", ""))).strip()


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
