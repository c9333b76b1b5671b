"""What happened to each student: reasons for review, grades.csv, the summary table."""

from __future__ import annotations

import csv
import io
import re
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from course.grading.records.gradebook import Standing
from course.grading.results.csvsafe import inert_rows
from course.notebook import error_outputs, grade_id, read
from course.outcomes import KERNEL_ERRORS, MEMORY_LIMIT_HIT

GRADED, BY_HAND, REVIEW, MISSING = "graded", "grade by hand", "needs review", "missing"
NOT_GRADED = "not graded"
STATUSES = (GRADED, BY_HAND, REVIEW, MISSING, NOT_GRADED)
COLUMNS = ["student_id", "first_name", "last_name", "email", "assignment", "status", "final",
           "score", "max_score", "timestamp", "reasons"]
#: Reasons that say what the gradebook shows now; worked out again at every report.
DERIVED = ("written answers for the formgrader: ", "items marked for manual grading",
           "no notebook submitted", "not on the roster", "reviewed by hand",
           "graded when the points were different", "held for review by an earlier grading run")
BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}


@dataclass
class Outcome:
    """One student's result in this run, or their standing in the gradebook."""

    student: str
    status: str = GRADED
    reasons: list[str] = field(default_factory=list)
    score: float | None = None
    max_score: float | None = None
    timestamp: str = ""

    def review(self, reason: str) -> None:
        """Hold the submission for a human, saying why."""
        self.status = REVIEW
        if reason not in self.reasons:
            self.reasons.append(reason)


def escape(text: str) -> str:
    """Return ``text`` with control and direction characters written as visible escapes.

    A file name or message can carry a terminal escape, a carriage return or a
    right-to-left override that would hide or rewrite what the instructor reads.
    """
    def visible(char: str) -> str:
        if unicodedata.category(char) == "Cc" or ord(char) in BIDI:
            return repr(char)[1:-1] if ord(char) < 0x100 else f"\\u{ord(char):04x}"
        return char

    return "".join(visible(c) for c in str(text))


def _cell_name(cell: Any, index: int) -> str:
    name = grade_id(cell)
    return f"{index + 1} ({name})" if name else str(index + 1)


def kernel_problems(autograded: Path, timeout: int | None) -> list[str]:
    """Return time-outs, dead kernels, memory errors and ungradable tests of a notebook."""
    problems = []
    for path in sorted(autograded.glob("*.ipynb")):
        nb = read(path)
        setup = nb.metadata.get("course", {}).get("setup_error", "")
        if setup:
            problems.append(f"the notebook's setup failed ({setup}): its score is not a grade "
                            "until you have looked (if the course cannot run here, fix the "
                            "environment and grade again)")
        full = nb.metadata.get("course", {}).get("disk_full")
        if isinstance(full, dict):
            problems.append(f"cell {full.get('cell')} wrote more than the submission's disk "
                            f"limit ({full.get('limit_mb')} MB per folder) and failed: No space "
                            "left on device")
        kills = nb.metadata.get("course", {}).get("memory_limit_kills", 0)
        if kills:
            problems.append(f"the submission went over its memory limit: {kills} of its "
                            "processes were stopped")
        elif nb.metadata.get("course", {}).get("memory_limit_hits", 0):
            problems.append("the submission reached its memory limit (all its processes "
                            "together); what failed after it was slowed or stopped by that")
        for index, cell in enumerate(nb.cells):
            for output in error_outputs(cell):
                template = KERNEL_ERRORS.get(output.get("ename", ""))
                if template:
                    problems.append(template.format(cell=_cell_name(cell, index),
                                                    timeout=timeout or "?",
                                                    evalue=output.get("evalue", "")))
    return list(dict.fromkeys(problems))


def setup_error(autograded: Path) -> str:
    """Return how the course's setup failed in a graded notebook ("" if it ran)."""
    for path in sorted(autograded.glob("*.ipynb")):
        found = read(path).metadata.get("course", {}).get("setup_error")
        if found:
            return str(found)
    return ""


def failure_reason(result: dict[str, Any]) -> str:
    """Explain why nbgrader could not grade a submission, from its log and traceback."""
    text = f"{result.get('log', '')}\n{result.get('error', '')}"
    reason = _failure(text)
    if MEMORY_LIMIT_HIT in text:  # the cause, whatever failed after it
        return f"{MEMORY_LIMIT_HIT} (all its processes together): {reason}"
    return reason


def _failure(text: str) -> str:
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the kernel died (a crash, or it ran out of memory); the items are ungraded"
    if "UnresponsiveKernelError" in text or "became unresponsive" in text:
        return "the kernel stopped responding and could not be interrupted"
    if "Timeout waiting for IOPub output" in text:
        return ("the kernel stopped answering as a kernel should (a cell's output never "
                "ended); the items are ungraded")
    found = re.findall(r"^\s*(\w+(?:\.\w+)*(?:Error|Exception)): (.+)$", text, re.M)
    detail = f"{found[-1][0]}: {found[-1][1][:160]}" if found else "see the grading log"
    return f"nbgrader could not grade it ({detail})"


def is_final(outcome: Outcome) -> bool:
    """Return True if the grade will not change without a new submission: graded and settled."""
    return outcome.status == GRADED


def outcome_row(outcome: Outcome, assignment: str, info: Any) -> dict[str, Any]:
    """Return the grades.csv row for one student (texts escaped, see :func:`escape`)."""
    return {
        "student_id": escape(outcome.student),
        "first_name": escape(getattr(info, "first_name", None) or ""),
        "last_name": escape(getattr(info, "last_name", None) or ""),
        "email": escape(getattr(info, "email", None) or ""),
        "assignment": assignment,
        "status": outcome.status,
        "final": "yes" if is_final(outcome) else "no",
        "score": "" if outcome.score is None else f"{outcome.score:g}",
        "max_score": "" if outcome.max_score is None else f"{outcome.max_score:g}",
        "timestamp": outcome.timestamp,
        "reasons": escape("; ".join(outcome.reasons)),
    }


def run_reasons(reasons: list[str]) -> list[str]:
    """Return the reasons a grading run found (not those read from the gradebook)."""
    return [r for r in reasons if not r.startswith(DERIVED)]


def _changed_points(was: dict[str, float], now: dict[str, float]) -> str:
    changed = [f"{item} {was.get(item, 0):g} -> {now.get(item, 0):g}"
               for item in sorted(set(was) | set(now)) if was.get(item) != now.get(item)]
    return ", ".join(changed)


def settle(outcome: Outcome, standing: Standing, points: dict[str, float] | None = None,
           recorded: bool = True) -> Outcome:
    """Fill in the score and status from the gradebook; a student with no submission is missing.

    ``outcome`` holds what the grading run found (``needs review`` and reasons,
    or ``graded``); the gradebook says what a human has done since: a held
    submission whose every item has been graded by hand is ``graded`` (reviewed),
    an ungraded memo is ``grade by hand``. ``points`` (each item's points when
    the student was graded) tells a score on an old scale. Without a record of
    the run that graded it (``recorded`` False: that run was stopped first), a
    submission the gradebook shows held for review stays ``needs review``: a
    re-grade of other learners never turns it into ``grade by hand``.
    """
    outcome.max_score = standing.max_score
    if not standing.submitted:
        outcome.status = MISSING
        outcome.reasons = outcome.reasons or ["no notebook submitted"]
        return outcome
    outcome.score, outcome.timestamp = standing.score, standing.timestamp
    if not recorded and standing.held and standing.needs_manual_grade:
        outcome.review("held for review by an earlier grading run (its reasons are in "
                       "grades-history/): grade the held items by hand, or grade it again")
        return outcome
    changed = _changed_points(points or {}, standing.points) if points else ""
    if changed:
        outcome.review(f"graded when the points were different ({changed}): grade it again")
    elif outcome.status == REVIEW and not standing.needs_manual_grade:
        outcome.status = GRADED
        outcome.reasons.append("reviewed by hand: every held item has a score")
    elif outcome.status == GRADED and standing.by_hand:
        outcome.status = BY_HAND
        outcome.reasons.append(f"written answers for the formgrader: "
                               f"{', '.join(standing.by_hand)}")
    elif outcome.status == GRADED and standing.needs_manual_grade:
        outcome.review("items marked for manual grading in the gradebook")
    return outcome


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Return grades.csv's text: one row per student, nbgrader-like columns plus status.

    Cells a spreadsheet would run as formulas are neutralised
    (:mod:`course.grading.results.csvsafe`).
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(inert_rows(rows))
    return buffer.getvalue()


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write grades.csv atomically (see :func:`csv_text`)."""
    from course.grading.records.ledger import write_atomic

    write_atomic(path, csv_text(rows))


def summary(outcomes: list[Outcome], out: TextIO | None = None,
            skipped: list[tuple[str, str]] | None = None) -> None:
    """Print a table (student, status, score, reasons), the skipped files, then the counts."""
    out = out or sys.stdout
    names = [escape(o.student) for o in outcomes]
    width = max([len("student"), *(len(n) for n in names)])
    out.write(f"\n{'student':<{width}}  {'status':<13}  {'score':>9}  reasons\n")
    out.write(f"{'-' * width}  {'-' * 13}  {'-' * 9}  {'-' * 7}\n")
    for name, o in zip(names, outcomes, strict=True):
        score = "" if o.score is None else f"{o.score:g}/{o.max_score:g}"
        out.write(f"{name:<{width}}  {o.status:<13}  {score:>9}  "
                  f"{escape('; '.join(o.reasons))}\n")
    for name, why in skipped or []:
        out.write(f"skipped {escape(name)}: {escape(why)}\n")
    strays = [o for o in outcomes if o.status == NOT_GRADED]
    if strays:
        out.write(f"\n!! {len(strays)} notebook(s) NOT GRADED because of their student id: "
                  + ", ".join(escape(o.student) for o in strays) + " (see reasons above)\n")
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    final = sum(is_final(o) for o in outcomes)
    graded = len(outcomes) - len(strays)  # a notebook not graded is nobody's grade yet
    out.write(", ".join(f"{n} {status}" for status, n in counts.items()
                        if n or status in (GRADED, REVIEW, MISSING))
              + f"; {final} of {graded} final"
              + (f" (the {len(strays)} not graded are not counted)" if strays else "") + "\n")


class ProgressBar:
    """A one-line progress bar on a terminal; one line per student otherwise."""

    def __init__(self, total: int, label: str, out: TextIO | None = None) -> None:
        self.total, self.label, self.out = total, label, out or sys.stderr
        self.done, self.began = 0, time.perf_counter()
        self.live = self.out.isatty() if hasattr(self.out, "isatty") else False

    def step(self, student: str, status: str) -> None:
        """Record one more student graded."""
        self.done += 1
        elapsed = time.perf_counter() - self.began
        filled = int(30 * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (30 - filled)
        line = (f"{self.label} [{bar}] {self.done}/{self.total}  {elapsed:5.0f} s  "
                f"{student}: {status}")
        if self.live:
            self.out.write("\r" + line[:110].ljust(110))
            if self.done == self.total:
                self.out.write("\n")
        else:
            self.out.write(line + "\n")
        self.out.flush()
