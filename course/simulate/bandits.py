"""Simulated clicks: a fixed A/B split against an epsilon-greedy bandit.

Every visitor sees one variant (an "arm") and clicks on it or not. The true
click rate of each variant is fixed and known to the simulator, never to the
policy that chooses. Two policies choose the variant:

* :func:`simulate_ab_split` gives each visitor a variant uniformly at random
  (a 50/50 split for two variants), whatever the clicks so far: a clean A/B test.
* :func:`simulate_epsilon_greedy` learns from the clicks: with probability
  ``epsilon`` it explores (a variant at random), otherwise it exploits (the
  variant with the best observed click rate so far).

The data are simulated: they show how the policies behave, not how any real
product's users do. Runs are deterministic for a given ``seed`` (a NumPy
``Generator``). :func:`expected_regret` measures what each policy costs: the
clicks one expects to lose by not always showing the best variant.

Example::

    >>> ab = simulate_ab_split([0.04, 0.05], horizon=10_000, seed=0)
    >>> bandit = simulate_epsilon_greedy([0.04, 0.05], horizon=10_000, epsilon=0.1, seed=0)
    >>> bool(expected_regret(bandit) < expected_regret(ab))
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from course.simulate import inputs

__all__ = [
    "BanditRun",
    "simulate_ab_split",
    "simulate_epsilon_greedy",
    "expected_regret",
    "cumulative_regret",
]


@dataclass(frozen=True)
class BanditRun:
    """What happened to each visitor in one simulated run.

    Attributes:
        policy: ``"A/B split"`` or ``"epsilon-greedy"``.
        click_rates: the true click rate of each variant (unknown to the policy).
        arms: the variant shown to each visitor, in order of arrival (0, 1, ...).
        clicks: 1 if that visitor clicked, else 0.

    """

    policy: str
    click_rates: tuple[float, ...]
    arms: np.ndarray
    clicks: np.ndarray

    @property
    def horizon(self) -> int:
        """Number of visitors in the run."""
        return len(self.arms)

    @property
    def total_clicks(self) -> int:
        """Clicks observed over the whole run."""
        return int(self.clicks.sum())

    def visitors_per_arm(self) -> np.ndarray:
        """Count the visitors shown each variant."""
        return np.bincount(self.arms, minlength=len(self.click_rates))

    def clicks_per_arm(self) -> np.ndarray:
        """Count the clicks observed on each variant."""
        return np.bincount(self.arms, weights=self.clicks,
                           minlength=len(self.click_rates)).astype(int)


def _click_rates(click_rates: Sequence[float]) -> tuple[float, ...]:
    """Check the true click rates: at least two, each between 0 and 1."""
    rates = inputs.shares("click_rates", click_rates, "click rate", "variant", "[0.04, 0.05]")
    if len(rates) < 2:
        raise ValueError("click_rates must give at least two variants to choose between; "
                         f"got {len(rates)}.")
    return tuple(rates)


_HORIZON = "horizon (the number of visitors)"
_EPSILON = "epsilon (the share of visitors used to explore)"


def simulate_ab_split(click_rates: Sequence[float], horizon: int, seed: int = 0) -> BanditRun:
    """Simulate a fixed A/B split: each visitor gets a variant uniformly at random.

    Args:
        click_rates: true click rate of each variant, each between 0 and 1.
        horizon: number of visitors, a positive whole number.
        seed: seed of the random generator, a whole number of 0 or more; the same
            seed gives the same run.

    Returns:
        A :class:`BanditRun` with the variant shown to each visitor and their clicks.

    Raises:
        ValueError: if a rate is outside [0, 1], fewer than two variants are given,
            the horizon is not a positive whole number or the seed is invalid.

    """
    rates = _click_rates(click_rates)
    horizon = inputs.whole_number(_HORIZON, horizon)
    rng = np.random.default_rng(inputs.seed(seed))
    arms = rng.integers(len(rates), size=horizon)
    clicks = (rng.random(horizon) < np.asarray(rates)[arms]).astype(int)
    return BanditRun("A/B split", rates, arms, clicks)


def simulate_epsilon_greedy(click_rates: Sequence[float], horizon: int, epsilon: float = 0.1,
                            seed: int = 0) -> BanditRun:
    """Simulate an epsilon-greedy bandit that learns from each click as it comes.

    Each visitor: with probability ``epsilon`` the bandit explores (a variant
    uniformly at random); otherwise it shows the variant with the highest
    observed click rate so far (ties, including the start when nothing has been
    seen yet, go to a variant chosen at random among the tied ones).

    Args:
        click_rates: true click rate of each variant, each between 0 and 1.
        horizon: number of visitors, a positive whole number.
        epsilon: share of visitors used to explore, between 0 and 1.
            0 never explores: it keeps the variant that looks best so far;
            1 always explores, which is an A/B split.
        seed: seed of the random generator, a whole number of 0 or more; the same
            seed gives the same run.

    Returns:
        A :class:`BanditRun` with the variant shown to each visitor and their clicks.

    Raises:
        ValueError: if a rate or epsilon is outside [0, 1], fewer than two variants
            are given, the horizon is not a positive whole number or the seed is
            invalid.

    """
    rates = _click_rates(click_rates)
    horizon = inputs.whole_number(_HORIZON, horizon)
    epsilon = inputs.share(_EPSILON, epsilon)
    rng = np.random.default_rng(inputs.seed(seed))
    n_arms = len(rates)
    shown = [0] * n_arms
    clicked = [0] * n_arms
    observed = [0.0] * n_arms  # observed click rate of each variant so far
    explore = rng.random(horizon) < epsilon
    draws = rng.random(horizon)
    tie_breaks = rng.random(horizon)
    arms = np.empty(horizon, dtype=int)
    clicks = np.empty(horizon, dtype=int)
    for t in range(horizon):
        if explore[t]:
            arm = int(tie_breaks[t] * n_arms)
        else:
            top = max(observed)
            best = [a for a in range(n_arms) if observed[a] == top]
            arm = best[int(tie_breaks[t] * len(best))]
        click = int(draws[t] < rates[arm])
        shown[arm] += 1
        clicked[arm] += click
        observed[arm] = clicked[arm] / shown[arm]
        arms[t], clicks[t] = arm, click
    return BanditRun("epsilon-greedy", rates, arms, clicks)


def cumulative_regret(run: BanditRun) -> np.ndarray:
    """Return the expected clicks lost so far, after each visitor, against the best variant.

    Visitor ``t`` costs ``max(click_rates) - click_rates[arm shown to t]``: zero
    when they saw the best variant. This uses the true rates, which only a
    simulation knows, so it measures the policy rather than the luck of the clicks.

    Args:
        run: a run from :func:`simulate_ab_split` or :func:`simulate_epsilon_greedy`.

    Returns:
        One running total per visitor, in order of arrival; it never decreases.

    """
    rates = np.asarray(run.click_rates)
    return np.cumsum(rates.max() - rates[run.arms])


def expected_regret(run: BanditRun) -> float:
    """Return the expected clicks lost over the whole run, against the best variant.

    Args:
        run: a run from :func:`simulate_ab_split` or :func:`simulate_epsilon_greedy`.

    Returns:
        The last value of :func:`cumulative_regret`: 0 if every visitor saw the
        best variant.

    """
    return float(cumulative_regret(run)[-1])
