"""The simulated model swap of module 08: shape, seeds, rates and clear errors."""

import pandas as pd
import pytest

from course.simulate.rollout import simulate_rollout


def test_shape_columns_and_models_by_day():
    days = simulate_rollout(days=10, switch_day=4, conversations_per_day=500, seed=0)
    assert list(days.columns) == ["day", "model", "conversations", "thumbs_down"]
    assert set(days.loc[days["day"] < 4, "model"]) == {"A"}
    assert set(days.loc[days["day"] >= 4, "model"]) == {"A", "B"}
    assert (days.groupby("day")["conversations"].sum() == 500).all()
    assert (days["thumbs_down"] <= days["conversations"]).all()


def test_same_seed_same_days_other_seed_other_days():
    first = simulate_rollout(seed=3)
    pd.testing.assert_frame_equal(first, simulate_rollout(seed=3))
    assert not first.equals(simulate_rollout(seed=4))


def test_rates_and_rollout_share_are_respected():
    days = simulate_rollout(days=40, switch_day=0, conversations_per_day=20_000,
                            rollout_share=0.25, thumbs_down={"A": 0.05, "B": 0.20}, seed=1)
    totals = days.groupby("model")[["conversations", "thumbs_down"]].sum()
    rates = totals["thumbs_down"] / totals["conversations"]
    assert abs(rates["A"] - 0.05) < 0.003
    assert abs(rates["B"] - 0.20) < 0.005
    assert abs(totals.loc["B", "conversations"] / totals["conversations"].sum() - 0.25) < 0.005


def test_b_never_live_when_the_switch_is_after_the_last_day():
    days = simulate_rollout(days=5, switch_day=5, seed=0)
    assert set(days["model"]) == {"A"} and len(days) == 5


@pytest.mark.parametrize("arguments, message", [
    ({"days": 0}, "days must be a whole number of 1 or more"),
    ({"switch_day": -1}, "switch_day must be a whole number of 0 or more"),
    ({"conversations_per_day": 2.5}, "conversations_per_day"),
    ({"rollout_share": 50}, "a percentage"),
    ({"thumbs_down": (0.1,)}, "two rates"),
    ({"thumbs_down": {"A": 0.1}}, "missing ['B']"),
    ({"thumbs_down": (8, 10)}, "percentage"),
    ({"seed": None}, "seed must be a whole number"),
])
def test_bad_input_gets_a_clear_message(arguments, message):
    with pytest.raises(ValueError) as error:
        simulate_rollout(**arguments)
    assert message in str(error.value)
