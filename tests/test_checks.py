import numpy as np
import pandas as pd
import pytest

from course import checks
from course.checks import CheckFailed, NotAttempted


def _exercises(kind, right, wrong=None, options=None, hint=""):
    """A one-exercise module, as `python -m course release` would write it."""
    entry = {"kind": kind, "options": options or {}, "hint": hint,
             "right": [checks.digest("m", "x", k) for k in right],
             "wrong": {checks.digest("m", "x", k): says for k, says in (wrong or {}).items()}}
    return checks.Exercises("m", {"x": entry})


def test_not_attempted_says_so_calmly():
    with pytest.raises(NotAttempted, match="not answered yet") as caught:
        checks.share("precision", None)
    assert caught.value._render_traceback_() == [str(caught.value)]


@pytest.mark.parametrize("value, message", [
    (37, "percentage"),
    (370, "count"),
    (-0.1, "between 0 and 1"),
    ("0.5", "should be a number"),
    (True, "should be a number"),
    (np.array([0.5]), "array of one value"),
    (float("nan"), "not a number"),
])
def test_share_explains_what_is_wrong(value, message):
    with pytest.raises(CheckFailed, match=message):
        checks.share("precision", value)


@pytest.mark.parametrize("value", [0, 0.5, 1, np.float64(0.25), np.int64(1)])
def test_share_accepts_shares(value):
    checks.share("precision", value)


def test_count_rejects_fractions_and_negatives():
    assert checks.count("n", np.int64(12)) == checks.count("n", 12.0) == "12"
    for bad in (12.5, -1):
        with pytest.raises(CheckFailed, match="whole number"):
            checks.count("n", bad)


def test_choice_accepts_one_letter_in_any_case_and_quotes():
    assert checks.choice("q", " b ") == checks.choice("q", "(B)") == "B"
    with pytest.raises(CheckFailed, match="one of A, B, C, D"):
        checks.choice("q", "E")
    with pytest.raises(CheckFailed, match="in quotes"):
        checks.choice("q", 2)


def test_letters_accept_one_format_course_wide():
    forms = ["BAC", "b, a, c", "B A C", ["B", "A", "C"], ("b", "a", "c")]
    assert {checks.letters("s", f, options="ABC", length=3) for f in forms} == {"BAC"}
    for bad in ("BA", "BAD", 3, ["B", 1, "C"]):
        with pytest.raises(CheckFailed, match="letters"):
            checks.letters("s", bad, options="ABC", length=3)


def test_text_ignores_case_and_spaces_but_wants_a_string():
    assert checks.text("col", " ANC ") == checks.text("col", "anc")
    with pytest.raises(CheckFailed, match="in quotes"):
        checks.text("col", 3)


@pytest.mark.parametrize("value, key", [
    (0.596774, "0.597"), (0.0737, "0.074"), (0.0004, "0.000"), (-0.0001, "0.000"),
    (0.99951, "1.00e+00"), (6.4, "6.40e+00"), (12.8, "1.28e+01"), (966.667, "9.67e+02"),
    (14745, "1.47e+04"), (-1.3333, "-1.33e+00"),
])
def test_one_precision_rule_for_every_number(value, key):
    assert checks.number("x", value) == key


def test_digest_is_salted_with_module_and_name():
    assert checks.digest("03", "q1", "C") != checks.digest("06", "q1", "C")
    assert checks.digest("03", "q1", "C") != checks.digest("03", "q2", "C")
    assert len(checks.digest("03", "q1", "C")) == 16


def test_visible_check_has_three_outcomes(capsys):
    check = _exercises("share", ["0.597"], {"0.411": "that is the recall."}, hint="Think.")
    check("x", 0.5968)
    assert capsys.readouterr().out == "✔ `x` is correct.\n"
    with pytest.raises(CheckFailed, match="that is the recall"):
        check("x", 0.4111)
    with pytest.raises(CheckFailed, match="3 decimal places.*Think") as caught:
        check("x", 0.6)
    assert caught.value._render_traceback_()[0].count("\n") == 0
    with pytest.raises(NotAttempted):
        check("x", None)


def test_counts_and_letters_get_no_rounding_advice():
    for kind, value in (("count", 7), ("choice", "A")):
        with pytest.raises(CheckFailed) as caught:
            _exercises(kind, ["5" if kind == "count" else "B"])("x", value)
        assert "decimal" not in str(caught.value)


def test_hidden_grade_applies_the_same_rule():
    checks.grade("share", "x", 0.59681, "0.597")
    checks.grade("share", "x", 0.2085, ("0.208", "0.209"))
    with pytest.raises(CheckFailed):
        checks.grade("share", "x", 0.598, "0.597")
    with pytest.raises(CheckFailed):
        checks.grade("count", "x", 52, "53")


def test_checks_return_nothing_nbgrader_could_read_as_partial_credit(capsys):
    check = _exercises("share", ["0.597"])
    assert check("x", 0.597) is None
    assert checks.grade("share", "x", 0.597, "0.597") is None


def test_subclasses_cannot_fake_an_answer():
    class Liar(float):
        def __float__(self):
            return 0.597

        def __round__(self, *args):
            return 0.597

        def __format__(self, spec):
            return format(0.597, spec)

    with pytest.raises(CheckFailed):
        checks.grade("share", "x", Liar(0.1), "0.597")


def test_model_is_scored_on_the_data_given():
    from sklearn.dummy import DummyClassifier
    X, y = np.zeros((4, 1)), np.array([0, 0, 0, 1])
    assert checks.model("m", DummyClassifier().fit(X, y), on=(X, y)) == "0.750"
    with pytest.raises(CheckFailed, match="not trained yet"):
        checks.model("m", DummyClassifier(), on=(X, y))
    with pytest.raises(CheckFailed, match="trained model"):
        checks.model("m", 0.75, on=(X, y))


def test_ratio_grades_a_cost_by_its_ratio_to_the_measurement():
    for measured in (0.02, 0.5, 3.0):  # three machines
        cost = measured / 3600 * 0.10
        assert checks.ratio("c", cost, per=measured) == checks.ratio("c", 2.7778e-05, per=1.0)
    assert checks.ratio("c", 0.02 * 0.10, per=0.02) != checks.ratio("c", 0.02 / 3600 * 0.1,
                                                                     per=0.02)


def test_timing_grades_against_the_learners_own_recorded_times():
    for load in (1, 7, 40):  # the same code on a machine with more or less load
        seconds = [0.030 * load, 0.027 * load, 0.041 * load]
        assert checks.timing("t", 1000 * min(seconds) / 18000, seconds=seconds,
                             forms=18000) == "1.00e+03"
    with pytest.raises(CheckFailed, match="record each call"):
        checks.timing("t", 0.0015, seconds=[], forms=18000)
    with pytest.raises(NotAttempted):
        checks.timing("t", None, seconds=[], forms=18000)


def test_best_picks_the_best_option_within_the_limit():
    scores = pd.Series({"small": 0.80, "big": 0.82})
    costs = pd.Series({"small": 5.0, "big": 20.0})
    assert checks.best("c", "Small ", scores, costs, limit=10) == "best"
    assert checks.best("c", "big", scores, costs, limit=10) == "over"
    assert checks.best("c", "neither", scores, costs, limit=10) == "none"
    assert checks.best("c", "big", scores, costs, limit=30) == "best"
    assert checks.best("c", "small", scores, costs, limit=30) == "lower"
    with pytest.raises(CheckFailed, match='"small", "big", "neither"'):
        checks.best("c", "medium", scores, costs, limit=10)


def test_unknown_kind_and_unknown_exercise_are_clear_errors():
    with pytest.raises(ValueError, match="unknown kind"):
        checks.key_of("fraction", "x", 0.5)
    with pytest.raises(KeyError, match="no exercise named"):
        _exercises("share", ["0.5"])("y", 0.5)
    with pytest.raises(FileNotFoundError, match="course release"):
        checks.exercises("99_nothing")("x", 1)


def test_messages_are_plain_text_without_markdown_stars():
    exercises = _exercises("share", ["0.500"], wrong={"0.250": "divide by the *sum* of both"},
                           hint="a share is **a part** of the whole")
    with pytest.raises(CheckFailed) as mistake:
        exercises("x", 0.25)
    with pytest.raises(CheckFailed) as other:
        exercises("x", 0.75)
    assert "divide by the sum of both" in str(mistake.value)
    assert "a share is a part of the whole" in str(other.value)
    assert "*" not in str(mistake.value) + str(other.value)
    for arithmetic in ("3 * 4 and 2*x", "2*x*y", "a**2 + b**2"):  # not emphasis
        assert checks.plain(arithmetic) == arithmetic


def test_a_tuple_of_numpy_numbers_is_echoed_as_plain_numbers():
    with pytest.raises(CheckFailed) as caught:
        checks.number("p_value", (np.float64(-2.1), np.float64(0.036)), 0, 1)
    assert "(-2.1, 0.036) (a tuple)" in str(caught.value)
    assert "np.float64" not in str(caught.value)


def test_a_fractional_sample_size_is_told_to_round_up():
    with pytest.raises(CheckFailed, match="rounded up") as caught:
        checks.count("n_per_group", 14744.3, round_up=True)
    assert "math.ceil" in str(caught.value) and "14745" not in str(caught.value)
    with pytest.raises(CheckFailed) as plain_count:
        checks.count("people", 12.5)
    assert "rounded up" not in str(plain_count.value)


def test_a_check_after_a_cell_that_raised_says_so_and_grading_ignores_it():
    class Info:
        raw_cell = "x = B"

    class Result:
        info, error_before_exec, error_in_exec = Info(), None, NameError("name 'B'")

    exercises = _exercises("choice", ["C"])
    checks._after_cell(Result())
    try:
        with pytest.raises(CheckFailed, match="your answer cell raised NameError"):
            exercises("x", None)
        with pytest.raises(CheckFailed, match="raised NameError"):
            exercises("x", "C")  # a right value from an earlier run is not judged either
        checks.grade("choice", "x", "C", "C")  # the hidden test judges the saved value
        Result.error_in_exec = None  # the cell fixed and run again
        checks._after_cell(Result())
        with pytest.raises(NotAttempted):
            exercises("x", None)
    finally:
        checks._RAISED.clear()


@pytest.mark.parametrize("source, names", [
    ("x = None  # placeholder\nx = 30%", {"x"}),
    ("z_score, p_value = f()", {"z_score", "p_value"}),
    ("if a == b:\n    share: float = 0.1\nn += 1", {"share"}),
])
def test_names_an_answer_cell_assigns_are_read_even_if_it_does_not_parse(source, names):
    assert checks._assigned(source) == names
