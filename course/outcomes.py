"""The course's words for what happened to one exercise, written once.

A learner's ``progress``, the grader's judge, the cohort's item report and the
tests all speak of an answer in these terms:

=============  ==========================================================
``right``      the answer passes (a ✔; in grading, the points are earned)
``mistake``    wrong, and it is one of the spec's named mistakes
``wrong``      wrong, and not a mistake the course has a name for
``invalid``    not a value of the right kind (a percentage for a share...)
``blank``      not answered: the placeholder ``None`` is still there
``ungraded``   no verdict: the check did not run (a time-out, a dead
               kernel, a stop) or left no trace
=============  ==========================================================

"Not graded" is not one of them: it is the status of a *submission* the grader
refused (its id is not on the roster), in ``grades.csv``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RIGHT, MISTAKE, WRONG, INVALID, BLANK = "right", "mistake", "wrong", "invalid", "blank"
#: The statuses the grader writes, in the order the report shows them.
STATUSES = (RIGHT, MISTAKE, WRONG, INVALID, BLANK)
#: No verdict: the cell did not run (a time-out, a dead kernel) or left no trace.
UNGRADED = "ungraded"

#: How a learner's own run reads (``progress``): the visible check cannot tell a
#: named mistake from another wrong answer, so both are "not right yet".
LEARNER_WORDS = {RIGHT: "passed", WRONG: "not right yet", BLANK: "not attempted",
                 UNGRADED: "not run"}
#: How the item report names each status for an instructor.
INSTRUCTOR_WORDS = {RIGHT: "right", MISTAKE: "named mistake", WRONG: "unrecognised answer",
                    INVALID: "invalid value", BLANK: "not attempted", UNGRADED: "did not run"}

#: Errors that stop a cell before its check could judge the answer, and what each
#: means for the instructor ({cell}: the cell's number and grade id; {timeout}: the
#: per-cell limit; {evalue}: the error's message).
KERNEL_ERRORS = {
    "CellTimeoutError": "cell {cell} ran longer than the {timeout} s limit and was stopped",
    "DeadKernelError": "the kernel died in cell {cell}",
    "MemoryError": "cell {cell} ran out of memory (the kernel's limit)",
    "GradingError": "the grader could not judge test {cell}: {evalue}",
    "KernelError": "test {cell} was not graded: {evalue}",
    "SubmissionTimeout": "the submission's time limit ran out at cell {cell}; later cells "
                         "were not run",
    "NotRun": "cell {cell} was not run: {evalue}",
}
#: What the grading log says when a submission that could not be graded had reached its
#: memory limit (the report reads it back as the cause).
MEMORY_LIMIT_HIT = "the submission reached its memory limit"
#: Errors that say a cell was stopped by a time limit.
TIMEOUTS = frozenset({"CellTimeoutError", "SubmissionTimeout"})

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def plain(text: object) -> str:
    """Return ``text`` without the terminal colour codes a check's message carries."""
    return ANSI.sub("", str(text))


@dataclass(frozen=True)
class Verdict:
    """What the grader concluded about one learner's answer to one exercise."""

    exercise: str
    status: str
    says: str = ""
    key: str | None = None
