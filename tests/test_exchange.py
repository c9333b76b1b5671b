"""The JupyterHub workflow of course/INSTRUCTORS.md, end to end through nbgrader's exchange.

The instructor releases to an exchange folder, a student fetches, answers and
submits, the instructor collects with ``nbgrader collect`` and grades the
collected ``submitted/`` folder in place with ``python -m course grade``, then
releases feedback, which the student fetches. One machine, one user: the
student id is this account's name, as nbgrader records it.
"""

from __future__ import annotations

import csv
import getpass
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbtools import (
    HIDDEN,
    ROOT,
    course_env,
    grading,
    is_answer_cell,
    make_course,
    nbgrader,
    read,
    require_sandbox,
)

from course.grading.intake.collect import collect

MODULE = "00_welcome"
RIGHT = {"bad_risk_share_answer": "bad_risk_share = 0.3", "answer_q1_answer": "answer_q1 = 'B'"}


def _exchange_config(folder: Path, exchange: Path) -> None:
    with (folder / "nbgrader_config.py").open("a") as config:
        config.write(f'\nc.CourseDirectory.course_id = "mlpm-test"\n'
                     f'c.Exchange.root = "{exchange}"\n')


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """Release, fetch, answer, submit, collect, grade, release and fetch feedback."""
    tmp = tmp_path_factory.mktemp("hub")
    exchange, course, student = tmp / "exchange", tmp / "course", tmp / "student"
    for folder in (exchange, course, student):
        folder.mkdir()
    exchange.chmod(0o777)
    make_course(course, [MODULE])
    shutil.copytree(ROOT / "notebooks" / MODULE, course / "notebooks" / MODULE)
    _exchange_config(course, exchange)
    (student / "nbgrader_config.py").write_text("c = get_config()\n")
    _exchange_config(student, exchange)

    nbgrader("db", "assignment", "add", MODULE, cwd=course)
    nbgrader("release_assignment", MODULE, cwd=course)
    nbgrader("fetch_assignment", MODULE, cwd=student)
    fetched = student / MODULE / f"{MODULE}.ipynb"
    nb = nbformat.read(fetched, as_version=4)
    for cell in nb.cells:
        if is_answer_cell(cell) and grading(cell).get("grade_id") in RIGHT:
            cell.source = RIGHT[grading(cell)["grade_id"]]
    nbformat.write(nb, fetched)
    nbgrader("submit", MODULE, cwd=student)
    nbgrader("collect", MODULE, cwd=course)
    # another assignment's submission in submitted/ must be left out
    other = course / "submitted" / getpass.getuser() / "03_metrics"
    other.mkdir(parents=True)
    shutil.copy(ROOT / "notebooks/03_metrics/03_metrics.ipynb", other)

    require_sandbox()
    graded = subprocess.run([sys.executable, "-m", "course", "grade", MODULE, "submitted",
                             "--timeout", "60"], cwd=course, env=course_env(),
                            capture_output=True, text=True, timeout=600)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    nbgrader("release_feedback", MODULE, cwd=course)
    nbgrader("fetch_feedback", MODULE, cwd=student)
    return course, student, graded


@pytest.mark.slow
def test_collected_submissions_are_graded_in_place_with_their_timestamp(hub):
    course, _, graded = hub
    rows = list(csv.DictReader((course / "grades.csv").open()))
    assert [(r["student_id"], r["status"], r["score"], r["max_score"]) for r in rows] == [
        (getpass.getuser(), "graded", "3", "3")], graded.stdout
    stamp = (course / "submitted" / getpass.getuser() / MODULE / "timestamp.txt").read_text()
    assert rows[0]["timestamp"][:19] == stamp.strip()[:19].replace(" ", "T")
    assert "skipped" not in graded.stderr  # nbgrader's own files and 03_metrics: not noise


@pytest.mark.slow
def test_fetched_feedback_shows_the_score_and_no_hidden_test(hub):
    _, student, _ = hub
    (feedback,) = (student / MODULE / "feedback").glob(f"*/{MODULE}.html")
    text = html.unescape(feedback.read_text())
    assert "3 / 3" in re.sub(r"<[^>]+>", "", text) or "3.0 / 3.0" in text
    solution = read(ROOT / "solutions" / MODULE / f"{MODULE}.ipynb")
    hidden = [line.strip() for cell in solution.cells for block in HIDDEN.findall(cell.source)
              for line in block.splitlines() if line.startswith("checks.")]
    assert hidden, "the welcome module should have hidden tests"
    assert "BEGIN HIDDEN TESTS" not in text
    for line in hidden:
        assert line not in text


def _submission(folder: Path, student: str, assignment: str) -> Path:
    path = folder / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / assignment / f"{assignment}.ipynb", path)
    (path.parent / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    return path


def test_nbgrader_layout_is_read_by_the_default_pattern(tmp_path):
    export = tmp_path / "export"
    _submission(export, "alice", MODULE)
    _submission(export, "bob", MODULE)
    course = tmp_path / "course"
    course.mkdir()
    collection = collect(export, course, MODULE)
    assert sorted(collection.submitted) == ["alice", "bob"]
    assert collection.skipped == []  # timestamp.txt is nbgrader's, not a stray file


def test_in_place_keeps_nbgrader_files_and_leaves_other_assignments_out(tmp_path):
    course = tmp_path
    mine = _submission(course / "submitted", "alice", MODULE)
    _submission(course / "submitted", "bob", "03_metrics")
    before = {p: p.read_bytes() for p in (course / "submitted").rglob("*") if p.is_file()}
    collection = collect(course / "submitted", course, MODULE)
    assert collection.submitted == {"alice": mine}
    assert collection.skipped == [] and collection.invalid == {}
    after = {p: p.read_bytes() for p in (course / "submitted").rglob("*") if p.is_file()}
    assert after == before  # nothing rewritten, nothing removed
