"""A re-grade of other learners never changes a row's status or reasons (issue 26, item 9).

After grading one unrelated notebook, "needs review" rows (the kernel died, the
grader could not grade it) turned into "grade by hand" with an empty score and
no reason for review. Two causes are covered: a reason holding a lone
surrogate (a student's exception message) made the ledger's write raise, so
the run stopped before it recorded the rest of the cohort; and a held
submission without a record of the run that held it was read from the
gradebook as an ordinary ungraded memo. No kernel runs here: the workers'
results are given, the gradebook and the ledger are the real ones.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import nbformat
import pytest
from nbtools import grading, make_course, read, solution_path

from course.grading import grade as grading_run
from course.grading.run import parallel
from course.grading.run.worker import WorkerResult

MODULE = "00_welcome"
FAILURES = {
    "b_crash": "nbclient.exceptions.DeadKernelError: Kernel died",
    "c_grader": "course.grading.coursedir.GradingError: could not read \udcff from the kernel",
}


def _add_memo(course: Path) -> None:
    """A hand-graded memo, so that an unscored submission has written answers to grade."""
    path = course / "solutions" / MODULE / f"{MODULE}.ipynb"
    nb = read(path)
    memo = copy.deepcopy(next(c for c in read(solution_path("01_paradigms")).cells
                              if grading(c).get("grade_id") == "decision_memo"))
    memo.id = "welcome-memo"
    nb.cells.insert(len(nb.cells) - 1, memo)
    nbformat.write(nb, path)


def _fake_run(template, assignment, jobs, workers, settings):
    """The workers' results: two submissions nbgrader could not grade, the others graded."""
    for student in sorted(jobs):
        if student in FAILURES:
            yield WorkerResult(student, False, error=FAILURES[student])
        else:
            yield WorkerResult(student, True)


@pytest.fixture
def course(tmp_path, monkeypatch):
    root = make_course(tmp_path / "course", [MODULE])
    _add_memo(root)
    monkeypatch.setattr(grading_run, "check_sandbox", lambda options: None)
    monkeypatch.setattr(grading_run, "flags_for", lambda run, path: [])
    monkeypatch.setattr(parallel, "make_template", lambda *args: tmp_path / "template")
    monkeypatch.setattr(parallel, "run", _fake_run)
    return root


def _grade(course: Path, folder: Path, names: list[str]) -> dict[str, dict[str, str]]:
    folder.mkdir()
    text = nbformat.writes(read(course / "solutions" / MODULE / f"{MODULE}.ipynb"))
    for name in names:
        (folder / f"{name}_{MODULE}.ipynb").write_text(
            "{ not a notebook" if name == "d_invalid" else text)
    grading_run.grade(grading_run.GradeOptions(MODULE, folder, course_dir=course, workers=1))
    with (course / "grades.csv").open(newline="", encoding="utf-8") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def _kept(row: dict[str, str]) -> tuple[str, str, str]:
    return row["status"], row["score"], row["reasons"]


def test_grading_one_unrelated_notebook_keeps_every_review_row(course, tmp_path):
    first = _grade(course, tmp_path / "first", ["b_crash", "c_grader", "d_invalid"])
    assert {s: first[s]["status"] for s in first} == dict.fromkeys(first, "needs review")
    assert "\\udcff" in first["c_grader"]["reasons"], "the odd character is shown escaped"
    second = _grade(course, tmp_path / "second", ["z_unrelated"])
    assert {s: _kept(second[s]) for s in first} == {s: _kept(first[s]) for s in first}


def test_a_held_submission_without_its_record_stays_in_review(course, tmp_path):
    """The run that held it was stopped before it could record why (or its ledger is gone)."""
    first = _grade(course, tmp_path / "first", ["b_crash", "d_invalid"])
    ledger = course / "grades-history" / "grades-ledger.json"
    data = json.loads(ledger.read_text(encoding="utf-8"))
    data[MODULE] = {}
    ledger.write_text(json.dumps(data), encoding="utf-8")
    second = _grade(course, tmp_path / "second", ["z_unrelated"])
    for student in ("b_crash", "d_invalid"):
        assert second[student]["status"] == "needs review", second[student]
        assert second[student]["score"] == first[student]["score"] == ""
        assert "held for review by an earlier grading run" in second[student]["reasons"]
    assert second["z_unrelated"]["status"] == "grade by hand", "an ordinary memo is unchanged"
