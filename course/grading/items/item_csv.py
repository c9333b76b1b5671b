"""The item report as CSV files, for a spreadsheet or another tool.

``items.csv`` has one row per exercise, ``answers.csv`` one row per answer
given to an exercise, and ``learners.csv`` (only with ``--names``) one row per
learner with their id.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from course.grading.items.item_analysis import Analysis, ItemStats
from course.grading.judging.verdicts import BLANK, INVALID, MISTAKE, WRONG
from course.grading.results.csvsafe import inert_rows
from course.outcomes import INSTRUCTOR_WORDS

ITEM_COLUMNS = ["exercise", "grade_id", "points", "learners", "mean_score", "share_correct",
                "level", "discrimination", "share_not_attempted", "share_named_mistake",
                "share_unrecognised", "share_invalid", "top_mistake", "top_mistake_learners",
                "flags"]
ANSWER_COLUMNS = ["exercise", "outcome", "answer", "learners", "share", "mean_rest_score"]
OUTCOMES = INSTRUCTOR_WORDS


def number(value: float | None, digits: int = 3) -> str:
    """Format a figure with ``digits`` decimals; an empty cell for None (not defined)."""
    return "" if value is None else f"{value:.{digits}f}"


def item_row(stats: ItemStats) -> dict[str, Any]:
    """Return the items.csv row of one exercise."""
    mistakes = [a for a in stats.answers if a.status == MISTAKE and a.learners]
    top = max(mistakes, key=lambda a: a.learners, default=None)
    return {
        "exercise": stats.item.exercise, "grade_id": stats.item.grade_id,
        "points": f"{stats.item.points:g}", "learners": stats.learners,
        "mean_score": number(stats.mean_score), "share_correct": number(stats.share_correct),
        "level": stats.level, "discrimination": number(stats.discrimination),
        "share_not_attempted": number(stats.share(BLANK)),
        "share_named_mistake": number(stats.share(MISTAKE)),
        "share_unrecognised": number(stats.share(WRONG)),
        "share_invalid": number(stats.share(INVALID)),
        "top_mistake": top.label if top else "", "top_mistake_learners": top.learners if top else 0,
        "flags": "; ".join(stats.flags),
    }


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Write one CSV file; answers and ids that start like a formula are made inert."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(inert_rows(rows))


def write_csvs(analysis: Analysis, folder: Path, names: bool) -> None:
    """Write items.csv and answers.csv (and learners.csv with ``names``)."""
    enough = analysis.enough
    items = [item_row(s) if enough else {"exercise": s.item.exercise, "grade_id": s.item.grade_id,
                                         "points": f"{s.item.points:g}"}
             for s in analysis.items]
    _write_csv(folder / "items.csv", ITEM_COLUMNS, items)
    answers = [{"exercise": s.item.exercise, "outcome": OUTCOMES[a.status],
                "answer": a.label, "learners": a.learners, "share": number(a.share),
                "mean_rest_score": number(a.rest_mean)}
               for s in analysis.items for a in s.answers] if enough else []
    _write_csv(folder / "answers.csv", ANSWER_COLUMNS, answers)
    learners = folder / "learners.csv"
    if names:
        _write_csv(learners, ["student_id", "total", *[s.item.exercise for s in analysis.items]],
                   _learner_rows(analysis))
    elif learners.exists():
        learners.unlink()  # an earlier run with --names: ids must not outlive the option


def _learner_rows(analysis: Analysis) -> list[dict[str, Any]]:
    return [{"student_id": learner.student, "total": f"{learner.total:g}",
             **{s.item.exercise: learner.responses[s.item.exercise].verdict.status
                for s in analysis.items}}
            for learner in analysis.cohort.learners]
