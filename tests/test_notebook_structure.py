"""Static checks of every module's notebooks: grading metadata, no outputs, coverage."""

import re

import nbformat
import pytest
from nbformat import NotebookNode
from nbtools import (
    ROOT,
    grading,
    is_answer_cell,
    is_test_cell,
    load_spec,
    module_ids,
    read,
    release_path,
    solution_path,
    visible_part,
)

MODULES = module_ids()
PLACEHOLDER = re.compile(r"^\s*[A-Za-z_]\w*\s*=\s*None\b", re.M)


def test_course_has_modules():
    assert "00_welcome" in MODULES and "03_metrics" in MODULES


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
@pytest.mark.parametrize("module", MODULES)
def test_committed_without_outputs(module, folder):
    path = ROOT / folder / module / f"{module}.ipynb"
    nb = read(path)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("module", MODULES)
def test_grading_cells_are_well_formed(module):
    nb = read(solution_path(module))
    ids = [grading(c)["grade_id"] for c in nb.cells if grading(c).get("grade_id")]
    assert len(ids) == len(set(ids)), f"duplicate grade_id in {module}"
    for cell in nb.cells:
        meta = grading(cell)
        if is_test_cell(cell):
            assert meta.get("locked") and meta.get("points", 0) > 0, meta["grade_id"]
            assert "raises-exception" in cell.metadata.get("tags", []), (
                f"{meta['grade_id']}: tag test cells raises-exception so Run All goes on")
            visible = visible_part(cell.source).strip()
            assert len(visible.splitlines()) == 1 and visible.startswith("check("), (
                f"{meta['grade_id']}: the visible check should be one line, check(name, value)")
        if is_answer_cell(cell):
            assert PLACEHOLDER.search(cell.source.split("### BEGIN SOLUTION")[0]), (
                f"{meta['grade_id']}: the answer cell must start with `name = None  # ...` "
                "so the release runs to the end")
            assert "### BEGIN SOLUTION" in cell.source, meta["grade_id"]


@pytest.mark.parametrize("module", [m for m in MODULES if m != "00_welcome"])
def test_module_has_enough_graded_work(module):
    cells = read(solution_path(module)).cells
    tests = [c for c in cells if is_test_cell(c)]
    manual = [c for c in cells if grading(c).get("grade") and grading(c).get("solution")]
    assert len(tests) >= 6, f"{module}: {len(tests)} autograded exercises, need 6"
    assert sum(grading(c)["points"] for c in tests) >= 20, f"{module}: under 20 points"
    assert manual, f"{module}: no decision memo graded by hand"


@pytest.mark.parametrize("module", MODULES)
def test_every_exercise_has_wrong_answers(module):
    spec = load_spec(ROOT, module)
    for name, exercise in spec.items():
        assert exercise.wrong, f"{module}: {name} lists no wrong answer in exercises.toml"
        assert any(w.says for w in exercise.wrong) or exercise.kind in ("choice", "best"), (
            f"{module}: {name} names no mistake (no wrong answer has `says`)")


@pytest.mark.parametrize("module", MODULES)
def test_release_exists(module):
    assert release_path(module).exists(), (
        f"notebooks/{module} is missing: run `nbgrader generate_assignment {module} --force`")


DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
@pytest.mark.parametrize("module", MODULES)
def test_no_dollar_outside_display_maths(module, folder):
    """Two $ in one markdown cell render as maths in JupyterLab, even escaped as \\$:
    amounts are written USD 50K; $$...$$ is kept for formulas."""
    nb = read(ROOT / folder / module / f"{module}.ipynb")
    stray = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "markdown" and "$" in DISPLAY_MATH.sub("", c.source)]
    assert not stray, f"{folder}/{module}: markdown cells {stray} hold a $ outside $$...$$"


# --- Written answers: the release shows what is assessed, the source how to grade it ---

#: What a released mark scheme may number: points, criteria, the memo's length, and
#: references to parts of the notebook. Any other figure is part of an answer.
ALLOWED_NUMBERS = re.compile(
    r"\(\d+ points?[^)]*\)|^\s*\d+\.\s|(?<=\|)\s*#?\s*\d*\s*(?=\|)|\d+–\d+ words|"
    r"\b(?:[Ee]xercises?|[Cc]riterion|[Ss]ection|[Pp]art|[Mm]odule)s? \d+(?:–\d+)?|"
    r"\b1 per question|\b\d+,\d{3} applicants", re.M)
POINTS = re.compile(r"\((\d+) points?\b|^\|\s*\d+\s*\|.*\|\s*(\d+)\s*\|$", re.M)


def written_answers(module: str) -> list[tuple[int, NotebookNode, NotebookNode]]:
    """Each hand-graded answer cell of the source, with the mark scheme cell above it."""
    cells = read(solution_path(module)).cells
    return [(i, cells[i - 1], cell) for i, cell in enumerate(cells)
            if grading(cell).get("grade") and grading(cell).get("solution")]


def figures_in_scheme(text: str) -> list[str]:
    """The numbers a mark scheme states besides points, criteria and references."""
    return re.findall(r"\d[\d,.%]*", ALLOWED_NUMBERS.sub(" ", text))


def scheme_points(text: str) -> list[int]:
    """The points of each criterion, in a list or a table (the heading's total left out)."""
    body = text.split("\n", 1)[1] if "\n" in text else ""  # below the heading's total
    points = [int(a or b) for a, b in POINTS.findall(body)]
    if not points and re.search(r"One point (for )?each", text):  # a numbered list
        points = [1] * len(re.findall(r"^\s*\d+\.\s", body, re.M))
    return points


@pytest.mark.parametrize("module", [m for m in MODULES if written_answers(m)])
def test_mark_schemes_show_criteria_and_points_but_not_the_answer(module):
    release = {grading(c).get("grade_id"): c for c in read(release_path(module)).cells}
    for _, scheme, answer in written_answers(module):
        name, points = grading(answer)["grade_id"], grading(answer)["points"]
        assert grading(scheme).get("grade_id") == f"{name}_scheme", (
            f"{module}: the cell above the written answer {name} is not its mark scheme")
        assert grading(scheme).get("locked") and not grading(scheme).get("solution")
        shown = release[f"{name}_scheme"].source
        assert shown == scheme.source, f"{module}: {name}'s scheme differs in the release"
        assert f"({points} points" in shown.split("\n\n")[0], (
            f"{module}: {name}'s scheme should state its {points} points in its first line")
        criteria = scheme_points(shown)
        assert sum(criteria) == points or len(criteria) == 0 and "1 per question" in shown, (
            f"{module}: {name}'s criteria give {criteria}, the answer is worth {points}")
        assert not figures_in_scheme(shown), (
            f"{module}: {name}'s released scheme states figures the memo is meant to find: "
            f"{figures_in_scheme(shown)}; keep them in the grader's notes (solution block)")
        assert "Grader's notes" in answer.source.split("### BEGIN SOLUTION")[1], (
            f"{module}: {name} has no grader's notes in its solution block")
        assert "Grader's notes" not in release[name].source


# --- Figures: each one captioned where the learner sees it -----------------------------

DRAWS = re.compile(r"\bplt\.show\(|\.plot\(|\bplots\.\w+\(|Display\.from_|\.imshow\(")
MARKDOWN_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\([^)]*\)|<img\b(?P<tag>[^>]*)>")
SENTENCE = re.compile(r"\w.*\w.*[.!?][*_)\"”’]*$", re.S)


def caption_problems(cells: list[NotebookNode]) -> list[str]:
    """Figures without a caption: a drawing cell whose next cell does not open with a
    sentence of four words or more, and markdown images without alt text."""
    problems = []
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            for image in MARKDOWN_IMAGE.finditer(cell.source):
                alt = image.group("alt") if image.group("tag") is None else (
                    re.search(r'alt="([^"]*)"', image.group("tag")) or [None, ""])[1]
                if not (alt or "").strip():
                    problems.append(f"cell {i}: an image without alt text")
        elif DRAWS.search(cell.source):
            after = cells[i + 1] if i + 1 < len(cells) else None
            first = after.source.strip().split("\n\n")[0] if after is not None else ""
            if not (after is not None and after.cell_type == "markdown"
                    and not first.startswith(("#", "|", "-", ">", "<"))
                    and len(first.split()) >= 4 and SENTENCE.search(first)):
                problems.append(f"cell {i}: a figure with no caption sentence in the cell under it")
    return problems


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
@pytest.mark.parametrize("module", MODULES)
def test_every_figure_is_captioned(module, folder):
    problems = caption_problems(read(ROOT / folder / module / f"{module}.ipynb").cells)
    assert not problems, f"{folder}/{module}: " + "; ".join(problems)


def test_caption_lint_catches_a_bare_figure_and_an_image_without_alt_text():
    new = nbformat.v4
    cells = [new.new_code_cell("ax.plot(x, y)\nplt.show()"), new.new_markdown_cell("## Next"),
             new.new_code_cell("plt.show()"), new.new_markdown_cell("*What to see:* it rises."),
             new.new_markdown_cell("![](figure.png) and ![a chart of costs](costs.png)")]
    assert caption_problems(cells) == [
        "cell 0: a figure with no caption sentence in the cell under it",
        "cell 4: an image without alt text"]
