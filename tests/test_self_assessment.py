"""Self-paced learners mark their own memos: ``progress --self-assess`` (issue 28, item 7)."""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from nbtools import ROOT, release_path

from course.cli import main
from course.self_assessment import FILE

MODULE = "03_metrics"


@pytest.fixture
def course(tmp_path):
    """A course folder with the release of MODULE and the learner's copy of it."""
    (tmp_path / "notebooks" / MODULE).mkdir(parents=True)
    shutil.copy(release_path(MODULE), tmp_path / "notebooks" / MODULE)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "my-work").mkdir()
    shutil.copy(release_path(MODULE), tmp_path / "my-work" / f"{MODULE}.ipynb")
    return tmp_path


def progress_saved(course, capsys) -> str:
    assert main(["progress", "--saved", "--course-dir", str(course)]) == 0
    return capsys.readouterr().out


def test_progress_points_to_the_mark_scheme_and_shows_the_self_assessed_mark(course, capsys):
    before = progress_saved(course, capsys)
    assert "by an instructor" not in before
    assert "solutions/<module>/<module>.ipynb" in before, before
    assert "decision_memo" in before and "not marked yet (5 points)" in before, before
    notebook = (course / "my-work" / f"{MODULE}.ipynb").read_bytes()
    assert main(["progress", "--self-assess", "03", "memo", "4",
                 "--course-dir", str(course)]) == 0
    assert "Recorded your own mark for 03_metrics decision_memo: 4/5" in capsys.readouterr().out
    after = progress_saved(course, capsys)
    assert "self-assessed 4/5" in after and "not marked yet" not in after, after
    # kept in my-work/, never in a notebook the learner wrote
    assert json.loads((course / "my-work" / FILE).read_text()) == {
        MODULE: {"decision_memo": 4.0}}
    assert (course / "my-work" / f"{MODULE}.ipynb").read_bytes() == notebook
    nbformat.read(course / "my-work" / f"{MODULE}.ipynb", as_version=4)


@pytest.mark.parametrize("args, message", [
    (["03", "essay", "4"], "'essay' is not one written answer of 03_metrics"),
    (["03", "memo", "9"], "between 0 and 5"),
    (["03", "memo", "four"], "should be a number"),
    (["99", "memo", "1"], "is not one module"),
])
def test_self_assess_bad_input_is_a_clear_error(course, capsys, args, message):
    assert main(["progress", "--self-assess", *args, "--course-dir", str(course)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err
    assert not (course / "my-work" / FILE).exists()
