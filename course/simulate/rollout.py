"""A simulated model swap in production: daily conversations and thumbs-down votes.

Module 08 evaluates a new model offline and then asks what to watch once it is
live. No real product's online data ships with the course, so this simulator
makes some, and the notebook says plainly that it is **simulated**.

The model is deliberately simple. Every day ``conversations_per_day``
conversations happen. Before ``switch_day`` all of them are served by the
current model, A; from ``switch_day`` on, a share ``rollout_share`` of them is
served by the new model, B (a staged rollout; the rest stay on A). Each
conversation ends with a thumbs-down with probability ``thumbs_down[model]``,
independently of the others. Users give feedback on only some conversations,
and reality is noisier than this; the point is to show what a daily metric
and a rollback trigger look like, not to predict any product.

Example::

    >>> days = simulate_rollout(days=14, switch_day=7, seed=0)
    >>> list(days.columns)
    ['day', 'model', 'conversations', 'thumbs_down']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course.simulate import inputs

__all__ = ["simulate_rollout"]


def _rates(thumbs_down: object) -> tuple[float, float]:
    """Check the two thumbs-down rates: a pair (model A, model B) of shares."""
    if isinstance(thumbs_down, dict):
        missing = {"A", "B"} - set(thumbs_down)
        if missing:
            raise ValueError("thumbs_down must give a rate for both models, 'A' and 'B'; "
                             f"missing {sorted(missing)}.")
        thumbs_down = (thumbs_down["A"], thumbs_down["B"])
    rates = inputs.shares("thumbs_down", thumbs_down, "thumbs-down rate", "model",
                          "(0.08, 0.10)")
    if len(rates) != 2:
        raise ValueError("thumbs_down must hold two rates, one for model A and one for "
                         f"model B, such as (0.08, 0.10); got {len(rates)}.")
    return rates[0], rates[1]


def simulate_rollout(days: int = 28, switch_day: int = 14, conversations_per_day: int = 2_000,
                     rollout_share: float = 0.5,
                     thumbs_down: tuple[float, float] | dict[str, float] = (0.08, 0.10),
                     seed: int = 0) -> pd.DataFrame:
    """Simulate daily conversations and thumbs-down votes before and after a model swap.

    Args:
        days: number of days to simulate, a whole number of 1 or more.
        switch_day: the first day (counted from 0) on which model B serves
            conversations; ``days`` or more means B never goes live.
        conversations_per_day: conversations per day, a whole number of 1 or more.
        rollout_share: share of each day's conversations that B serves once it
            is live, between 0 and 1.
        thumbs_down: the true thumbs-down rate of model A and of model B, as a
            pair of shares or a dict with keys ``"A"`` and ``"B"``.
        seed: seed of the random generator, a whole number of 0 or more.

    Returns:
        A DataFrame with one row per day and model that served conversations
        that day: ``day``, ``model`` (``"A"`` or ``"B"``), ``conversations``
        and ``thumbs_down`` (counts).

    Raises:
        ValueError: if an argument is not of the kind described above.

    """
    days = inputs.whole_number("days", days)
    switch_day = inputs.whole_number("switch_day", switch_day, minimum=0)
    per_day = inputs.whole_number("conversations_per_day", conversations_per_day)
    share_b = inputs.share("rollout_share", rollout_share, "rollout share")
    rate_a, rate_b = _rates(thumbs_down)
    rng = np.random.default_rng(inputs.seed(seed))
    rows = []
    for day in range(days):
        served_b = int(rng.binomial(per_day, share_b)) if day >= switch_day else 0
        for model, served, rate in (("A", per_day - served_b, rate_a), ("B", served_b, rate_b)):
            if served:
                rows.append((day, model, served, int(rng.binomial(served, rate))))
    return pd.DataFrame(rows, columns=["day", "model", "conversations", "thumbs_down"])
