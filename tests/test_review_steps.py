"""The instructor's review steps without grading anyone: fast, on a hand-made gradebook.

A points change after a hand score, accepting the autograder's scores, feedback
refused while items are ungraded, the formgrader's options and real address,
"not graded" rows kept, the summary's count, hub account names, and the
review note that the formgrader shows and feedback hides.
"""

from __future__ import annotations

import io
import socket
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from traitlets.config import Config

from course.errors import InstructorError
from course.grading.coursedir import GradingError, put_venv_on_path
from course.grading.grade import stray_outcomes
from course.grading.intake.collect import Collection
from course.grading.records import gradebook, ledger
from course.grading.records.accept import accept
from course.grading.results import refresh, report
from course.grading.results.feedback import HideHiddenTests
from course.grading.results.review_note import write_note

A = "03_metrics"


def _results(roc: float | None, memo: float | None = None) -> dict:
    return {"notebooks": {A: {"grades": {"roc": [roc, False], "memo": [memo, True]}}}}


@pytest.fixture
def book(tmp_path) -> str:
    """A gradebook with one held submission: roc (code, 2 points, autograder 2), a memo."""
    put_venv_on_path()  # nbgrader runs alembic on a new gradebook
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment(A)
        gb.add_notebook(A, A)
        gb.add_grade_cell("roc", A, A, max_score=2, cell_type="code")
        gb.add_grade_cell("memo", A, A, max_score=5, cell_type="markdown")
        gb.add_student("tom")
        gb.add_submission(A, "tom")
    gradebook.merge_scores(url, A, "tom", _results(2.0), gradebook.Hold.REVIEW)
    return url


def _type(url: str, item: str, score: float) -> None:
    """What the formgrader does when a grader types a score."""
    with Gradebook(url) as gb:
        grade = gb.find_grade(item, A, A, "tom")
        grade.manual_score, grade.needs_manual_grade = score, False
        gb.db.commit()


def _repoint(url: str, item: str, points: float) -> None:
    """What ``grade`` does after ``course release`` with new points: the gradebook's maximum."""
    with Gradebook(url) as gb:
        gb.find_grade_cell(item, A, A).max_score = points
        gb.db.commit()


def _grade(url: str, item: str) -> tuple[float | None, float | None, bool, float]:
    with Gradebook(url) as gb:
        g = gb.find_grade(item, A, A, "tom")
        return g.manual_score, g.auto_score, g.needs_manual_grade, g.score


def test_a_typed_score_equal_to_the_old_autograde_follows_the_new_points(book):
    _type(book, "roc", 2)
    _type(book, "memo", 4)
    _repoint(book, "roc", 3)
    notes = gradebook.merge_scores(book, A, "tom", _results(3.0), gradebook.Hold.REVIEW,
                                   {"roc": 2, "memo": 5})
    assert _grade(book, "roc") == (3.0, 3.0, False, 3.0)
    assert _grade(book, "memo")[0] == 4.0, "a memo whose points did not change is kept"
    assert notes == ["roc: your score 2 was the autograder's on the old points (2); it follows "
                     "the autograder's 3 of 3"]


def test_a_typed_score_that_differs_goes_back_to_review_when_points_change(book):
    _type(book, "roc", 1)
    _repoint(book, "roc", 3)
    notes = gradebook.merge_scores(book, A, "tom", _results(3.0), gradebook.Hold.REVIEW,
                                   {"roc": 2, "memo": 5})
    assert _grade(book, "roc")[:3] == (1.0, 3.0, True)
    assert notes[0].startswith("roc: its points changed (2 -> 3)") and "grade it again" in notes[0]


def test_without_a_points_change_a_typed_score_stands(book):
    _type(book, "roc", 1)
    assert gradebook.merge_scores(book, A, "tom", _results(2.0), gradebook.Hold.REVIEW,
                                  {"roc": 2, "memo": 5}) == []
    assert _grade(book, "roc")[:3] == (1.0, 2.0, False)


def test_accept_takes_the_autograders_scores_item_by_item(book, tmp_path):
    done = accept(tmp_path, book, A, "tom")
    assert done.accepted == {"roc": 2.0} and "memo" in done.kept
    assert _grade(book, "roc")[:3] == (2.0, 2.0, False)
    _type(book, "roc", 1)
    again = accept(tmp_path, book, A, "tom")
    assert "kept your score 1 (the autograder gave 2)" in again.kept["roc"]
    assert _grade(book, "roc")[0] == 1.0
    assert accept(tmp_path, book, A, "tom", ["roc"]).accepted == {"roc": 2.0}
    with pytest.raises(GradingError, match="no item nope"):
        accept(tmp_path, book, A, "tom", ["nope"])


def test_accept_says_why_it_was_held_and_refuses_withheld_points(book, tmp_path):
    why = "cell 4 (roc_test) ran longer than the 5 s limit and was stopped"
    ledger.save(tmp_path / "grades.csv", A, {"tom": ledger.Record(report.REVIEW, [why])})
    assert accept(tmp_path, book, A, "tom").reasons == [why]
    ledger.save(tmp_path / "grades.csv", A, {"tom": ledger.Record(
        report.REVIEW, ["points withheld until reviewed (the autograder gave 2)"])})
    with pytest.raises(GradingError, match="withheld for suspicious code"):
        accept(tmp_path, book, A, "tom")


def test_feedback_lists_who_still_has_items_to_grade_by_hand(book, tmp_path, monkeypatch):
    config = Config()
    config.CourseDirectory.db_url = book
    monkeypatch.setattr("course.grading.coursedir.load_config", lambda root: config)
    assert refresh.ungraded(tmp_path, A, ["tom"]) == {"tom": ["roc", "memo"]}
    accept(tmp_path, book, A, "tom")
    _type(book, "memo", 4)
    assert refresh.ungraded(tmp_path, A, ["tom"]) == {}


def test_course_feedback_refuses_while_a_memo_is_ungraded(book, tmp_path, monkeypatch, capsys):
    from course.cli import main

    config = Config()
    config.CourseDirectory.db_url = book
    monkeypatch.setattr("course.grading.coursedir.load_config", lambda root: config)
    monkeypatch.setattr("course.grading.coursedir.course_root", lambda path: tmp_path)
    monkeypatch.setattr("course.grading.coursedir.check_assignment", lambda *a: None)
    written = []
    monkeypatch.setattr(refresh, "refresh_feedback",
                        lambda root, a, s: written.append(s) or refresh.Refreshed(["tom"]))
    assert main(["feedback", A, "tom"]) == 2
    err = capsys.readouterr().err
    assert "feedback not written" in err and "tom (roc, memo)" in err and not written
    assert main(["feedback", A, "tom", "--allow-ungraded"]) == 0
    assert "WARNING" in capsys.readouterr().err and written == [["tom"]]


def test_formgrader_passes_root_ip_and_no_browser_through(tmp_path, capsys):
    from nbtools import make_course

    from course.cli import main

    course = make_course(tmp_path / "course", [])
    with socket.socket() as taken:
        taken.bind(("localhost", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["formgrader", "--dry-run", "--port", str(port), "--allow-root",
                     "--no-browser", "--ip", "127.0.0.1", "--course-dir", str(course)]) == 0
    out = capsys.readouterr().out
    assert "--allow-root" in out and "--no-browser" in out and "--ip=127.0.0.1" in out
    assert "--ServerApp.port_retries=0" in out, "the server may not move to another port"
    assert f"--port={port} " not in out and f"http://127.0.0.1:{port}/" not in out
    assert f"(port {port} is taken)" in out


def test_a_not_graded_row_is_kept_until_the_instructor_acts():
    records = {"zoe": ledger.Record(report.NOT_GRADED, ["zoe_03.ipynb: no roster id matches"]),
               "ann": ledger.Record(report.GRADED)}
    kept = stray_outcomes(Collection(), records)
    assert [(o.student, o.status) for o in kept] == [("zoe", report.NOT_GRADED)]
    assert "no roster id matches" in kept[0].reasons[0] and "until you act" in kept[0].reasons[1]
    assert stray_outcomes(Collection(), records, {"zoe"}) == [], "on the roster now"


def test_the_summary_does_not_count_a_notebook_not_graded_as_not_final():
    out = io.StringIO()
    report.summary([report.Outcome("ann", score=1, max_score=1),
                    report.Outcome("zoe", report.NOT_GRADED, ["x"])], out)
    assert "1 of 1 final (the 1 not graded are not counted)" in out.getvalue()


def test_hub_ids_that_are_not_account_names_are_listed_with_a_name_that_would_do(tmp_path):
    from course import hub

    roster = tmp_path / "roster.csv"
    roster.write_text("id\nada\neve@acme.io\nBob\n")
    with pytest.raises(InstructorError) as refused:
        hub.account_names(roster, ["teach"])
    said = str(refused.value)
    assert "'eve@acme.io', 'Bob' cannot be a hub account" in said
    assert "eve@acme.io -> eve" in said and "Bob -> bob" in said and "IS the account" in said


def _note_notebook(folder: Path) -> Path:
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Metrics")])
    path = folder / f"{A}.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_hold_reason_is_on_top_of_the_notebook_and_never_in_feedback(tmp_path):
    path = _note_notebook(tmp_path / "autograded" / "tom" / A)
    write_note(path.parent, ["ran longer than the 5 s limit"], A, "tom")
    write_note(path.parent, ["ran longer than the 5 s limit"], A, "tom")
    nb = nbformat.read(path, as_version=4)
    assert len(nb.cells) == 2, "written once, replaced on the next run"
    assert "ran longer" in nb.cells[0].source and f"course accept {A} tom" in nb.cells[0].source
    shown, _ = HideHiddenTests().preprocess(nb, {})
    assert [c.source for c in shown.cells] == ["# Metrics"]
    write_note(path.parent, None, A, "tom")
    assert len(nbformat.read(path, as_version=4).cells) == 1, "removed once graded"


def test_the_note_keeps_nbgraders_read_only_mode_and_leaves_unchanged_notebooks_alone(
        tmp_path, monkeypatch):
    """nbgrader writes autograded notebooks 444; as an instructor's account (not root) a
    plain write fails with PermissionError, as it did on the hub."""
    path = _note_notebook(tmp_path / "autograded" / "tom" / A)
    path.chmod(0o444)
    writes = []
    real_write = nbformat.write
    monkeypatch.setattr(nbformat, "write", lambda nb, where: (
        writes.append(oct(Path(where).stat().st_mode & 0o777)), real_write(nb, where))[1])
    write_note(path.parent, None, A, "tom")
    assert writes == [], "a notebook without a note and none to add is not rewritten"
    write_note(path.parent, ["a dead kernel"], A, "tom")
    assert writes == ["0o644"], "made writable by its owner for the write"
    assert path.stat().st_mode & 0o777 == 0o444, "and read-only again after it"
    write_note(path.parent, ["a dead kernel"], A, "tom")
    assert len(writes) == 1, "the same note is not written again"


def test_hints_stay_folded_in_feedback_and_the_formgrader():
    from course.grading.results.sanitize import SanitizeStudentHTML

    hint = "<details><summary>Hint</summary>\n\n1. Divide by everyone flagged.\n</details>"
    cell = nbformat.v4.new_markdown_cell(hint)
    cleaned, _ = SanitizeStudentHTML().preprocess_cell(cell, {}, 0)
    assert "<details>" in cleaned.source and "&lt;details" not in cleaned.source
    script = nbformat.v4.new_markdown_cell("<details><script>alert(1)</script></details>")
    assert "<script>" not in SanitizeStudentHTML().preprocess_cell(script, {}, 0)[0].source


def test_a_stopped_cell_shows_one_line_in_feedback():
    cell = nbformat.v4.new_code_cell("while True:\n    pass")
    cell.outputs = [nbformat.v4.new_output("error", ename="KeyboardInterrupt", evalue="",
                                           traceback=["Traceback ...", "KeyboardInterrupt"]),
                    nbformat.v4.new_output("error", ename="CellTimeoutError", evalue="x",
                                           traceback=["Traceback ...", "CellTimeoutError"])]
    shown, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert [o.traceback for o in shown.outputs] == [
        ["Stopped: this cell ran longer than the time limit and was stopped"]]
