import numpy as np
import pandas as pd
import pytest

from course.simulate.labellers import simulate_labellers

TRUTH = np.tile([0, 0, 0, 1], 2500)  # 10,000 items, a quarter positive


def test_shape_names_and_values():
    labels = simulate_labellers(TRUTH, error_rates=(0.1, 0.2, 0.3), seed=0)
    assert list(labels.columns) == ["labeller_1", "labeller_2", "labeller_3", "ambiguous"]
    assert len(labels) == TRUTH.size
    for column in ("labeller_1", "labeller_2", "labeller_3"):
        assert set(labels[column].unique()) <= {0, 1}
    assert labels["ambiguous"].dtype == bool


def test_same_seed_same_labels_other_seed_other_labels():
    first = simulate_labellers(TRUTH, (0.1, 0.2), ambiguous_share=0.2, seed=3)
    again = simulate_labellers(TRUTH, (0.1, 0.2), ambiguous_share=0.2, seed=3)
    other = simulate_labellers(TRUTH, (0.1, 0.2), ambiguous_share=0.2, seed=4)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_error_rates_are_respected():
    labels = simulate_labellers(TRUTH, error_rates=(0.0, 0.1, 0.3), seed=1)
    assert (labels["labeller_1"] == TRUTH).all()
    assert abs((labels["labeller_2"] != TRUTH).mean() - 0.1) < 0.015
    assert abs((labels["labeller_3"] != TRUTH).mean() - 0.3) < 0.015


def test_ambiguous_items_are_guesses_shared_by_everyone():
    labels = simulate_labellers(TRUTH, error_rates=(0.0, 0.0), ambiguous_share=0.4, seed=2)
    assert abs(labels["ambiguous"].mean() - 0.4) < 0.015
    clear = ~labels["ambiguous"]
    assert (labels.loc[clear, "labeller_1"] == TRUTH[clear]).all()
    assert (labels.loc[clear, "labeller_1"] == labels.loc[clear, "labeller_2"]).all()
    ambiguous = labels["ambiguous"]
    agreement = (labels.loc[ambiguous, "labeller_1"] == labels.loc[ambiguous, "labeller_2"]).mean()
    assert abs(agreement - 0.5) < 0.05  # two coin flips agree half the time


def test_accepts_series_lists_and_booleans():
    series = pd.Series([1, 0, 1], index=[10, 20, 30])
    assert list(simulate_labellers(series, seed=0).index) == [10, 20, 30]
    assert len(simulate_labellers([0, 1, 1, 0], seed=0)) == 4
    assert len(simulate_labellers(np.array([True, False]), seed=0)) == 2
    assert len(simulate_labellers([0.0, 1.0], error_rates=[0.5], seed=np.int64(5))) == 2


@pytest.mark.parametrize("truth, message", [
    ([], "empty"),
    ([0, 1, 2], "only 0 and 1"),
    (["yes", "no"], "0 and 1"),
    ([0, np.nan, 1], "missing values"),
    (np.zeros((3, 2)), "one-dimensional"),
    ("0101", "list, array or Series"),
    (5, "list, array or Series"),
])
def test_bad_truth_gives_a_clear_error(truth, message):
    with pytest.raises(ValueError, match=message):
        simulate_labellers(truth)


@pytest.mark.parametrize("kwargs, message", [
    ({"error_rates": (0.1, 10)}, r"between 0 and 1; got 10 \(a percentage\? give 0\.1 for 10%\)"),
    ({"error_rates": (-0.1, 0.1)}, "between 0 and 1"),
    ({"error_rates": ()}, "empty"),
    ({"error_rates": 0.1}, "one error rate per labeller"),
    ({"error_rates": ("0.1", 0.2)}, "number between 0 and 1"),
    ({"ambiguous_share": 1.5}, "ambiguous_share"),
    ({"ambiguous_share": float("nan")}, "ambiguous_share"),
    ({"seed": 1.5}, "whole number"),
    ({"seed": None}, "whole number"),
])
def test_bad_settings_give_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_labellers([0, 1, 1, 0], **kwargs)
