"""An instructor's whole cycle on one small cohort, as course/INSTRUCTORS.md tells it.

grade (a platform zip) → hand-grade two memos (nbgrader's Gradebook API, as the
formgrader does) → export → feedback (refused while memos are unmarked, as the
hub's order needs) → change an exercise's points → grade one resubmission →
re-grade everyone in place → export → review the held submissions (`course
accept`, typed scores, the last memos) → feedback for everyone → change another
exercise's points after the review → re-grade in place → feedback → export.
After every step the earlier steps' results must still stand: hand grades,
reasons, other learners' rows, the "not graded" row, each run's report.
00_welcome is the fastest module; the scratch course gets a hand-graded memo
(the real one from 01_paradigms, edited as a notebook).
Fast tests below cover collection (ids, strays, links, sizes, hidden files),
the report's escaping and a grader killed midway.
"""

from __future__ import annotations

import copy
import csv
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbtools import (
    HIDDEN,
    ROOT,
    course_env,
    grading,
    make_course,
    read,
    require_sandbox,
    solution_path,
)

from course.grading.coursedir import GradingError, load_config
from course.grading.grade import GradeOptions, Run, reopen_changed
from course.grading.intake.collect import Collection, Ids, collect
from course.grading.intake.roster import read_roster
from course.grading.records import gradebook, ledger
from course.grading.results import report

MODULE = "00_welcome"
MEMO = "decision_memo"
ROSTER = ["carol", "carol_smith", "d.nguyen", "eve@acme.io", "f_loops", "g.deletes",
          "h_absent", "i_blank", "j_blank"]
RIGHT = {"bad_risk_share_answer": "bad_risk_share = 0.3", "answer_q1_answer": "answer_q1 = 'B'",
         MEMO: "Launch: the checks say what a tick means."}
WRONG = {**RIGHT, "bad_risk_share_answer": "bad_risk_share = 0.9",
         "answer_q1_answer": "answer_q1 = 'A'"}
LOOPS = {**RIGHT, "bad_risk_share_answer": "while True:\n    pass"}
TIMEOUT = "5"


# --- a scratch course with a memo, and the cohort's notebooks ------------------------------


def _add_memo(course: Path, points: int = 2) -> None:
    """Give the scratch 00_welcome the decision memo of 01_paradigms (a hand-graded cell)."""
    path = course / "solutions" / MODULE / f"{MODULE}.ipynb"
    nb = read(path)
    memo = copy.deepcopy(next(c for c in read(solution_path("01_paradigms")).cells
                              if grading(c).get("grade_id") == MEMO))
    memo.metadata.nbgrader["points"] = points
    memo.id = "welcome-memo"
    nb.cells.insert(len(nb.cells) - 1, memo)
    nbformat.write(nb, path)


def _set_points(course: Path, grade_id: str, points: int) -> None:
    path = course / "solutions" / MODULE / f"{MODULE}.ipynb"
    nb = read(path)
    next(c for c in nb.cells if grading(c).get("grade_id") == grade_id).metadata.nbgrader[
        "points"] = points
    nbformat.write(nb, path)


def _release(course: Path, folder: Path) -> nbformat.NotebookNode:
    return read(gradebook.prepare_assignment(load_config(course), MODULE, folder))


def _notebook(release, answers, delete_tests=False) -> str:
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if grading(cell).get("grade_id") in answers and grading(cell).get("solution"):
            cell.source = answers[grading(cell)["grade_id"]]
    if delete_tests:
        nb.cells = [c for c in nb.cells
                    if not (grading(c).get("grade") and not grading(c).get("solution"))]
    return nbformat.writes(nb)


def _zip(path: Path, files: dict[str, str], older: tuple[str, ...] = ()) -> Path:
    """Write a platform's zip; the members named in ``older`` were uploaded a day earlier."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(zipfile.ZipInfo(name, (2026, 11, 1 if name in older else 2, 9, 0, 0)),
                        text)
    return path


def _grade(course: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "course", "grade", MODULE, *args, "--timeout", TIMEOUT,
           "--workers", "2"]
    return _run(course, cmd)


def _run(course: Path, cmd: list[str], status: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=course, env=course_env(), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == status, result.stdout + result.stderr
    return result


def _course(course: Path, *args: str, status: int = 0) -> subprocess.CompletedProcess:
    return _run(course, [sys.executable, "-m", "course", *args], status)


def _type_score(course: Path, student: str, item: str, score: float) -> None:
    """What the formgrader does when a grader types an item's score."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade(item, MODULE, MODULE, student)
        grade.manual_score, grade.needs_manual_grade = score, False
        gb.db.commit()


def _scores(course: Path, student: str) -> dict[str, tuple[float | None, float | None, bool]]:
    """Each item's (hand score, autograder's score, needs manual grade)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {g.name: (g.manual_score, g.auto_score, g.needs_manual_grade)
                for nb in gb.find_submission(MODULE, student).notebooks for g in nb.grades}


def _rows(path: Path) -> dict[str, dict[str, str]]:
    return {row["student_id"]: row for row in csv.DictReader(path.open(encoding="utf-8"))}


def _hand_grade(course: Path, student: str, score: float, comment: str) -> None:
    """What the formgrader does when a grader types a score and a comment."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade(MEMO, MODULE, MODULE, student)
        grade.manual_score = score
        grade.needs_manual_grade = False
        gb.find_comment(MEMO, MODULE, MODULE, student).manual_comment = comment
        gb.db.commit()


def _memo_grade(course: Path, student: str) -> tuple[float | None, bool]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade(MEMO, MODULE, MODULE, student)
        return grade.manual_score, grade.needs_manual_grade


def _gradebook_students(course: Path) -> set[str]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.id for s in gb.students}


def _visible(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


def _feedback(course: Path, student: str) -> str:
    return _visible(course / "feedback" / student / MODULE / f"{MODULE}.html")


def _hidden_lines() -> list[str]:
    lines = []
    for cell in read(solution_path(MODULE)).cells:
        for block in HIDDEN.findall(cell.source):
            lines += [ln.strip() for ln in block.splitlines() if "HIDDEN TESTS" not in ln]
    return [ln for ln in lines if ln]


def _same(row: dict[str, str], before: dict[str, str], *fields: str) -> bool:
    return all(row[f] == before[f] for f in fields)


# --- the cycle, played once ----------------------------------------------------------------


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    """Play every step; keep what each one left (grades.csv, outputs, timings)."""
    require_sandbox()
    tmp = tmp_path_factory.mktemp("cycle")
    course = make_course(tmp / "course", [MODULE])
    _add_memo(course)
    release = _release(course, tmp / "release")
    roster = tmp / "roster.csv"
    roster.write_text("student_id,first_name\n" + "".join(f"{s},{s.title()}\n" for s in ROSTER))
    files = {
        f"export/carol_smith_{MODULE}.ipynb": _notebook(release, RIGHT),
        f"export/carol_{MODULE}.ipynb": _notebook(release, {**RIGHT, MEMO: "Carol's memo."}),
        f"export/d.nguyen_{MODULE}.ipynb": _notebook(release, WRONG),
        f"export/eve@acme.io_{MODULE}.ipynb": _notebook(release, WRONG),
        f"export/eve@acme.io_{MODULE} (1).ipynb": _notebook(release, RIGHT),
        f"export/f_loops_{MODULE}.ipynb": _notebook(release, LOOPS),
        f"export/g.deletes_{MODULE}.ipynb": _notebook(release, RIGHT, delete_tests=True),
        f"export/zed_{MODULE}.ipynb": _notebook(release, RIGHT),
        f"export/i_blank_{MODULE}.ipynb": _notebook(release, {}),
        f"export/j_blank_{MODULE}.ipynb": _notebook(release, {}),
        f"export/.~lock_{MODULE}.ipynb": "{}",
    }
    # eve uploaded twice: the wrong notebook first, the right one a day later
    archive = _zip(tmp / "export.zip", files, older=(f"export/eve@acme.io_{MODULE}.ipynb",))
    steps, seconds = {}, {}

    def step(name, action):
        began = time.perf_counter()
        out = action()
        seconds[name] = time.perf_counter() - began
        steps[name] = {"rows": _rows(course / "grades.csv"), "out": out}
        return out

    step("grade", lambda: _grade(course, str(archive), "--roster", str(roster)))
    steps["grade"]["feedback"] = {s: _feedback(course, s) for s in ("carol_smith", "carol")}
    steps["grade"]["log"] = (course / "grades.log").read_text(encoding="utf-8")
    steps["grade"]["gradebook"] = _gradebook_students(course)

    def hand_grade():
        _hand_grade(course, "carol_smith", 2, "Clear and argued from the numbers.")
        _hand_grade(course, "carol", 1, "Say what the numbers mean for users.")
        return _run(course, [sys.executable, "-m", "course", "export", MODULE,
                             "--roster", str(roster)])

    step("hand-grade+export", hand_grade)
    steps["hand-grade+export"]["export"] = _rows(course / "final_grades.csv")
    # the hub's order: no feedback while a memo is unmarked (d.nguyen's), unless named
    step("feedback-refused", lambda: _course(course, "feedback", MODULE, status=2))
    step("feedback", lambda: _course(course, "feedback", MODULE, "carol_smith", "carol"))
    steps["feedback"]["feedback"] = {s: _feedback(course, s) for s in ("carol_smith", "carol")}

    _set_points(course, "bad_risk_share_test", 4)
    resubmission = _zip(tmp / "resubmission.zip", {
        f"d.nguyen_{MODULE}.ipynb": _notebook(release, RIGHT)})
    step("resubmission", lambda: _grade(course, str(resubmission), "--roster", str(roster)))
    steps["resubmission"]["log"] = (course / "grades.log").read_text(encoding="utf-8")
    step("regrade-all", lambda: _grade(course, "submitted", "--roster", str(roster)))
    step("export", lambda: _run(course, [sys.executable, "-m", "course", "export", MODULE,
                                         "--roster", str(roster)]))
    steps["export"]["export"] = _rows(course / "final_grades.csv")
    steps["export"]["feedback"] = {s: _feedback(course, s) for s in ("carol_smith", "carol")}
    steps["export"]["gradebook"] = _gradebook_students(course)

    def review():
        """Review the held submissions: accept, type, mark the last memos; feedback, export."""
        said = {s: _course(course, "accept", MODULE, s).stdout for s in ("f_loops", "g.deletes")}
        _type_score(course, "eve@acme.io", "bad_risk_share_test", 4)  # the autograder's 4
        _type_score(course, "eve@acme.io", "answer_q1_test", 1)  # and its 1
        _type_score(course, "g.deletes", "bad_risk_share_test", 3)  # another score
        for student in ("d.nguyen", "eve@acme.io", "f_loops", "g.deletes"):
            _hand_grade(course, student, 1, "Name the cost of a wrong approval.")
        said["feedback"] = _course(course, "feedback", MODULE).stdout
        _course(course, "export", MODULE, "--roster", str(roster))
        return said

    step("review", review)
    steps["review"]["export"] = _rows(course / "final_grades.csv")
    steps["review"]["scores"] = {s: _scores(course, s) for s in ("eve@acme.io", "f_loops",
                                                                 "g.deletes")}
    _set_points(course, "answer_q1_test", 2)  # after the review: 1 -> 2
    step("points-after-review", lambda: _grade(course, "submitted", "--roster", str(roster)))
    steps["points-after-review"]["scores"] = {s: _scores(course, s) for s in (
        "eve@acme.io", "f_loops", "g.deletes")}
    step("feedback-again", lambda: _course(course, "feedback", MODULE))
    steps["feedback-again"]["feedback"] = {s: _feedback(course, s) for s in (
        "eve@acme.io", "f_loops", "carol_smith")}
    step("export-again", lambda: _course(course, "export", MODULE, "--roster", str(roster)))
    steps["export-again"]["export"] = _rows(course / "final_grades.csv")
    step("report", lambda: _course(course, "report", MODULE))
    steps["report"]["page"] = _visible(course / "reports" / MODULE / "index.html")
    print("\ncycle timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    return course, steps


@pytest.mark.slow
def test_first_grade_reports_every_learner_with_the_guides_ids(cycle):
    course, steps = cycle
    rows = steps["grade"]["rows"]
    assert list(rows) == [*ROSTER, "zed"], "roster order, then the stray"
    for student in ("carol", "carol_smith", "d.nguyen"):
        assert rows[student]["status"] == "grade by hand", rows[student]
        assert MEMO in rows[student]["reasons"] and rows[student]["final"] == "no"
    assert rows["carol_smith"]["score"] == "3" and rows["carol"]["score"] == "3"
    assert rows["d.nguyen"]["score"] == "0"
    assert "2 notebooks submitted" in rows["eve@acme.io"]["reasons"]
    assert rows["eve@acme.io"]["score"] == "3", "the newest of the two is graded"
    assert "ran longer than the 5 s limit" in rows["f_loops"]["reasons"]
    assert "test cell bad_risk_share_test was deleted" in rows["g.deletes"]["reasons"]
    for student in ("eve@acme.io", "f_loops", "g.deletes"):
        assert rows[student]["status"] == "needs review" and rows[student]["final"] == "no"
    assert rows["h_absent"]["status"] == "missing"


@pytest.mark.slow
def test_a_stray_is_reported_loudly_and_kept_out_of_the_gradebook(cycle):
    course, steps = cycle
    rows, out = steps["grade"]["rows"], steps["grade"]["out"].stdout
    assert rows["zed"]["status"] == "not graded"
    assert "no roster id matches" in rows["zed"]["reasons"]
    assert "NOT GRADED because of their student id: zed" in out, out
    assert "zed" not in steps["grade"]["gradebook"] | steps["export"]["gradebook"]
    assert not (course / "submitted" / "zed").exists()
    assert f"skipped export/.~lock_{MODULE}.ipynb: a hidden file" in out, out
    assert f"skipped export/.~lock_{MODULE}.ipynb" in steps["grade"]["log"]


@pytest.mark.slow
def test_the_log_keeps_real_problems_not_checksum_noise(cycle):
    _, steps = cycle
    log = steps["grade"]["log"]
    assert "[WARNING] Attribute 'checksum' for cell" not in log
    assert re.search(r'\(\d+ nbgrader warnings .*has changed!" left out', log), log[:400]
    f_loops = log[log.index("===== f_loops:"):]
    assert "Timeout" in f_loops[:f_loops.find("\n=====")], "the time-out is in its log"


@pytest.mark.slow
def test_hand_grades_make_rows_final_and_export_says_what_is_not(cycle):
    _, steps = cycle
    export = steps["hand-grade+export"]["export"]
    assert (export["carol_smith"]["status"], export["carol_smith"]["final"],
            export["carol_smith"]["score"], export["carol_smith"]["max_score"]) == (
        "graded", "yes", "5", "5")
    assert (export["carol"]["final"], export["carol"]["score"]) == ("yes", "4")
    assert export["d.nguyen"]["status"] == "grade by hand" and export["d.nguyen"]["final"] == "no"
    assert export["h_absent"]["final"] == "no"
    for student in ("eve@acme.io", "f_loops", "g.deletes"):
        assert export[student]["final"] == "no"
        assert _same(export[student], steps["grade"]["rows"][student], "status", "reasons")
    out = steps["hand-grade+export"]["out"].stdout
    assert "4 final, 5 not final" in out, out


@pytest.mark.slow
def test_feedback_after_hand_grading_shows_the_hand_grade_and_no_hidden_test(cycle):
    _, steps = cycle
    before, after = steps["grade"]["feedback"], steps["feedback"]["feedback"]
    assert "Clear and argued" not in before["carol_smith"]
    assert "Clear and argued from the numbers." in after["carol_smith"]
    assert re.search(r"Score:\s*5\.0\s*/\s*5\.0", after["carol_smith"]), after["carol_smith"]
    assert "Say what the numbers mean for users." in after["carol"]
    for text in (*after.values(), *steps["export"]["feedback"].values()):
        assert not [line for line in _hidden_lines() if line in text]
        assert "# hidden tests: passed" in text


@pytest.mark.slow
def test_one_resubmission_changes_that_row_only(cycle):
    course, steps = cycle
    before, after = steps["hand-grade+export"]["export"], steps["resubmission"]["rows"]
    assert (after["d.nguyen"]["status"], after["d.nguyen"]["score"],
            after["d.nguyen"]["max_score"]) == ("grade by hand", "5", "7")
    for student in ("eve@acme.io", "f_loops", "g.deletes", "carol", "carol_smith", "h_absent"):
        assert _same(after[student], before[student], "score", "timestamp"), student
        assert before[student]["reasons"] in after[student]["reasons"], student
    assert after["zed"]["status"] == "not graded", "kept until the instructor acts"
    assert "no roster id matches" in after["zed"]["reasons"]
    assert "kept from an earlier run until you act" in after["zed"]["reasons"]
    # the points changed before this run: the others are on the old scale, and say so
    assert "graded when the points were different (bad_risk_share_test 2 -> 4)" in \
        after["carol_smith"]["reasons"]
    assert after["carol_smith"]["final"] == "no"
    log = steps["resubmission"]["log"]
    assert "===== d.nguyen:" in log and "===== f_loops:" in log, "earlier logs are kept"
    assert len(list((course / "grades-history").glob("*-grades.csv"))) >= 2


@pytest.mark.slow
def test_regrading_everyone_keeps_hand_grades_and_reasons_and_ends_consistent(cycle):
    course, steps = cycle
    export = steps["export"]["export"]
    assert _memo_grade(course, "carol_smith") == (2, False)
    assert _memo_grade(course, "carol") == (1, False)
    assert (export["carol_smith"]["status"], export["carol_smith"]["final"],
            export["carol_smith"]["score"], export["carol_smith"]["max_score"]) == (
        "graded", "yes", "7", "7")
    assert export["carol"]["score"] == "6"
    assert "2 notebooks submitted" in export["eve@acme.io"]["reasons"]
    assert "ran longer than" in export["f_loops"]["reasons"]
    assert "was deleted" in export["g.deletes"]["reasons"]
    assert all("points were different" not in row["reasons"] for row in export.values())
    assert re.search(r"Score:\s*7\.0\s*/\s*7\.0", steps["export"]["feedback"]["carol_smith"])


@pytest.mark.slow
def test_changed_answers_reopen_hand_grades_and_the_same_answers_keep_reasons(cycle, tmp_path):
    """What the next run does before grading: compare each notebook with the one graded."""
    course = Path(shutil.copytree(cycle[0], tmp_path / "course"))
    name = f"{MODULE}.ipynb"
    graded = {s: course / "autograded" / s / MODULE / name for s in ("carol_smith", "eve@acme.io")}
    changed = read(graded["carol_smith"])
    next(c for c in changed.cells if grading(c).get("grade_id") == MEMO).source = "A new memo."
    nbformat.write(changed, tmp_path / name)
    run = Run(course, load_config(course), GradeOptions(MODULE, course / "submitted"),
              tmp_path / name, tmp_path)
    run.records = ledger.load(course / "grades.csv", MODULE)
    found = Collection(submitted={"carol_smith": tmp_path / name,
                                  "eve@acme.io": graded["eve@acme.io"]})
    reopen_changed(run, found)
    assert _memo_grade(course, "carol_smith") == (2, True), "kept, and to be graded again"
    assert "resubmitted with changed answers" in found.notes["carol_smith"][0]
    assert f"{MEMO} (2)" in found.notes["carol_smith"][0]
    assert any("2 notebooks submitted" in n for n in found.notes["eve@acme.io"])
    assert _memo_grade(course, "carol") == (1, False)


@pytest.mark.slow
def test_blank_submissions_are_final_zeros_with_a_reason_at_every_step(cycle):
    _, steps = cycle
    for name in ("grade", "regrade-all", "review", "points-after-review"):  # not resubmission:
        for student in ("i_blank", "j_blank"):  # its other rows are on the old points
            row = steps[name]["rows"][student]
            assert (row["status"], row["final"], row["score"]) == ("graded", "yes", "0"), row
            assert "blank: no exercise was attempted" in row["reasons"], (name, row)
    out = steps["grade"]["out"].stdout
    assert "of 9 final (the 1 not graded are not counted)" in out, out


@pytest.mark.slow
def test_the_not_graded_row_is_kept_across_every_regrade(cycle):
    course, steps = cycle
    for name in ("resubmission", "regrade-all", "review", "points-after-review"):
        row = steps[name]["rows"]["zed"]
        assert row["status"] == "not graded" and "no roster id matches" in row["reasons"], name
    assert "zed" not in _gradebook_students(course)


@pytest.mark.slow
def test_feedback_is_refused_while_items_are_left_to_grade_by_hand(cycle):
    _, steps = cycle
    refused = steps["feedback-refused"]["out"].stderr
    assert "feedback not written" in refused and f"d.nguyen ({MEMO})" in refused, refused
    assert "f_loops (" in refused and "--allow-ungraded" in refused
    assert "feedback written for" in steps["review"]["out"]["feedback"], "after the review"


@pytest.mark.slow
def test_accept_takes_the_autograders_scores_and_says_why_it_was_held(cycle):
    _, steps = cycle
    said = steps["review"]["out"]
    assert "f_loops was held for: " in said["f_loops"] and "ran longer than" in said["f_loops"]
    assert "answer_q1_test: accepted the autograder's 1" in said["f_loops"], said["f_loops"]
    assert f"{MEMO}: a written answer" in said["f_loops"]
    assert "was deleted" in said["g.deletes"]
    export = steps["review"]["export"]
    assert [s for s, row in export.items() if row["final"] != "yes"] == ["h_absent"], export
    for student in ("eve@acme.io", "f_loops", "g.deletes"):
        assert "reviewed by hand" in export[student]["reasons"], export[student]
    assert steps["review"]["scores"]["g.deletes"]["bad_risk_share_test"][0] == 3
    assert export["eve@acme.io"]["score"] == "6" and export["g.deletes"]["score"] == "5"


@pytest.mark.slow
def test_a_points_change_after_review_moves_accepted_scores_with_the_autograder(cycle):
    _, steps = cycle
    scores = steps["points-after-review"]["scores"]
    assert scores["eve@acme.io"]["answer_q1_test"] == (2, 2, False), "typed 1 = old autograde"
    assert scores["f_loops"]["answer_q1_test"] == (2, 2, False), "accepted 1 follows"
    assert scores["g.deletes"]["bad_risk_share_test"][0] == 3, "its points did not change"
    rows = steps["points-after-review"]["rows"]
    assert (rows["eve@acme.io"]["score"], rows["eve@acme.io"]["max_score"],
            rows["eve@acme.io"]["final"]) == ("7", "8", "yes"), rows["eve@acme.io"]
    assert "answer_q1_test: your score 1 was the autograder's" in rows["eve@acme.io"]["reasons"]
    assert (rows["g.deletes"]["score"], rows["carol_smith"]["score"]) == ("6", "8")
    export = steps["export-again"]["export"]
    assert {s: (r["score"], r["final"]) for s, r in export.items()
            if s in rows} == {s: (rows[s]["score"], rows[s]["final"]) for s in export}
    feedback = steps["feedback-again"]["feedback"]
    assert re.search(r"Score:\s*7\.0\s*/\s*8\.0", feedback["eve@acme.io"])
    assert re.search(r"Score:\s*8\.0\s*/\s*8\.0", feedback["carol_smith"])


@pytest.mark.slow
def test_after_the_last_step_every_earlier_result_still_stands(cycle):
    course, steps = cycle
    export = steps["export-again"]["export"]
    assert _memo_grade(course, "carol_smith") == (2, False)
    assert _memo_grade(course, "carol") == (1, False)
    assert _memo_grade(course, "d.nguyen") == (1, False)
    assert "2 notebooks submitted" in export["eve@acme.io"]["reasons"]
    assert "ran longer than" in export["f_loops"]["reasons"]
    assert "was deleted" in export["g.deletes"]["reasons"]
    assert export["h_absent"]["status"] == "missing"
    assert steps["export-again"]["rows"]["zed"]["status"] == "not graded"
    assert "Clear and argued from the numbers." in _feedback(course, "carol_smith")


@pytest.mark.slow
def test_feedback_says_a_time_out_in_one_line_and_names_the_cell(cycle):
    _, steps = cycle
    text = steps["feedback-again"]["feedback"]["f_loops"]
    assert "most recent call last" not in text and "KeyboardInterrupt" not in text, text
    assert "CellTimeoutError" not in text
    assert "Stopped: this cell ran longer than the time limit" in text
    assert "(bad_risk_share_answer) ran out of time" in text, "the answer cell, named"
    assert "a cell above" not in text
    assert "<summary>" not in text and "Hint" in text, "hints are folded, not literal tags"


@pytest.mark.slow
def test_the_item_report_leaves_the_blank_submissions_out_and_says_so(cycle):
    _, steps = cycle
    page = steps["report"]["page"]
    assert re.search(r"graded submissions analysed \(attempted at least one exercise\)\s+6",
                     page), page[:2000]
    assert re.search(r"blank \(no exercise attempted\)[^\n]*\s+2\b", page)
    assert "Most common mistakes, across exercises" in page
    assert "i_blank" not in page and "d.nguyen" not in page, "no ids without --names"


# --- a grader stopped midway ---------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_grader_leaves_a_consistent_report(tmp_path):
    require_sandbox()
    course = make_course(tmp_path / "course", [MODULE])
    release = _release(course, tmp_path / "release")
    slow = {**RIGHT, "bad_risk_share_answer": "import time\ntime.sleep(300)"}
    archive = _zip(tmp_path / "export.zip", {f"a_quick_{MODULE}.ipynb": _notebook(release, RIGHT),
                                              f"b_slow_{MODULE}.ipynb": _notebook(release, slow)})
    cmd = [sys.executable, "-m", "course", "grade", MODULE, str(archive), "--workers", "1",
           "--timeout", "600"]
    grader = subprocess.Popen(cmd, cwd=course, env=course_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    grades = course / "grades.csv"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            rows = _rows(grades) if grades.is_file() else {}
            if rows.get("a_quick", {}).get("status") == "graded":
                break
            time.sleep(0.5)
        time.sleep(2)  # b_slow is running its endless cell now
    finally:
        os.killpg(grader.pid, signal.SIGKILL)
        grader.wait()
    rows = _rows(grades)
    assert (rows["a_quick"]["status"], rows["a_quick"]["score"]) == ("graded", "3"), rows
    assert rows["b_slow"]["status"] == "needs review", rows
    assert "not graded yet" in rows["b_slow"]["reasons"]
    ledger = json.loads((course / "grades-history" / "grades-ledger.json").read_text())
    assert set(ledger[MODULE]) == {"a_quick"}


# --- collection and report, without nbgrader -----------------------------------------------


@pytest.fixture(scope="module")
def notebook_text():
    return nbformat.writes(read(ROOT / "notebooks" / MODULE / f"{MODULE}.ipynb"))


def _folder(tmp: Path, names: list[str], text: str) -> Path:
    folder = tmp / "subs"
    folder.mkdir()
    for name in names:
        (folder / name).write_text(text)
    return folder


def test_roster_ids_with_underscores_dots_and_at_are_graded_as_themselves(tmp_path, notebook_text):
    names = [f"carol_smith_{MODULE}.ipynb", f"carol_{MODULE}.ipynb", f"d.nguyen_{MODULE}.ipynb",
             "eve@acme.io.ipynb", f"Frank_{MODULE} (2).ipynb", f"zed_{MODULE}.ipynb"]
    folder = _folder(tmp_path, names, notebook_text)
    roster = frozenset({"carol", "carol_smith", "d.nguyen", "eve@acme.io", "frank"})
    found = collect(folder, tmp_path / "course", MODULE, ids=Ids(roster))
    assert found.students == ["carol", "carol_smith", "d.nguyen", "eve@acme.io", "frank"]
    assert [(s.student, "no roster id" in s.reason) for s in found.strays] == [("zed", True)]
    assert not (tmp_path / "course" / "submitted" / "zed").exists()
    allowed = collect(folder, tmp_path / "again", MODULE, ids=Ids(roster, allow_unlisted=True))
    assert "zed" in allowed.students


def _older_and_newer(folder: Path, older: str, newer: str) -> None:
    os.utime(folder / older, (1_000_000_000, 1_000_000_000))
    os.utime(folder / newer, (2_000_000_000, 2_000_000_000))


def test_a_look_alike_id_never_replaces_a_roster_students_notebook(tmp_path, notebook_text):
    kelvin = "\u212aaren"  # KELVIN SIGN: "\u212a".lower() == "k"
    folder = _folder(tmp_path, [f"karen_{MODULE}.ipynb"], notebook_text)
    (folder / f"{kelvin}_{MODULE}.ipynb").write_text(notebook_text.replace("Metrics", "Evil"))
    _older_and_newer(folder, f"karen_{MODULE}.ipynb", f"{kelvin}_{MODULE}.ipynb")
    found = collect(folder, tmp_path / "course", MODULE, ids=Ids(frozenset({"karen"})))
    assert found.students == ["karen"] and "karen" not in found.notes
    assert found.submitted["karen"].read_text() == notebook_text, "karen's own notebook is graded"
    [stray] = found.strays
    assert stray.name == f"\\u212aaren_{MODULE}.ipynb" and stray.student == "\\u212aaren"
    assert "not a valid student id" in stray.reason and "\\u212aaren" in stray.reason


def test_two_file_names_resolving_to_one_roster_id_go_to_review_with_both_names(
        tmp_path, notebook_text):
    folder = _folder(tmp_path, [f"karen_{MODULE}.ipynb"], notebook_text)
    (folder / f"KAREN_{MODULE}.ipynb").write_text(notebook_text.replace("Metrics", "Other"))
    _older_and_newer(folder, f"karen_{MODULE}.ipynb", f"KAREN_{MODULE}.ipynb")
    found = collect(folder, tmp_path / "course", MODULE, ids=Ids(frozenset({"karen"})))
    assert found.submitted["karen"].read_text() == notebook_text, "the exact id is graded"
    [note] = found.notes["karen"]
    assert f"KAREN_{MODULE}.ipynb" in note and f"karen_{MODULE}.ipynb" in note
    assert "resolve to roster id karen" in note


def test_without_a_roster_the_id_is_the_name_without_the_assignment(tmp_path, notebook_text):
    folder = _folder(tmp_path, [f"carol_smith_{MODULE}.ipynb", "d.nguyen.ipynb", "alice.ipynb"],
                     notebook_text)
    assert collect(folder, tmp_path / "course", MODULE).students == [
        "alice", "carol_smith", "d.nguyen"]


@pytest.mark.parametrize("student, reason", [
    ("eve+pm@acme.io", "nbgrader's exchange refuses"),
    ("star*", "nbgrader's exchange refuses"),
    ("carol smith", "not a valid student id"),
    ("zoë", "not a valid student id"),
])
def test_roster_refuses_ids_the_exchange_or_a_folder_cannot_hold(tmp_path, student, reason):
    roster = tmp_path / "roster.csv"
    roster.write_text(f"student_id\n{student}\n", encoding="utf-8")
    with pytest.raises(GradingError, match=re.escape(reason)):
        read_roster(roster)


def test_ids_with_spaces_or_unicode_are_strays_with_a_reason(tmp_path, notebook_text):
    folder = _folder(tmp_path, [f"Carol Smith_{MODULE}.ipynb", f"zoë_{MODULE}.ipynb",
                                f"bob_{MODULE}.ipynb"], notebook_text)
    found = collect(folder, tmp_path / "course", MODULE)
    assert found.students == ["bob"]
    assert {s.student: "not a valid student id" in s.reason for s in found.strays} == {
        "Carol Smith": True, "zo\\xeb": True}, "non-ASCII ids are shown escaped"


def test_symbolic_links_are_refused_with_a_reason(tmp_path, notebook_text):
    folder = _folder(tmp_path, [f"bob_{MODULE}.ipynb"], notebook_text)
    secret = tmp_path / "secret.ipynb"
    secret.write_text(notebook_text)
    (folder / f"mallory_{MODULE}.ipynb").symlink_to(secret)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / f"trudy_{MODULE}.ipynb").write_text(notebook_text)
    (folder / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    found = collect(folder, tmp_path / "course", MODULE)
    assert found.students == ["bob"]
    skipped = dict(found.skipped)
    assert "symbolic link" in skipped[f"mallory_{MODULE}.ipynb"]
    assert "symbolic link" in skipped["linked"]


def _declare_size(archive: Path, size: int) -> None:
    """Make the zip's only member declare ``size`` bytes (local header and central directory)."""
    data = bytearray(archive.read_bytes())
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    data[local + 22:local + 26] = size.to_bytes(4, "little")
    data[central + 24:central + 28] = size.to_bytes(4, "little")
    archive.write_bytes(bytes(data))


def test_a_zip_member_is_refused_by_its_declared_size_without_reading_it(tmp_path, monkeypatch):
    archive = _zip(tmp_path / "bomb.zip", {f"bob_{MODULE}.ipynb": "{}"})
    _declare_size(archive, 2 * 1024**3)  # what a 2 MB zip of 2 GiB of zeros declares
    assert zipfile.ZipFile(archive).infolist()[0].file_size == 2 * 1024**3

    def refuse(*args, **kwargs):
        raise AssertionError("a member over the size limit was read")

    monkeypatch.setattr(zipfile.ZipFile, "read", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)
    found = collect(archive, tmp_path / "course", MODULE)
    assert "too large (2147 MB)" in found.invalid["bob"] and "not read" in found.invalid["bob"]


def test_hidden_files_and_clutter_are_listed_as_skipped(tmp_path, notebook_text):
    archive = _zip(tmp_path / "export.zip", {
        f"bob_{MODULE}.ipynb": notebook_text, f".bob_{MODULE}.ipynb": notebook_text,
        f"__MACOSX/._bob_{MODULE}.ipynb": "junk",
        f".ipynb_checkpoints/bob_{MODULE}-checkpoint.ipynb": notebook_text})
    skipped = dict(collect(archive, tmp_path / "course", MODULE).skipped)
    assert "hidden file" in skipped[f".bob_{MODULE}.ipynb"]
    assert "__MACOSX" in skipped[f"__MACOSX/._bob_{MODULE}.ipynb"]
    assert "autosave" in skipped[f".ipynb_checkpoints/bob_{MODULE}-checkpoint.ipynb"]


def test_control_characters_are_escaped_in_the_table_and_the_csv(tmp_path):
    evil = report.Outcome("bob", report.REVIEW, ["file a\x1b[2Jb\r.ipynb\u202e: bad\nline"])
    row = report.outcome_row(evil, MODULE, None)
    assert row["reasons"] == "file a\\x1b[2Jb\\r.ipynb\\u202e: bad\\nline"
    path = tmp_path / "grades.csv"
    report.write_csv(path, [row])
    assert "\x1b" not in path.read_text() and "\r.ipynb" not in path.read_text()
    printed = []

    class Out:
        def write(self, text):
            printed.append(text)

    report.summary([evil], Out(), skipped=[("x\x1by.ipynb", "odd\rname")])
    shown = "".join(printed)
    assert "\x1b" not in shown and "\r" not in shown and "x\\x1by.ipynb" in shown


def test_settle_keeps_a_hand_grade_and_says_when_points_changed():
    standing = gradebook.Standing(True, 5.0, 5.0, False, "", [], {"a": 2.0, MEMO: 2.0}, [MEMO])
    graded = report.settle(report.Outcome("x"), standing, {"a": 2.0, MEMO: 2.0})
    assert (graded.status, report.is_final(graded)) == ("graded", True)
    moved = report.settle(report.Outcome("x"), standing, {"a": 1.0, MEMO: 2.0})
    assert moved.status == "needs review" and "a 1 -> 2" in moved.reasons[0]
    held = gradebook.Standing(True, 5.0, 5.0, True, "", [], {}, [])
    assert report.settle(report.Outcome("x", report.REVIEW, ["why"]), held).status == \
        "needs review"
    reviewed = report.settle(report.Outcome("x", report.REVIEW, ["why"]), standing)
    assert reviewed.status == "graded" and "reviewed by hand" in reviewed.reasons[-1]


# --- the guide's commands exist, and bad input says what to do ------------------------------


def _documented_commands() -> set[str]:
    text = (ROOT / "README.md").read_text() + (ROOT / "course" / "INSTRUCTORS.md").read_text()
    return set(re.findall(r"python -m course ([a-z-]+)", text))


def test_every_course_command_the_guide_names_exists(capsys):
    from course.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"grade", "formgrader", "feedback", "export"} <= _documented_commands()
    assert _documented_commands() <= set(commands)


def test_no_guide_tells_to_run_what_does_not_exist_or_what_it_says_not_to_use():
    readme = (ROOT / "README.md").read_text()
    short = readme[readme.index("## For instructors"):]
    short = short[short.index("```sh"):short.index("```", short.index("```sh") + 5)]
    for banned in ("nbgrader autograde", "nbgrader generate_feedback", "nbgrader export",
                   "nbgrader formgrader"):
        assert banned not in short, banned
    guide = (ROOT / "course" / "INSTRUCTORS.md").read_text()
    runs = [line for line in (readme + guide).splitlines()
            if re.match(r"\s*nbgrader formgrader", line) or "`nbgrader formgrader`)" in line]
    assert not runs, runs
    assert "Manage Assignments" not in guide
    assert "Nbgrader → Formgrader" in guide


def test_formgrader_opens_jupyterlab_on_the_formgrader_page(tmp_path, capsys):
    from course.cli import main

    course = make_course(tmp_path / "course", [MODULE])
    assert main(["formgrader", "--dry-run", "--port", "8899", "--course-dir", str(course)]) == 0
    out = capsys.readouterr().out
    assert "jupyter lab --port=8899 --LabApp.default_url=/formgrader" in out
    assert "http://localhost:8899/formgrader" in out


@pytest.mark.parametrize("argv, message", [
    (["feedback", MODULE, "nobody"], "no autograded notebook for nobody"),
    (["export", MODULE], "first with `python -m course grade"),
    (["export", "99_none"], "is not one module of the course"),
])
def test_feedback_and_export_say_what_to_do_first(tmp_path, capsys, argv, message):
    from course.cli import main

    course = make_course(tmp_path / "course", [MODULE])
    assert main([*argv, "--course-dir", str(course)]) == 2
    assert message in capsys.readouterr().err
