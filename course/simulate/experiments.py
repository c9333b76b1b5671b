"""Simulated A/B tests: users split between a control and a treatment, who convert or not.

The data are simulated: every user in the control group converts with
probability ``base_rate`` and every user in the treatment group with
``base_rate + lift``, independently. The true rates are known to the
simulator, never to the analysis, so a notebook can show what a test
concludes and then reveal what was true. Nothing here describes any real
product's users.

* :func:`simulate_ab_test` gives one test as a table, one row per user (which
  day they arrived, which group, whether they converted): the data an analyst
  receives after a launch experiment.
* :func:`simulate_daily_conversions` gives many tests at once as daily counts,
  for simulations such as the peeking problem (looking at the p-value every
  day and stopping at the first significant look). With ``lift=0`` each one is
  an A/A test, where any "significant" result is a false positive.

Runs are deterministic for a given ``seed`` (a NumPy ``Generator``).

Example::

    >>> test = simulate_ab_test(n_per_group=1_000, base_rate=0.10, lift=0.02, seed=0)
    >>> sorted(test["group"].unique())
    ['control', 'treatment']
    >>> sims = simulate_daily_conversions(n_experiments=500, days=14, users_per_day=200,
    ...                                   base_rate=0.10, seed=0)
    >>> sims.control.shape
    (500, 14)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from course.simulate import inputs

__all__ = ["DailyConversions", "simulate_ab_test", "simulate_daily_conversions"]

GROUPS = ("control", "treatment")


class DailyConversions(NamedTuple):
    """Daily conversions of many simulated experiments.

    Attributes:
        control: conversions in the control group, shape ``(n_experiments, days)``.
        treatment: conversions in the treatment group, same shape.
        users_per_day: users who arrive in *each* group on each day.
        base_rate: the true conversion rate of the control group.
        lift: the true difference, treatment rate minus control rate.

    """

    control: np.ndarray
    treatment: np.ndarray
    users_per_day: int
    base_rate: float
    lift: float


def _rates(base_rate: object, lift: object) -> tuple[float, float]:
    """Check the control's rate and the lift: both rates must be between 0 and 1."""
    base = inputs.share("base_rate", base_rate, "conversion rate")
    diff = inputs.number("lift", lift)
    if not 0 <= base + diff <= 1:
        raise ValueError(
            f"base_rate + lift is the treatment's conversion rate and must be between 0 and 1; "
            f"got {base:g} + {diff:g} = {base + diff:g}. Give the lift as a difference of rates "
            "(0.01 for one percentage point), not as a percentage.")
    return base, diff


def simulate_ab_test(n_per_group: int, base_rate: float, lift: float, days: int = 14,
                     seed: int = 0) -> pd.DataFrame:
    """Simulate one A/B test; return one row per user.

    Args:
        n_per_group: users in each group (the test has twice as many in all).
        base_rate: true conversion rate of the control group, between 0 and 1.
        lift: true treatment rate minus control rate, for example ``0.01`` for
            one percentage point (may be 0 or negative).
        days: length of the test; users arrive evenly over the days.
        seed: seed of the random generator, a whole number of 0 or more; the same
            seed gives the same data.

    Returns:
        A DataFrame with columns ``user_id`` (0, 1, ...), ``day`` (1 to ``days``),
        ``group`` (``"control"`` or ``"treatment"``) and ``converted`` (1 if the
        user converted, else 0), sorted by day then user.

    Raises:
        ValueError: if a size is not a positive whole number (or too large to
            simulate), a rate is outside 0 to 1, or the seed is invalid.

    """
    n = inputs.whole_number("n_per_group", n_per_group)
    n_days = inputs.whole_number("days", days)
    base, diff = _rates(base_rate, lift)
    if n > 10_000_000:
        raise ValueError(f"n_per_group = {n:,} is too large to simulate in memory; "
                         "use at most 10,000,000.")
    rng = np.random.default_rng(inputs.seed(seed))
    group = np.repeat(np.array(GROUPS), n)
    rate = np.where(group == "treatment", base + diff, base)
    converted = (rng.random(2 * n) < rate).astype(int)
    day = rng.integers(1, n_days + 1, size=2 * n)
    order = np.lexsort((rng.random(2 * n), day))
    return pd.DataFrame({
        "user_id": np.arange(2 * n),
        "day": day[order],
        "group": group[order],
        "converted": converted[order],
    })


def simulate_daily_conversions(n_experiments: int, days: int, users_per_day: int,
                               base_rate: float, lift: float = 0.0,
                               seed: int = 0) -> DailyConversions:
    """Simulate many A/B tests at once, as conversions per group and day.

    Each day ``users_per_day`` new users join each group. With ``lift=0`` the two
    groups are identical (an A/A test): any significant difference is a false positive.

    Args:
        n_experiments: number of independent experiments to simulate.
        days: days each experiment runs.
        users_per_day: new users per group per day.
        base_rate: true conversion rate of the control group, between 0 and 1.
        lift: true treatment rate minus control rate (0 for an A/A test).
        seed: seed of the random generator, a whole number of 0 or more; the same
            seed gives the same data.

    Returns:
        A :class:`DailyConversions` whose ``control`` and ``treatment`` arrays have
        shape ``(n_experiments, days)``; take ``np.cumsum(..., axis=1)`` for the
        running totals an analyst sees when looking at the test each day.

    Raises:
        ValueError: if a size is not a positive whole number (or too large to
            simulate), a rate is outside 0 to 1, or the seed is invalid.

    """
    n_exp = inputs.whole_number("n_experiments", n_experiments)
    n_days = inputs.whole_number("days", days)
    per_day = inputs.whole_number("users_per_day", users_per_day)
    base, diff = _rates(base_rate, lift)
    if n_exp * n_days > 10_000_000:
        raise ValueError(f"n_experiments * days = {n_exp * n_days:,} is too large to simulate "
                         "in memory; use at most 10,000,000.")
    rng = np.random.default_rng(inputs.seed(seed))
    control = rng.binomial(per_day, base, size=(n_exp, n_days))
    treatment = rng.binomial(per_day, base + diff, size=(n_exp, n_days))
    return DailyConversions(control, treatment, per_day, base, diff)
