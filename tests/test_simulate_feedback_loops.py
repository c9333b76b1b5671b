import numpy as np
import pandas as pd
import pytest

from course.simulate.feedback_loops import (
    SCORE_BAND_EDGES,
    run_lending_loop,
    simulate_applicants,
)


def test_applicants_columns_bands_and_seed():
    first = simulate_applicants(5000, period=2, seed=3)
    assert list(first.columns) == ["period", "score", "score_band", "thin_file",
                                   "default_probability", "defaulted"]
    assert (first["period"] == 2).all()
    assert set(first["score_band"]) == {1, 2, 3, 4}
    assert (first["score_band"] == np.searchsorted(SCORE_BAND_EDGES, first["score"]) + 1).all()
    assert abs(first["thin_file"].mean() - 0.3) < 0.03
    pd.testing.assert_frame_equal(first, simulate_applicants(5000, period=2, seed=3))
    assert not first.equals(simulate_applicants(5000, period=3, seed=3))
    assert not first.equals(simulate_applicants(5000, period=2, seed=4))


def test_thin_file_stops_being_riskier_at_the_change():
    before = simulate_applicants(100_000, period=0, seed=0)
    after = simulate_applicants(100_000, period=1, seed=0)

    def gap(frame):
        rates = frame.groupby("thin_file")["defaulted"].mean()
        return rates[1] - rates[0]

    assert gap(before) > 0.15
    assert abs(gap(after)) < 0.01
    assert abs(after["defaulted"].mean() - after["default_probability"].mean()) < 0.005


def test_loop_sees_outcomes_only_of_approved_applicants():
    loop = run_lending_loop(periods=4, applicants_per_period=1000, exploration_share=0.1, seed=1)
    applicants = loop.applicants
    assert len(applicants) == 4000 and sorted(applicants["period"].unique()) == [1, 2, 3, 4]
    assert (applicants["outcome_seen"] == applicants["approved"]).all()
    assert applicants.loc[applicants["explored"], "approved"].all()
    assert abs(applicants["explored"].mean() - 0.1) < 0.03
    model_only = ~applicants["explored"]
    decided = applicants.loc[model_only]
    assert (decided["approved"] == (decided["believed_default_rate"] < 1 / 6)).all()
    assert loop.pilot["approved"].all() and len(loop.pilot) == 4000
    assert len(loop.estimates) == 5 * 8


def test_policies_see_the_same_applicants():
    without = run_lending_loop(periods=3, exploration_share=0.0, seed=2).applicants
    with_ = run_lending_loop(periods=3, exploration_share=0.2, seed=2).applicants
    same = ["period", "score", "thin_file", "defaulted"]
    pd.testing.assert_frame_equal(without[same], with_[same])
    assert not without["explored"].any()


def test_model_only_loop_stays_wrong_where_it_never_lends_and_exploration_fixes_it():
    def last_estimates(share):
        estimates = run_lending_loop(exploration_share=share, seed=0).estimates
        last = estimates[estimates["period"] == estimates["period"].max()]
        return last.set_index(["score_band", "thin_file"])

    stuck = last_estimates(0.0)
    assert stuck.loc[(3, 1), "recent_outcomes"] == 0
    assert stuck.loc[(3, 1), "believed_default_rate"] - stuck.loc[(3, 1), "true_default_rate"] > 0.1
    explored = last_estimates(0.1)
    error = (explored["believed_default_rate"] - explored["true_default_rate"]).abs()
    assert error.max() < 0.06


def test_same_seed_same_loop():
    first = run_lending_loop(periods=3, exploration_share=0.1, seed=5)
    again = run_lending_loop(periods=3, exploration_share=0.1, seed=5)
    pd.testing.assert_frame_equal(first.applicants, again.applicants)
    pd.testing.assert_frame_equal(first.estimates, again.estimates)


@pytest.mark.parametrize("kwargs, message", [
    ({"periods": 0}, "periods must be a whole number"),
    ({"applicants_per_period": 2.5}, "applicants_per_period must be a whole number"),
    ({"exploration_share": 10}, "a percentage"),
    ({"exploration_share": True}, "exploration_share must be a number"),
    ({"max_default_rate": 1}, "max_default_rate must be a share"),
    ({"seed": -1}, "seed must be"),
    ({"window": 0}, "window must be"),
])
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_lending_loop(**kwargs)


def test_bad_applicant_arguments():
    with pytest.raises(ValueError, match="n must be"):
        simulate_applicants(0, period=1)
    with pytest.raises(ValueError, match="thin_file_share must be a share"):
        simulate_applicants(10, period=1, thin_file_share=-0.1)
    with pytest.raises(ValueError, match="period must be"):
        simulate_applicants(10, period=-1)
