"""The Validate report for learners (issue 28, item 4): course.validate_server."""

from __future__ import annotations

import re

import nbformat
from nbtools import grading, is_test_cell, release_path

from course.notebook import is_hand_graded
from course.validate_server import BY_HAND, NOT_ANSWERED, WRONG, for_learner

MODULE = "03_metrics"


def failed_entries(notebook):
    """Entries as nbgrader reports them: the first two test cells (one unanswered, one
    wrong) and the memo, with nbgrader's errors."""
    tests = [c for c in notebook.cells if is_test_cell(c)][:2]
    memo = next(c for c in notebook.cells
                if is_hand_graded(c))
    long = ("\x1b[0;31m✘ `x` is a share between 0 and 1, " + "and this message goes on " * 8
            + "to the end.\x1b[0m")  # coloured, as the kernel's traceback is
    raws = ["… `precision` is not answered yet: replace None with your answer.", long,
            "You did not provide a response."]
    return [{"source": c.source.strip(), "error": raw, "raw_error": raw}
            for c, raw in zip([*tests, memo], raws, strict=True)], [*tests, memo]


def test_each_failed_cell_says_unanswered_wrong_or_graded_by_hand_in_wrapping_text(tmp_path):
    path = tmp_path / f"{MODULE}.ipynb"
    notebook = nbformat.read(release_path(MODULE), as_version=4)
    nbformat.write(notebook, path)
    entries, cells = failed_entries(notebook)
    shown = for_learner({"failed": entries}, path)["failed"]
    states = [entry["source"].split(":")[0] for entry in shown]
    assert states == [NOT_ANSWERED, WRONG, BY_HAND], shown
    names = [grading(c)["grade_id"].removesuffix("_test") for c in cells]
    for entry, name, cell in zip(shown, names, cells, strict=True):
        assert f"{name} ({grading(cell)['points']:g} points)" in entry["source"]
        assert "\n" not in entry["source"] and len(entry["source"]) < 60
        assert entry["error"].startswith('<span style="white-space: pre-wrap;')
    assert "is not answered yet" in shown[0]["error"]
    assert "to the end." in shown[1]["error"] and "&lt;" not in shown[1]["error"]
    assert "\x1b" not in shown[1]["error"] and "[0;31m" not in shown[1]["raw_error"]
    assert f"solutions/{MODULE}/{MODULE}.ipynb" in shown[2]["error"]
    assert "mark scheme" in shown[2]["error"]


def test_html_in_a_message_is_shown_as_text_and_other_results_pass_through(tmp_path):
    path = tmp_path / f"{MODULE}.ipynb"
    notebook = nbformat.read(release_path(MODULE), as_version=4)
    nbformat.write(notebook, path)
    entries, _ = failed_entries(notebook)
    entries[1]["raw_error"] = "✘ <script>alert(1)</script> is wrong"
    shown = for_learner({"failed": entries}, path)["failed"]
    assert "<script>" not in shown[1]["error"] and "&lt;script&gt;" in shown[1]["error"]
    assert for_learner({"changed": [{"source": "x"}]}, path) == {"changed": [{"source": "x"}]}
    assert for_learner({}, path) == {}
    assert re.search("not answered", for_learner({"failed": entries}, tmp_path / "nope.ipynb")
                     ["failed"][0]["raw_error"])
