import numpy as np
import pytest

from course import checks
from course.checks import CheckFailed, NotAttempted


def test_not_attempted_says_so():
    with pytest.raises(NotAttempted, match="not answered yet"):
        checks.share("precision", None)


@pytest.mark.parametrize("value, message", [
    (37, "percentage"),
    (370, "count"),
    (-0.1, "between 0 and 1"),
    ("0.5", "should be a number"),
    (True, "should be a number"),
    (np.array([0.5]), "array of one value"),
    (float("nan"), "NaN"),
])
def test_share_explains_what_is_wrong(value, message):
    with pytest.raises(CheckFailed, match=message):
        checks.share("precision", value)


@pytest.mark.parametrize("value", [0, 0.5, 1, np.float64(0.25), np.int64(1)])
def test_share_accepts_shares(value):
    checks.share("precision", value)


def test_count_rejects_fractions_and_negatives():
    checks.count("n", np.int64(12))
    checks.count("n", 12.0)
    for bad in (12.5, -1):
        with pytest.raises(CheckFailed, match="whole number"):
            checks.count("n", bad)


def test_choice():
    checks.choice("q", " b ", "ABCD")
    with pytest.raises(CheckFailed, match="one of A, B, C, D"):
        checks.choice("q", "E", "ABCD")
    with pytest.raises(CheckFailed, match="in quotes"):
        checks.choice("q", 2, "ABCD")


def test_digest_is_salted_rounded_and_normalised():
    assert checks.digest("a", 0.7123) == checks.digest("a", 0.71)
    assert checks.digest("a", 0.7123) != checks.digest("b", 0.7123)
    assert checks.digest("a", 0.7123) != checks.digest("a", 0.72)
    assert checks.digest("q", " b ", 0) == checks.digest("q", "B", 0)
    assert checks.digest("s", ["b", "a"]) == checks.digest("s", ("a", "b"))
    assert checks.digest("z", -0.0001) == checks.digest("z", 0.0)


def test_matches_three_outcomes():
    right = checks.digest("p", 0.712)
    wrong = {checks.digest("p", 0.45): "that is the recall"}
    checks.matches("p", 0.7123, right, wrong=wrong)
    with pytest.raises(CheckFailed, match="that is the recall"):
        checks.matches("p", 0.45, right, wrong=wrong)
    with pytest.raises(CheckFailed, match="not right yet"):
        checks.matches("p", 0.5, right, wrong=wrong)
    with pytest.raises(NotAttempted):
        checks.matches("p", None, right)
    with pytest.raises(CheckFailed, match="number or a text"):
        checks.matches("p", object(), right)


def test_close_and_equals():
    checks.close("p", 0.7121, 0.712, tol=1e-3)
    with pytest.raises(CheckFailed, match="not right"):
        checks.close("p", 0.75, 0.712, tol=1e-3)
    checks.equals("q", "b", "B")
    checks.equals("n", np.int64(3), 3)
    with pytest.raises(CheckFailed):
        checks.equals("q", "C", "B")
    with pytest.raises(CheckFailed):
        checks.equals("n", 4, 3)


def test_checks_return_nothing_nbgrader_could_read_as_partial_credit(capsys):
    assert checks.share("p", 0.5) is None
    assert checks.correct("p") is None
    assert "✔" in capsys.readouterr().out


def test_subclasses_cannot_fake_an_answer():
    class Sneaky(float):
        def __float__(self):
            return 0.712

        def __eq__(self, other):
            return True

    class Shouty(str):
        def strip(self):
            return "B"

        def upper(self):
            return "B"

    right = checks.digest("p", 0.712)
    with pytest.raises(CheckFailed):
        checks.matches("p", Sneaky(0.1), right)
    with pytest.raises(CheckFailed):
        checks.close("p", Sneaky(0.1), 0.712)
    with pytest.raises(CheckFailed):
        checks.equals("q", Shouty("C"), "B")


def test_a_whole_number_up_to_100_may_be_a_count():
    with pytest.raises(CheckFailed, match="percentage or a count"):
        checks.share("p", 37)


SLIPS = {1 / 1000: "seconds, not milliseconds", 18000: "the whole batch, in milliseconds",
         18: "the whole batch, in seconds"}


@pytest.mark.parametrize("value", [0.002, 0.0007, 0.0059, np.float64(0.002)])
def test_within_factor_accepts_a_measurement_within_the_factor(value):
    checks.within_factor("ms", value, 0.002, factor=3, slips=SLIPS)


@pytest.mark.parametrize("value, message", [
    (0.000002, "seconds, not milliseconds"),
    (36.0, "the whole batch, in milliseconds"),
    (0.036, "the whole batch, in seconds"),
    (0.25, "more than 3 times larger"),
    (0.0002, "more than 3 times smaller"),
    (-0.002, "positive number"),
    (0, "positive number"),
    ("0.002", "should be a number"),
])
def test_within_factor_rejects_slips_and_says_which(value, message):
    with pytest.raises(CheckFailed, match=message):
        checks.within_factor("ms", value, 0.002, factor=3, slips=SLIPS)


def test_within_factor_not_attempted_and_bad_measurement():
    with pytest.raises(NotAttempted):
        checks.within_factor("ms", None, 0.002)
    with pytest.raises(ValueError, match="positive"):
        checks.within_factor("ms", 0.002, 0.0)


def test_proportional_grades_the_ratio_to_the_measurement():
    price = 0.10 / 3600  # dollars per millisecond of CPU per 1,000 forms
    right = checks.digest("cost", f"{price:.2e}")
    wrong = {checks.digest("cost", f"{price * 3600:.2e}"): "per CPU-second"}
    for measured in (0.03, 0.0017, 4.2):  # any machine: the ratio is the same
        checks.proportional("cost", measured * price, measured, right, wrong=wrong)
        checks.proportional("cost", np.float64(measured) * 0.1 / 3600, measured, right)
        with pytest.raises(CheckFailed, match="per CPU-second"):
            checks.proportional("cost", measured * 0.1, measured, right, wrong=wrong)
        with pytest.raises(CheckFailed, match="not right yet"):
            checks.proportional("cost", measured * price / 1000, measured, right, wrong=wrong)
    with pytest.raises(NotAttempted):
        checks.proportional("cost", None, 0.03, right)
    with pytest.raises(CheckFailed, match="should be a number"):
        checks.proportional("cost", "1e-6", 0.03, right)
    with pytest.raises(ValueError, match="positive"):
        checks.proportional("cost", 1e-6, 0.0, right)


def test_best_within_picks_the_best_option_within_the_limit():
    accuracy = {"small": 0.78, "big": 0.79, "tiny": 0.70}
    latency = {"small": 8.0, "big": 30.0, "tiny": 2.0}
    checks.best_within("pick", " Small ", accuracy, latency, limit=15)
    checks.best_within("pick", "big", accuracy, latency, limit=50)
    checks.best_within("pick", "neither", accuracy, latency, limit=1)
    for value, message in [("big", "over the limit"), ("tiny", "another option within it"),
                           ("neither", "at least one option"), ("huge", 'one of "small"'),
                           (["small"], "in quotes")]:
        with pytest.raises(CheckFailed, match=message):
            checks.best_within("pick", value, accuracy, latency, limit=15)
    with pytest.raises(NotAttempted):
        checks.best_within("pick", None, accuracy, latency, limit=15)


def test_best_within_takes_pandas_series():
    import pandas as pd

    table = pd.DataFrame({"accuracy": [0.78, 0.79], "ms": [8.0, 30.0]}, index=["lr", "rf"])
    checks.best_within("pick", "lr", table["accuracy"], table["ms"], limit=15)
    with pytest.raises(CheckFailed, match="over the limit"):
        checks.best_within("pick", "rf", table["accuracy"], table["ms"], limit=15)
