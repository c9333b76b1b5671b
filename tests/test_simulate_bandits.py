import numpy as np
import pytest

from course.simulate.bandits import (
    BanditRun,
    cumulative_regret,
    expected_regret,
    simulate_ab_split,
    simulate_epsilon_greedy,
)

RATES = [0.04, 0.05]


@pytest.mark.parametrize("simulate", [simulate_ab_split, simulate_epsilon_greedy])
def test_same_seed_same_run_and_another_seed_another(simulate):
    first, again = simulate(RATES, 2_000, seed=3), simulate(RATES, 2_000, seed=3)
    other = simulate(RATES, 2_000, seed=4)
    assert np.array_equal(first.arms, again.arms) and np.array_equal(first.clicks, again.clicks)
    assert not np.array_equal(first.arms, other.arms)


@pytest.mark.parametrize("simulate", [simulate_ab_split, simulate_epsilon_greedy])
def test_run_has_one_variant_and_one_click_flag_per_visitor(simulate):
    run = simulate([0.1, 0.2, 0.3], 500, seed=0)
    assert isinstance(run, BanditRun)
    assert run.horizon == 500 and run.arms.shape == run.clicks.shape == (500,)
    assert set(np.unique(run.arms)) <= {0, 1, 2}
    assert set(np.unique(run.clicks)) <= {0, 1}
    assert run.visitors_per_arm().sum() == 500
    assert run.clicks_per_arm().sum() == run.total_clicks == run.clicks.sum()
    assert run.click_rates == (0.1, 0.2, 0.3)


def test_ab_split_gives_each_variant_about_half_the_visitors():
    run = simulate_ab_split(RATES, 10_000, seed=0)
    assert run.policy == "A/B split"
    assert abs(run.visitors_per_arm()[0] - 5_000) < 200  # about 4 standard deviations


def test_clicks_follow_the_true_rates():
    run = simulate_ab_split([0.0, 1.0], 1_000, seed=0)
    assert np.array_equal(run.clicks, run.arms)  # variant 0 never clicked, variant 1 always


def test_epsilon_greedy_moves_to_the_better_variant():
    run = simulate_epsilon_greedy([0.02, 0.2], 5_000, epsilon=0.1, seed=0)
    assert run.policy == "epsilon-greedy"
    assert run.visitors_per_arm()[1] > 0.9 * 5_000


def test_epsilon_one_explores_like_an_ab_split():
    run = simulate_epsilon_greedy(RATES, 10_000, epsilon=1.0, seed=0)
    assert abs(run.visitors_per_arm()[0] - 5_000) < 200


def test_epsilon_zero_never_explores_after_a_clear_leader():
    run = simulate_epsilon_greedy([0.0, 1.0], 1_000, epsilon=0.0, seed=0)
    first_best = int(np.argmax(run.arms == 1))  # the first visitor shown variant 1 clicks
    assert (run.arms[first_best:] == 1).all()


def test_regret_is_visitors_on_the_worse_variant_times_the_gap():
    run = simulate_ab_split(RATES, 1_000, seed=1)
    assert expected_regret(run) == pytest.approx(run.visitors_per_arm()[0] * 0.01)
    curve = cumulative_regret(run)
    assert curve.shape == (1_000,) and (np.diff(curve) >= 0).all()
    assert curve[-1] == pytest.approx(expected_regret(run))


def test_no_regret_when_always_on_the_best_variant():
    run = simulate_ab_split([0.05, 0.05], 100, seed=0)
    assert expected_regret(run) == 0


def test_bandit_loses_fewer_clicks_than_ab_split_on_average():
    seeds = range(10)
    ab = np.mean([expected_regret(simulate_ab_split(RATES, 5_000, seed=s)) for s in seeds])
    bandit = np.mean([expected_regret(simulate_epsilon_greedy(RATES, 5_000, 0.1, seed=s))
                      for s in seeds])
    assert bandit < ab


def test_accepts_numpy_rates_and_integers():
    run = simulate_epsilon_greedy(np.array([0.1, 0.2]), np.int64(10), epsilon=0, seed=0)
    assert run.horizon == 10


@pytest.mark.parametrize("rates, message", [
    ([5, 10], "percentage"),
    ([0.1, -0.2], "between 0 and 1"),
    ([0.1, 1.5], "between 0 and 1"),
    ([0.1, float("nan")], "number between 0 and 1"),
    ([0.1, "0.2"], "number between 0 and 1"),
    ([0.1, True], "number between 0 and 1"),
    ([0.1], "at least two variants"),
    ([], "at least two variants"),
    ("0.1, 0.2", "list of click rates"),
    (0.1, "list of click rates"),
    (None, "list of click rates"),
])
@pytest.mark.parametrize("simulate", [simulate_ab_split, simulate_epsilon_greedy])
def test_bad_click_rates_raise_clear_errors(simulate, rates, message):
    with pytest.raises(ValueError, match=message):
        simulate(rates, 100)


@pytest.mark.parametrize("horizon", [0, -5, 2.5, "100", True, None])
@pytest.mark.parametrize("simulate", [simulate_ab_split, simulate_epsilon_greedy])
def test_bad_horizon_raises_clear_error(simulate, horizon):
    with pytest.raises(ValueError, match="horizon .* whole number of 1 or more"):
        simulate(RATES, horizon)


@pytest.mark.parametrize("epsilon", [-0.1, 1.5, float("nan"), "0.1", None, True])
def test_bad_epsilon_raises_clear_error(epsilon):
    with pytest.raises(ValueError, match="epsilon .* between 0 and 1"):
        simulate_epsilon_greedy(RATES, 100, epsilon=epsilon)
