"""End to end for every module: nbgrader's release, ``python -m course grade``, export.

In a scratch course, each module's solution scores full marks and a submission
with a wrong answer in every exercise zero on each item, graded as an instructor
grades (sandboxed, hidden tests judged in the grader); written answers reach
formgrader as manual grades. The blank release is checked in
tests/test_notebook_grading.py (every check says "not answered yet"), and bad
submissions (loops, crashes, edited or deleted test cells, invalid JSON) in the
cohort test of tests/test_grading_cli.py.
"""

import csv
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbtools import (
    course_env,
    exercises_by_answer_cell,
    grading,
    is_answer_cell,
    is_test_cell,
    make_course,
    module_ids,
    nbgrader,
    read,
    release_path,
    require_sandbox,
    solution_path,
)

from course.notebook import is_hand_graded

pytestmark = pytest.mark.slow
MODULES = module_ids()


def _submit(course, student, module, nb_or_text):
    folder = course / "submitted" / student / module
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{module}.ipynb"
    if isinstance(nb_or_text, str):
        target.write_text(nb_or_text)
    else:
        nbformat.write(nb_or_text, target)


def _replace_answers(module, pick):
    """The blank release with each answer cell replaced by ``pick(exercise)``."""
    nb = read(release_path(module))
    by_answer = exercises_by_answer_cell(module)
    for cell in nb.cells:
        exercise = by_answer.get(grading(cell).get("grade_id"))
        if is_answer_cell(cell) and exercise and pick(exercise):
            cell.source = pick(exercise)
    return nb


def _scores(course, module, student):
    """``{grade_id: (auto_score, max_score, needs_manual_grade)}`` from the gradebook."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(module, module, student)
        return {g.name: (g.auto_score, g.max_score, g.needs_manual_grade) for g in nb.grades}


def _test_ids(module):
    return [grading(c)["grade_id"] for c in read(solution_path(module)).cells if is_test_cell(c)]


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    require_sandbox()
    course = make_course(tmp_path_factory.mktemp("course"), MODULES)
    for module in MODULES:
        # no generate_assignment first: `course grade` records the assignment itself
        _submit(course, "solution", module, read(solution_path(module)))
        _submit(course, "wrong", module, _replace_answers(module, lambda e: e.wrong[0].code))
        graded = subprocess.run([sys.executable, "-m", "course", "grade", module, "submitted",
                                 "--workers", "2"], cwd=course, env=course_env(),
                                capture_output=True, text=True, timeout=900)
        assert graded.returncode == 0, graded.stdout + graded.stderr
    nbgrader("export", "--to", "nbgrader_grades.csv", cwd=course)
    return course


@pytest.mark.parametrize("module", MODULES)
def test_solution_scores_full_marks(graded_course, module):
    scores = _scores(graded_course, module, "solution")
    for grade_id in _test_ids(module):
        score, maximum, _ = scores[grade_id]
        assert score == maximum, f"{module} {grade_id}: solution scored {score}/{maximum}"


@pytest.mark.parametrize("module", MODULES)
def test_wrong_answers_score_zero_on_each_item(graded_course, module):
    scores = _scores(graded_course, module, "wrong")
    earned = {g: scores[g][0] for g in _test_ids(module) if scores[g][0] != 0}
    assert not earned, f"{module}: wrong answers earned points on {earned}"


def test_export_and_feedback(graded_course):
    rows = list(csv.DictReader((graded_course / "nbgrader_grades.csv").open()))
    by = {(r["student_id"], r["assignment"]): float(r["raw_score"]) for r in rows}
    for module in MODULES:
        assert by[("wrong", module)] == 0
        autograded = sum(_scores(graded_course, module, "solution")[g][1]
                         for g in _test_ids(module))
        assert by[("solution", module)] >= autograded
        html = graded_course / "feedback" / "solution" / module / f"{module}.html"
        assert html.exists(), f"no feedback for {module}"


@pytest.mark.parametrize("module", MODULES)
def test_written_answers_reach_formgrader_as_manual_grades(graded_course, module):
    """Formgrader lists what the gradebook marks for manual grading, with its points."""
    cells = read(solution_path(module)).cells
    manual = {grading(c)["grade_id"]: grading(c)["points"] for c in cells
              if is_hand_graded(c)}
    scores = _scores(graded_course, module, "solution")
    for grade_id, points in manual.items():
        _, maximum, needs_manual = scores[grade_id]
        assert needs_manual and maximum == points, (module, grade_id, scores[grade_id])
