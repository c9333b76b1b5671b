import importlib
import inspect
import pkgutil
import re

import numpy as np
import pandas as pd
import pytest

import course.simulate
from course.simulate import inputs
from course.simulate.bandits import simulate_ab_split, simulate_epsilon_greedy
from course.simulate.experiments import simulate_ab_test, simulate_daily_conversions
from course.simulate.feedback_loops import run_lending_loop, simulate_applicants
from course.simulate.labellers import simulate_labellers
from course.simulate.rollout import simulate_rollout

# Every simulator, called with small valid inputs; `seed` is the only thing the tests vary.
SIMULATORS = {
    "simulate_ab_split": lambda seed: simulate_ab_split([0.1, 0.2], 50, seed=seed),
    "simulate_epsilon_greedy": lambda seed: simulate_epsilon_greedy([0.1, 0.2], 50, seed=seed),
    "simulate_ab_test": lambda seed: simulate_ab_test(20, 0.1, 0.01, days=3, seed=seed),
    "simulate_daily_conversions": lambda seed: simulate_daily_conversions(3, 4, 10, 0.1,
                                                                          seed=seed),
    "simulate_applicants": lambda seed: simulate_applicants(30, period=1, seed=seed),
    "run_lending_loop": lambda seed: run_lending_loop(periods=1, applicants_per_period=50,
                                                      pilot_size=100, seed=seed),
    "simulate_labellers": lambda seed: simulate_labellers([0, 1, 1, 0], seed=seed),
    "simulate_rollout": lambda seed: simulate_rollout(days=3, switch_day=1,
                                                      conversations_per_day=20, seed=seed),
}


def _frames(result):
    """What a simulator returned, as a list of comparable pieces."""
    if isinstance(result, tuple):  # NamedTuple results
        return [piece for part in result for piece in _frames(part)]
    if hasattr(result, "arms"):  # BanditRun
        return [result.arms, result.clicks]
    return [result]


def _same(first, second):
    for a, b in zip(_frames(first), _frames(second), strict=True):
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)
        else:
            assert np.array_equal(a, b)


def test_every_simulator_with_a_seed_is_tested():
    """A new simulator cannot escape the seed rule: each public function with a seed is listed."""
    found = set()
    for info in pkgutil.iter_modules(course.simulate.__path__):
        module = importlib.import_module(f"course.simulate.{info.name}")
        for name in getattr(module, "__all__", []):
            member = getattr(module, name)
            if inspect.isfunction(member) and "seed" in inspect.signature(member).parameters:
                found.add(name)
    assert found == set(SIMULATORS)


@pytest.mark.parametrize("seed", [None, -1, True, 1.5, "0", np.float64(3.0)])
@pytest.mark.parametrize("simulator", list(SIMULATORS))
def test_every_simulator_refuses_a_bad_seed_with_the_same_message(simulator, seed):
    with pytest.raises(ValueError) as refused:
        SIMULATORS[simulator](seed)
    assert str(refused.value) == f"{inputs.SEED_RULE}; got {seed!r}."


def test_the_seed_message_says_why_none_is_refused():
    with pytest.raises(ValueError, match=r"deterministic.*None is not accepted"):
        inputs.seed(None)


@pytest.mark.parametrize("simulator", list(SIMULATORS))
def test_every_simulator_accepts_a_numpy_integer_seed_as_the_same_seed(simulator):
    _same(SIMULATORS[simulator](np.int64(3)), SIMULATORS[simulator](3))


@pytest.mark.parametrize("simulator", list(SIMULATORS))
def test_seed_zero_is_accepted(simulator):
    _same(SIMULATORS[simulator](0), SIMULATORS[simulator](0))


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
