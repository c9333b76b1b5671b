import re

import numpy as np
import pytest

from course.simulate import inputs

# --- the helpers themselves ---------------------------------------------------------------


def test_whole_number_returns_a_python_int():
    value = inputs.whole_number("n", np.int32(4))
    assert value == 4 and type(value) is int
    assert inputs.whole_number("period", 0, minimum=0) == 0


@pytest.mark.parametrize("value, shown", [
    (0, "got 0"),
    (-3, "got -3"),
    (2.0, r"got 2\.0 \(a float\)"),
    ("2", r"got '2' \(a str\)"),
    (True, r"got True \(a bool\)"),
    (None, r"got None \(a NoneType\)"),
])
def test_whole_number_refuses_with_name_rule_and_value(value, shown):
    with pytest.raises(ValueError, match=rf"^days must be a whole number of 1 or more; {shown}\.$"):
        inputs.whole_number("days", value)


def test_number_accepts_any_sign_and_refuses_non_numbers():
    assert inputs.number("lift", np.float32(-0.5)) == -0.5
    for bad in (None, "0.1", True, float("nan")):
        with pytest.raises(ValueError, match="^lift must be a number; got "):
            inputs.number("lift", bad)


def test_share_accepts_the_ends_unless_told_not_to():
    assert inputs.share("s", 0) == 0.0 and inputs.share("s", 1) == 1.0
    for end in (0, 1):
        with pytest.raises(ValueError, match=r"strictly between 0 and 1 \(neither 0 nor 1\)"):
            inputs.share("limit", end, ends=False)


@pytest.mark.parametrize("value, message", [
    (10, r"^rate must be a share between 0 and 1; got 10 \(a percentage\? give 0\.1 for 10%\)\.$"),
    (150, r"^rate must be a share between 0 and 1; got 150\.$"),
    (-0.1, r"^rate must be a share between 0 and 1; got -0\.1\.$"),
    (float("nan"), r"^rate must be a number between 0 and 1; got nan \(a missing value\)\.$"),
    ("0.1", r"^rate must be a number between 0 and 1; got '0\.1' \(a str\)\.$"),
    (False, r"^rate must be a number between 0 and 1; got False \(a bool\)\.$"),
])
def test_share_refuses_with_a_percentage_hint_where_it_fits(value, message):
    with pytest.raises(ValueError, match=message):
        inputs.share("rate", value)


def test_share_names_what_it_is_with_the_right_article():
    with pytest.raises(ValueError, match="^e must be an error rate between"):
        inputs.share("e", 2, "error rate")
    with pytest.raises(ValueError, match="^c must be a click rate between"):
        inputs.share("c", 2, "click rate")


def test_shares_accepts_lists_tuples_and_arrays():
    assert inputs.shares("r", [0.1, 0], "rate", "arm", "[0.1]") == [0.1, 0.0]
    assert inputs.shares("r", np.array([0.5]), "rate", "arm", "[0.1]") == [0.5]
    assert inputs.shares("r", (), "rate", "arm", "[0.1]") == []


@pytest.mark.parametrize("values", ["0.1, 0.2", 0.1, None, {0.1}, np.zeros((2, 2)),
                                    np.float64(0.1)])
def test_shares_refuses_what_is_not_a_list(values):
    with pytest.raises(ValueError, match=r"^r must be a list of rates between 0 and 1, one rate "
                                         r"per arm, such as \[0\.1\]; got "):
        inputs.shares("r", values, "rate", "arm", "[0.1]")


def test_shares_names_the_bad_item():
    with pytest.raises(ValueError, match=re.escape("r[1] must be a rate between 0 and 1; got 5 "
                                                   "(a percentage? give 0.05 for 5%).")):
        inputs.shares("r", [0.1, 5], "rate", "arm", "[0.1]")
