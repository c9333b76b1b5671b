"""Release-time checks of an exercise spec, on small modules run in a real kernel."""

import nbformat
import numpy as np
import pytest

from course import checks
from course.authoring.release import is_rounding, record_module
from course.authoring.spec import PERCENTILE_METHODS, load_spec
from course.errors import AuthorError

ANSWER = {"solution": True, "grade": False, "locked": False, "grade_id": "answer"}
TEST = {"grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "test"}


def _module(root, setup, answer, name, spec):
    """A one-exercise module ``zz_tiny`` under ``root``; return its notebook."""
    folder = root / "solutions" / "zz_tiny"
    folder.mkdir(parents=True)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(f'from course import checks\ncheck = checks.exercises("zz_tiny")'
                                  f"\n{setup}"),
        nbformat.v4.new_code_cell(f"{name} = None\n### BEGIN SOLUTION\n{answer}\n"
                                  "### END SOLUTION", metadata={"nbgrader": ANSWER}),
        nbformat.v4.new_code_cell(f'check("{name}", {name})', metadata={"nbgrader": TEST}),
    ]
    nbformat.write(notebook, folder / "zz_tiny.ipynb")
    (folder / "exercises.toml").write_text(spec, encoding="utf-8")
    return notebook


COSTS = ("cost_fp, cost_fn = 1, 5", "threshold = cost_fp / (cost_fp + cost_fn)", "threshold")
SPEC = """[threshold]
kind = "share"

[[threshold.wrong]]
code = "threshold = cost_fp / cost_fn"
says = "{says}"
"""


def test_a_mistake_that_equals_a_rounding_of_the_answer_must_say_both(tmp_path):
    notebook = _module(tmp_path, *COSTS, SPEC.format(says="that divides one cost by the other."))
    with pytest.raises(AuthorError, match="also the right answer .* rounded"):
        record_module(tmp_path, "zz_tiny", load_spec(tmp_path, "zz_tiny"), notebook)


def test_a_message_that_names_both_possibilities_is_released(tmp_path):
    says = ("either 1/6 rounded to one decimal (keep 3) or one cost divided by the other "
            "(divide by the sum)")
    notebook = _module(tmp_path, *COSTS, SPEC.format(says=says))
    records = record_module(tmp_path, "zz_tiny", load_spec(tmp_path, "zz_tiny"), notebook)
    assert list(records[2].wrong.values()) == [says]


def test_a_test_cell_hook_runs_in_release_s_kernel_with_the_checks_judging(tmp_path):
    """The suite tests the grading in release's run: at each test cell, checks not recording."""
    says = "either 1/6 rounded (keep 3) or one cost divided by the other (divide by the sum)"
    notebook = _module(tmp_path, *COSTS, SPEC.format(says=says))
    seen = []

    def hook(kernel, cells, index):
        seen.append((index, cells[index].source,
                     kernel.value("[threshold, __import__('course.checks').checks._RECORDING]")))

    records = record_module(tmp_path, "zz_tiny", load_spec(tmp_path, "zz_tiny"), notebook,
                            on_test_cell=hook)
    assert seen == [(2, 'check("threshold", threshold)', [1 / 6, None])]
    assert records[2].keys == [checks._number_key(1 / 6)]


@pytest.mark.parametrize("value, right, expected", [
    (0.2, 1 / 6, True), (0.17, 1 / 6, True), (15000, 14745, True), (10000, 14745, True),
    (0.5, 1 / 6, False), (1 / 6, 1 / 6, False), (0.2, None, False), (0.0, 1 / 6, False),
])
def test_is_rounding(value, right, expected):
    assert is_rounding(value, right) is expected


def test_a_percentile_answer_is_accepted_under_the_usual_conventions(tmp_path):
    setup = "import numpy as np\ndraws = np.random.default_rng(0).normal(size=500)"
    spec = ('[low]\nkind = "number"\n'
            "percentile = \"low = np.percentile(draws, 2.5, method='{method}')\"\n")
    notebook = _module(tmp_path, setup, "low = np.percentile(draws, 2.5)", "low", spec)
    keys = record_module(tmp_path, "zz_tiny", load_spec(tmp_path, "zz_tiny"), notebook)[2].keys
    draws = np.sort(np.random.default_rng(0).normal(size=500))
    order_statistics = {checks._number_key(draws[k]) for k in (12, 13)}  # 13th and 14th of 500
    assert order_statistics <= set(keys)
    assert checks._number_key(np.percentile(draws, 2.5)) in keys
    assert "linear" in PERCENTILE_METHODS


def test_a_percentile_field_needs_its_method_placeholder(tmp_path):
    _module(tmp_path, "", "low = 1", "low",
            '[low]\nkind = "number"\npercentile = "low = np.percentile(d, 2.5)"\n')
    with pytest.raises(AuthorError, match=r"\{method\}"):
        load_spec(tmp_path, "zz_tiny")


def test_only_typed_answers_can_be_roundings():
    from course.authoring.release import CheckCall, Recorded, _check_rounding
    from course.authoring.spec import Exercise, Wrong

    baseline = Wrong("m = DummyClassifier().fit(X, y)", "that is the baseline")
    model = Recorded(Exercise("m", "model"), CheckCall("m", "m", ()), raw=0.74)
    _check_rounding(baseline, 0.7, model, "here")  # a model's score is not typed: no refusal
    typed = Recorded(Exercise("m", "share"), CheckCall("m", "m", ()), raw=0.74)
    with pytest.raises(AuthorError, match="rounded"):
        _check_rounding(Wrong("m = 0.7", "that is the baseline"), 0.7, typed, "here")
