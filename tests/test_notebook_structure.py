"""Static checks of every module's notebooks: grading metadata, no outputs, coverage."""


import nbformat
import pytest
from nbformat import NotebookNode
from nbtools import ROOT, grading, module_ids, read, release_path, solution_path

from course.authoring.rules import (
    caption_problems,
    grading_cell_problems,
    hand_graded,
    markdown_problems,
    memo_problems,
    module_problems,
    readme_problems,
    workload_problems,
)

MODULES = module_ids()


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
def test_module_keeps_the_course_rules(module):
    """The rules `release` checks (course/authoring/rules.py), for every module's source."""
    problems = module_problems(ROOT, module)
    assert not problems, f"{module}:\n" + "\n".join(problems)


@pytest.mark.parametrize("module", MODULES)
def test_release_exists(module):
    assert release_path(module).exists(), (
        f"notebooks/{module} is missing: run `nbgrader generate_assignment {module} --force`")


@pytest.mark.parametrize("module", MODULES)
def test_release_keeps_the_markdown_rules(module):
    """No stray $ and a caption under every figure in the learner's copy too."""
    problems = markdown_problems(read(release_path(module)).cells)
    assert not problems, f"notebooks/{module}: " + "; ".join(problems)


# --- Written answers: the release shows what is assessed, the source how to grade it ---

def written_answers(module: str) -> list[tuple[int, NotebookNode, NotebookNode]]:
    """Each hand-graded answer cell of the source, with the mark scheme cell above it."""
    cells = read(solution_path(module)).cells
    return [(i, cells[i - 1], cells[i]) for i in hand_graded(cells)]


@pytest.mark.parametrize("module", [m for m in MODULES if written_answers(m)])
def test_mark_schemes_are_released_as_written_and_notes_stay_in_the_source(module):
    release = {grading(c).get("grade_id"): c for c in read(release_path(module)).cells}
    for _, scheme, answer in written_answers(module):
        name = grading(answer)["grade_id"]
        assert release[f"{name}_scheme"].source == scheme.source, (
            f"{module}: {name}'s scheme differs in the release")
        assert "Grader's notes" not in release[name].source


# --- The rules can fail: each one on a small notebook that breaks it -------------------

def _exercise(name: str = "share", test_id: str = "share_test", tags=("raises-exception",),
              check: str = 'check("share", share)') -> list[NotebookNode]:
    new = nbformat.v4
    answer = new.new_code_cell(f"{name} = None  # a share\n### BEGIN SOLUTION\n{name} = 0.5\n"
                               "### END SOLUTION")
    answer.metadata.nbgrader = {"solution": True, "grade": False, "grade_id": f"{name}_answer"}
    test = new.new_code_cell(check)
    test.metadata.nbgrader = {"grade": True, "solution": False, "locked": True, "points": 2,
                              "grade_id": test_id}
    test.metadata.tags = list(tags)
    return [answer, test]


def test_rules_name_the_cell_and_what_is_wrong():
    cells = _exercise(test_id="share_check", tags=())
    assert grading_cell_problems(cells) == [
        "cell 2 (share_check): tag test cells `raises-exception` so Run All goes on",
        "cell 2 (share_check): the test cell of 'share' is named `share_test` (grading, "
        "progress and the report find the exercise by it)"]
    assert grading_cell_problems(_exercise()) == []
    two_lines = _exercise(check='check("share", share)\nprint(share)')
    assert "cell 2 (share_test): the visible check is one line" in grading_cell_problems(
        two_lines)[0]


def test_workload_and_memo_rules_fail_on_a_thin_module():
    cells = _exercise()
    problems = workload_problems("09_new", cells)
    assert problems == ["1 autograded exercises; a module has at least 6",
                        "2 autograded points; a module has at least 20",
                        "no decision memo graded by hand (a cell with nbgrader grade and "
                        "solution both true)"]
    memo = nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nShip it.\n### END SOLUTION")
    memo.metadata.nbgrader = {"grade": True, "solution": True, "points": 5, "grade_id": "memo"}
    assert memo_problems([*cells, memo])[0].startswith(
        "cell 3 (memo): the cell above a memo is its mark scheme")


def test_markdown_and_readme_rules_fail(tmp_path):
    stray = nbformat.v4.new_markdown_cell("It costs $5 and $6.")
    assert markdown_problems([stray])[0].startswith("cell 1: a $ outside $$...$$")
    (tmp_path / "README.md").write_text("| 00 Welcome | ... |\n")
    assert readme_problems(tmp_path, "09_new")[0].startswith(
        "README.md: the module table has no row for 09_new")
    assert readme_problems(ROOT, "03_metrics") == []


# --- Figures: each one captioned where the learner sees it -----------------------------

def test_caption_lint_catches_a_bare_figure_and_an_image_without_alt_text():
    new = nbformat.v4
    cells = [new.new_code_cell("ax.plot(x, y)\nplt.show()"), new.new_markdown_cell("## Next"),
             new.new_code_cell("plt.show()"), new.new_markdown_cell("*What to see:* it rises."),
             new.new_markdown_cell("![](figure.png) and ![a chart of costs](costs.png)")]
    assert caption_problems(cells) == [
        "cell 1: a figure with no caption sentence in the cell under it",
        "cell 1: show figures with `plots.show(fig, alt)`, whose alt sentence a screen reader "
        "reads (plt.show gives the image no text alternative)",
        "cell 3: show figures with `plots.show(fig, alt)`, whose alt sentence a screen reader "
        "reads (plt.show gives the image no text alternative)",
        "cell 5: an image without alt text"]


def test_release_stops_on_a_broken_rule_before_running_anything(tmp_path):
    from course.authoring.release import release
    from course.errors import AuthorError

    folder = tmp_path / "solutions" / "09_new"
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=_exercise(test_id="share_check")),
                   folder / "09_new.ipynb")
    (folder / "exercises.toml").write_text('[share]\nkind = "share"\nhint = "a share"\n')
    (tmp_path / "README.md").write_text("# A course\n")
    with pytest.raises(AuthorError) as raised:
        release(tmp_path, "09_new", check=True)
    message = str(raised.value)
    for problem in ("cell 2 (share_check)", "at least 6", "no decision memo",
                    "[share]: lists no wrong answer", "README.md: the module table"):
        assert problem in message, message
