"""06_monitoring cannot be graded without doing the work (issue 26, item 6).

Three exercises of section 6 are judged against data the notebook itself
produces: ``lr_ms_per_form`` against the learner's recorded ``batch_seconds``,
``forest_cost_per_1000`` and ``live_choice`` against the ``costs`` table and
``size_budget_mb``. A submission that deleted all of the module's code and made
up the timings, the table and the budget used to earn those points. Now the
cells that make that data are locked (nbgrader restores them), deleting one or
changing a name it binds is a withheld ``reference data`` flag, and the timing
check times the call itself and refuses recorded times the machine cannot have
produced.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbtools import course_env, grading, make_course, read, release_path, require_sandbox

from course import checks
from course.grading.coursedir import load_config
from course.grading.intake import integrity
from course.grading.records import gradebook
from course.notebook import is_answer_cell, is_test_cell

MODULE = "06_monitoring"
HONEST_TIMING = ("batch_seconds = []\nfor _ in range(3):\n    start = time.perf_counter()\n"
                 "    model.predict_proba(batch)\n"
                 "    batch_seconds.append(time.perf_counter() - start)\n"
                 "lr_ms_per_form = 1000 * min(batch_seconds) / len(batch)")
HONEST_CHOICE = ('live_choice = costs.loc[costs["size (MB)"] <= size_budget_mb, '
                 '"accuracy"].idxmax()')
MADE_UP_TIMING = ("batch = list(range(18000))\nbatch_seconds = [0.0004, 0.0005, 0.0004]\n"
                  "lr_ms_per_form = 1000 * min(batch_seconds) / len(batch)")
MADE_UP_CHOICE = (
    "import pandas as pd\n"
    "costs = pd.DataFrame({'accuracy': {'logistic regression': 0.8, 'random forest': 0.81},\n"
    "                      'size (MB)': {'logistic regression': 0.1, 'random forest': 1.0},\n"
    "                      'ms per form (batch)': {'logistic regression': 0.001,\n"
    "                                              'random forest': 0.01}})\n"
    "size_budget_mb = 5\n"
    "live_choice = 'random forest'")
ITEMS = ("lr_ms_per_form_test", "live_choice_test")


# --- the timing check --------------------------------------------------------------------

def test_recorded_times_near_the_checks_own_measurement_are_plausible():
    key = checks.timing("t", 1000 * 0.031 / 18000, seconds=[0.031, 0.035], forms=18000,
                        measured=[0.030, 0.029, 0.040])
    assert key == "1.00e+03"


@pytest.mark.parametrize("recorded", [[0.0004], [0.006], [1.0], [30.0]])
def test_recorded_times_the_machine_cannot_have_produced_are_refused(recorded):
    answer = 1000 * min(recorded) / 18000  # consistent with the made-up times
    with pytest.raises(checks.CheckFailed, match="cannot be a time of this call"):
        checks.timing("t", answer, seconds=recorded, forms=18000, measured=[0.03, 0.031])
    assert checks.timing("t", answer, seconds=recorded, forms=18000) == "1.00e+03", \
        "without the check's own measurement, made-up times were accepted"


def test_timed_returns_one_positive_time_per_run():
    times = checks.timed(sorted, list(range(1000)), repeats=4)
    assert len(times) == 4 and all(t > 0 for t in times)


def test_the_hidden_timing_test_measures_the_notebooks_model_on_its_batch():
    test = next(c for c in read(release_path(MODULE)).cells
                if grading(c).get("grade_id") == "lr_ms_per_form_test")
    assert "measured=checks.timed(model.predict_proba, batch)" in test.source


# --- reference data: locked, and flagged when deleted or rebound -------------------------

def _release():
    return read(release_path(MODULE))


def _submission(answers: dict[str, str], delete_code: bool = False) -> nbformat.NotebookNode:
    """The release with these answers; ``delete_code`` drops every cell that is not graded."""
    nb = _release()
    for cell in nb.cells:
        if is_answer_cell(cell) and grading(cell).get("grade_id") in answers:
            cell.source = answers[grading(cell)["grade_id"]]
    if delete_code:
        nb.cells = [c for c in nb.cells if c.cell_type != "code" or is_answer_cell(c)
                    or is_test_cell(c)]
    return nb


def test_the_cells_that_make_the_reference_data_are_locked():
    names = integrity.reference_names(_release())
    assert {"model", "batch", "costs", "size_budget_mb"} <= names


def test_deleting_the_module_and_making_up_the_data_is_flagged_and_withheld():
    made_up = _submission({"lr_ms_per_form_answer": MADE_UP_TIMING,
                           "live_choice_answer": MADE_UP_CHOICE}, delete_code=True)
    flags = integrity.scan(made_up, _release())
    kinds = {f.kind for f in flags}
    assert "reference data" in kinds and "reference data" in integrity.WITHHOLD
    text = "; ".join(map(str, flags))
    assert "locked cell setup_costs was deleted" in text and "costs = pd.DataFrame" in text


@pytest.mark.parametrize("code", ["costs = costs.head(1)", "costs.loc['random forest'] = 0",
                                  "batch = batch.iloc[:10]", "del model",
                                  "for size_budget_mb in [50]:\n    pass"])
def test_changing_a_reference_name_in_an_answer_cell_is_flagged(code):
    nb = _submission({"live_choice_answer": f"{code}\nlive_choice = 'x'"})
    assert "reference data" in {f.kind for f in integrity.scan(nb, _release())}


def test_honest_answers_of_section_6_are_not_flagged():
    nb = _submission({"lr_ms_per_form_answer": HONEST_TIMING, "live_choice_answer": HONEST_CHOICE})
    assert integrity.scan(nb, _release()) == []


# --- graded end to end -------------------------------------------------------------------

def _item_scores(course: Path, student: str) -> dict[str, float | None]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(MODULE, student)
        return {g.name: g.score for nb in sub.notebooks for g in nb.grades if g.name in ITEMS}


@pytest.mark.slow
def test_made_up_measurements_earn_nothing_and_honest_ones_still_do(tmp_path):
    require_sandbox()
    course = make_course(tmp_path / "course", [MODULE])
    release = read(gradebook.prepare_assignment(load_config(course), MODULE, tmp_path / "rel"))
    assert release.cells, "the scratch course released the module"
    folder = tmp_path / "subs"
    folder.mkdir()
    honest = _submission({"lr_ms_per_form_answer": HONEST_TIMING,
                          "live_choice_answer": HONEST_CHOICE})
    made_up = _submission({"lr_ms_per_form_answer": MADE_UP_TIMING,
                           "live_choice_answer": MADE_UP_CHOICE}, delete_code=True)
    nbformat.write(honest, folder / f"honest_{MODULE}.ipynb")
    nbformat.write(made_up, folder / f"madeup_{MODULE}.ipynb")
    result = subprocess.run([sys.executable, "-m", "course", "grade", MODULE, str(folder),
                             "--workers", "2"], cwd=course, env=course_env(),
                            capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _item_scores(course, "honest") == {item: 2.0 for item in ITEMS}
    assert _item_scores(course, "madeup") == {item: 0.0 for item in ITEMS}
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    assert rows["madeup"]["status"] == "needs review" and rows["madeup"]["final"] == "no"
    assert "reference data" in rows["madeup"]["reasons"]
