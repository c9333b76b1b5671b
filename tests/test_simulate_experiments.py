import numpy as np
import pandas as pd
import pytest

from course.simulate.experiments import (
    DailyConversions,
    simulate_ab_test,
    simulate_daily_conversions,
)

# --- simulate_ab_test ----------------------------------------------------------------------


def test_ab_test_has_one_row_per_user_and_equal_groups():
    test = simulate_ab_test(n_per_group=1_000, base_rate=0.1, lift=0.02, days=7, seed=0)
    assert isinstance(test, pd.DataFrame)
    assert list(test.columns) == ["user_id", "day", "group", "converted"]
    assert len(test) == 2_000
    assert test["user_id"].tolist() == list(range(2_000))
    assert test["group"].value_counts().to_dict() == {"control": 1_000, "treatment": 1_000}
    assert set(test["converted"].unique()) <= {0, 1}
    assert test["day"].between(1, 7).all() and test["day"].is_monotonic_increasing


def test_ab_test_same_seed_same_data_and_another_seed_other_data():
    first = simulate_ab_test(500, 0.2, 0.05, seed=3)
    again = simulate_ab_test(500, 0.2, 0.05, seed=3)
    other = simulate_ab_test(500, 0.2, 0.05, seed=4)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_ab_test_rates_follow_base_rate_and_lift():
    test = simulate_ab_test(n_per_group=40_000, base_rate=0.10, lift=0.02, seed=0)
    rates = test.groupby("group")["converted"].mean()
    # standard error of each rate is at most 0.0016: allow about 4 of them
    assert abs(rates["control"] - 0.10) < 0.007
    assert abs(rates["treatment"] - 0.12) < 0.007


def test_ab_test_extreme_rates_are_exact():
    test = simulate_ab_test(n_per_group=300, base_rate=0.0, lift=1.0, seed=0)
    assert (test["converted"] == (test["group"] == "treatment")).all()


def test_ab_test_allows_a_negative_lift():
    test = simulate_ab_test(n_per_group=20_000, base_rate=0.5, lift=-0.5, seed=1)
    assert test.loc[test["group"] == "treatment", "converted"].sum() == 0


# --- simulate_daily_conversions --------------------------------------------------------------


def test_daily_conversions_shapes_and_bounds():
    sims = simulate_daily_conversions(n_experiments=50, days=14, users_per_day=200,
                                      base_rate=0.1, lift=0.0, seed=0)
    assert isinstance(sims, DailyConversions)
    assert sims.control.shape == sims.treatment.shape == (50, 14)
    assert sims.users_per_day == 200 and sims.base_rate == 0.1 and sims.lift == 0.0
    for counts in (sims.control, sims.treatment):
        assert counts.min() >= 0 and counts.max() <= 200
        assert np.issubdtype(counts.dtype, np.integer)


def test_daily_conversions_are_seeded():
    first = simulate_daily_conversions(20, 5, 100, 0.3, seed=7)
    again = simulate_daily_conversions(20, 5, 100, 0.3, seed=7)
    other = simulate_daily_conversions(20, 5, 100, 0.3, seed=8)
    assert np.array_equal(first.control, again.control)
    assert np.array_equal(first.treatment, again.treatment)
    assert not np.array_equal(first.control, other.control)


def test_daily_conversions_follow_the_rates():
    sims = simulate_daily_conversions(400, 10, 1_000, base_rate=0.10, lift=0.05, seed=0)
    users = 400 * 10 * 1_000
    assert abs(sims.control.sum() / users - 0.10) < 0.002
    assert abs(sims.treatment.sum() / users - 0.15) < 0.002


def test_aa_tests_look_once_give_about_five_percent_false_positives():
    # the property the peeking lesson relies on: one look at the end is honest
    sims = simulate_daily_conversions(4_000, 10, 500, base_rate=0.1, seed=0)
    n = 500 * 10
    c, t = sims.control.sum(axis=1), sims.treatment.sum(axis=1)
    pooled = (c + t) / (2 * n)
    z = (t - c) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    share_significant = (np.abs(z) > 1.96).mean()
    assert 0.035 < share_significant < 0.065


# --- bad input: clear ValueErrors -----------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"n_per_group": 0}, "n_per_group must be a whole number of 1 or more"),
    ({"n_per_group": -5}, "n_per_group must be a whole number"),
    ({"n_per_group": 10.5}, "n_per_group must be a whole number"),
    ({"n_per_group": "100"}, "n_per_group must be a whole number"),
    ({"n_per_group": True}, "n_per_group must be a whole number"),
    ({"days": 0}, "days must be a whole number of 1 or more"),
    ({"base_rate": 10}, "looks like|a percentage"),
    ({"base_rate": -0.1}, "base_rate must be a conversion rate between 0 and 1"),
    ({"base_rate": "0.1"}, "base_rate must be a number"),
    ({"base_rate": float("nan")}, "base_rate must be a number"),
    ({"lift": 1}, "treatment's conversion rate"),
    ({"lift": -0.2}, "treatment's conversion rate"),
    ({"n_per_group": 20_000_000}, "too large"),
    ({"lift": None}, "lift must be a number"),
    ({"seed": -1}, "seed must be a whole number of 0 or more"),
    ({"seed": 1.5}, "seed must be a whole number"),
])
def test_ab_test_bad_input_says_what_is_wrong(kwargs, message):
    arguments = {"n_per_group": 100, "base_rate": 0.1, "lift": 0.01, "days": 14, "seed": 0}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        simulate_ab_test(**arguments)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_experiments": 0}, "n_experiments must be a whole number of 1 or more"),
    ({"days": 2.0}, "days must be a whole number"),
    ({"users_per_day": -1}, "users_per_day must be a whole number"),
    ({"base_rate": 1.5}, "base_rate must be a conversion rate between 0 and 1"),
    ({"lift": 0.95}, "base_rate \\+ lift"),
    ({"seed": "zero"}, "seed must be a whole number"),
    ({"n_experiments": 1_000_000, "days": 100}, "too large"),
])
def test_daily_conversions_bad_input_says_what_is_wrong(kwargs, message):
    arguments = {"n_experiments": 10, "days": 14, "users_per_day": 100, "base_rate": 0.1,
                 "lift": 0.0, "seed": 0}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        simulate_daily_conversions(**arguments)


def test_percentage_base_rate_gets_a_hint():
    with pytest.raises(ValueError, match=r"give 0\.1 for 10%"):
        simulate_ab_test(100, 10, 0.0)


def test_numpy_integers_are_accepted():
    test = simulate_ab_test(np.int64(10), np.float64(0.5), 0.0, days=np.int32(2), seed=np.int64(0))
    assert len(test) == 20


def test_seed_none_is_refused_the_course_is_deterministic():
    with pytest.raises(ValueError, match="deterministic"):
        simulate_ab_test(10, 0.5, 0.0, seed=None)
