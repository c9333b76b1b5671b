"""What happened to each student: reasons for review, grades.csv, the summary table."""

from __future__ import annotations

import csv
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import nbformat

from course.grading.gradebook import Standing

GRADED, BY_HAND, REVIEW, MISSING = "graded", "grade by hand", "needs review", "missing"
COLUMNS = ["student_id", "first_name", "last_name", "email", "assignment", "status", "score",
           "max_score", "timestamp", "reasons"]
KERNEL_ERRORS = {
    "CellTimeoutError": "cell {cell} ran longer than the {timeout} s limit and was stopped",
    "DeadKernelError": "the kernel died in cell {cell}",
    "MemoryError": "cell {cell} ran out of memory (the kernel's limit)",
    "GradingError": "the grader could not judge test {cell}: {evalue}",
    "KernelError": "test {cell} was not graded: {evalue}",
    "SubmissionTimeout": "the submission's time limit ran out at cell {cell}; later cells "
                         "were not run",
}


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


def _cell_name(cell: Any, index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"{index + 1} ({grade_id})" if grade_id else str(index + 1)


def kernel_problems(autograded: Path, timeout: int | None) -> list[str]:
    """Return time-outs, dead kernels, memory errors and ungradable tests of a notebook."""
    problems = []
    for path in sorted(autograded.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        kills = nb.metadata.get("course", {}).get("memory_limit_kills", 0)
        if kills:
            problems.append(f"the submission went over its memory limit: {kills} of its "
                            "processes were stopped")
        for index, cell in enumerate(nb.cells):
            for output in cell.get("outputs", []):
                template = KERNEL_ERRORS.get(output.get("ename", ""))
                if output.get("output_type") == "error" and template:
                    problems.append(template.format(cell=_cell_name(cell, index),
                                                    timeout=timeout or "?",
                                                    evalue=output.get("evalue", "")))
    return list(dict.fromkeys(problems))


def failure_reason(result: dict[str, Any]) -> str:
    """Explain why nbgrader could not grade a submission, from its log and traceback."""
    text = f"{result.get('log', '')}\n{result.get('error', '')}"
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the kernel died (a crash, or it ran out of memory); the items are ungraded"
    if "UnresponsiveKernelError" in text or "became unresponsive" in text:
        return "the kernel stopped responding and could not be interrupted"
    found = re.findall(r"^\s*(\w+(?:\.\w+)*(?:Error|Exception)): (.+)$", text, re.M)
    detail = f"{found[-1][0]}: {found[-1][1][:160]}" if found else "see the grading log"
    return f"nbgrader could not grade it ({detail})"


def outcome_row(outcome: Outcome, assignment: str, info: Any) -> dict[str, Any]:
    """Return the grades.csv row for one student."""
    return {
        "student_id": outcome.student,
        "first_name": getattr(info, "first_name", None) or "",
        "last_name": getattr(info, "last_name", None) or "",
        "email": getattr(info, "email", None) or "",
        "assignment": assignment,
        "status": outcome.status,
        "score": "" if outcome.score is None else f"{outcome.score:g}",
        "max_score": "" if outcome.max_score is None else f"{outcome.max_score:g}",
        "timestamp": outcome.timestamp,
        "reasons": "; ".join(outcome.reasons),
    }


def settle(outcome: Outcome, standing: Standing) -> Outcome:
    """Fill in the score from the gradebook; a student with no submission is missing."""
    outcome.max_score = standing.max_score
    if not standing.submitted:
        outcome.status = MISSING
        outcome.reasons = outcome.reasons or ["no notebook submitted"]
        return outcome
    outcome.score, outcome.timestamp = standing.score, standing.timestamp
    if standing.needs_manual_grade and outcome.status == GRADED:
        if standing.by_hand:
            outcome.status = BY_HAND
            outcome.reasons.append(f"written answers for the formgrader: "
                                   f"{', '.join(standing.by_hand)}")
        else:
            outcome.review("items marked for manual grading in the gradebook")
    return outcome


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write grades.csv: one row per student, nbgrader-like columns plus status and reasons."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def summary(outcomes: list[Outcome], out: TextIO | None = None) -> None:
    """Print a table: student, status, score, reasons; then the counts."""
    out = out or sys.stdout
    width = max([len("student"), *(len(o.student) for o in outcomes)])
    out.write(f"\n{'student':<{width}}  {'status':<13}  {'score':>9}  reasons\n")
    out.write(f"{'-' * width}  {'-' * 13}  {'-' * 9}  {'-' * 7}\n")
    for o in outcomes:
        score = "" if o.score is None else f"{o.score:g}/{o.max_score:g}"
        out.write(f"{o.student:<{width}}  {o.status:<13}  {score:>9}  {'; '.join(o.reasons)}\n")
    counts = {status: sum(o.status == status for o in outcomes)
              for status in (GRADED, BY_HAND, REVIEW, MISSING)}
    out.write(", ".join(f"{n} {status}" for status, n in counts.items() if n or status != BY_HAND)
              + "\n")


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
