"""Simulated lending with selective labels: the bank only learns about the people it lends to.

Everything here is **simulated**; notebooks say so. The simulation shows one
feedback loop that real lending, hiring, fraud and moderation models share:
an applicant the model rejects never gets an outcome (a loan that is never
made can neither be repaid nor default), so a model retrained on the outcomes
it can see learns only about the people it already approves.

The world
    Each applicant has a standardised credit ``score`` (normal, mean 0, sd 1,
    higher is safer), grouped into four ``score_band`` s (1 = lowest quarter,
    4 = highest), and a flag ``thin_file`` (1 for a short credit history, a
    share ``thin_file_share`` of applicants). The true probability of default
    is ``1 / (1 + exp(-(-2.2 - score + c * thin_file)))`` with ``c = 1.5``
    before ``change_period`` and ``c = 0`` from then on: thin-file applicants
    used to be riskier than others with the same score, and then, without the
    bank knowing, stop being riskier.

The bank
    The bank's model is a table: the default rate of each of the eight
    segments (score band x thin file), estimated from the outcomes it has
    seen. Period 0 is a pilot in which every applicant was approved, so every
    outcome was seen. In each later period the bank approves an applicant when
    the estimated default rate of their segment is below ``max_default_rate``
    (1/6 when a repaid loan earns 1 and a default loses 5), and also approves
    a random ``exploration_share`` of all applicants whatever the model says
    (an exploration or holdout group). It then sees the outcomes of the
    approved applicants only, and re-estimates each segment's default rate
    from the outcomes of the last ``window`` periods, keeping the old estimate
    for segments with fewer than ``min_outcomes`` recent outcomes.

The applicants of a given period are the same whatever the bank does (they
depend only on ``seed`` and the period), so two policies can be compared
applicant by applicant.

Example::

    >>> loop = run_lending_loop(periods=6, exploration_share=0.1, seed=0)
    >>> sorted(loop.applicants["period"].unique().tolist())
    [1, 2, 3, 4, 5, 6]
    >>> bool((loop.applicants["outcome_seen"] == loop.applicants["approved"]).all())
    True
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from course.simulate import inputs

__all__ = [
    "SCORE_BAND_EDGES",
    "LendingLoop",
    "simulate_applicants",
    "run_lending_loop",
]

#: Cut points of the four score bands: the quartiles of a standard normal score.
SCORE_BAND_EDGES = (-0.6745, 0.0, 0.6745)

_INTERCEPT, _SLOPE, _THIN_BEFORE, _THIN_AFTER = -2.2, -1.0, 1.5, 0.0
_SEGMENT = ["score_band", "thin_file"]


class LendingLoop(NamedTuple):
    """The result of :func:`run_lending_loop`.

    Attributes:
        applicants: one row per applicant of periods 1 to ``periods``: ``period``,
            ``score``, ``score_band``, ``thin_file``, ``believed_default_rate``
            (the model's estimate for the applicant's segment when deciding),
            ``explored`` (approved at random, whatever the model says),
            ``approved``, ``outcome_seen`` (the bank learns the outcome only of
            approved applicants), ``defaulted`` (the true outcome, which the
            simulation knows for everyone) and ``default_probability`` (the true
            probability of default).
        estimates: one row per period (0 = after the pilot) and segment: the
            model's ``believed_default_rate`` after that period's retraining,
            the ``true_default_rate`` of the segment from then on, and
            ``recent_outcomes``, the outcomes seen in the window.
        pilot: the period-0 applicants, all approved, all outcomes seen.

    """

    applicants: pd.DataFrame
    estimates: pd.DataFrame
    pilot: pd.DataFrame


def _true_probability(score: np.ndarray, thin_file: np.ndarray, changed: bool) -> np.ndarray:
    thin_effect = _THIN_AFTER if changed else _THIN_BEFORE
    return 1 / (1 + np.exp(-(_INTERCEPT + _SLOPE * score + thin_effect * thin_file)))


def _true_segment_rates(changed: bool) -> pd.Series:
    """Exact default rate of each segment, by integrating over the normal score."""
    grid = np.linspace(-6, 6, 24001)
    density = np.exp(-grid**2 / 2)
    band = np.searchsorted(SCORE_BAND_EDGES, grid) + 1
    rates = {}
    for b in range(1, 5):
        for thin in (0, 1):
            mask = band == b
            p = _true_probability(grid[mask], np.full(mask.sum(), thin), changed)
            rates[(b, thin)] = float(np.sum(p * density[mask]) / np.sum(density[mask]))
    return pd.Series(rates, name="true_default_rate").rename_axis(_SEGMENT)


def simulate_applicants(n: int, period: int, seed: int = 0, thin_file_share: float = 0.3,
                        change_period: int = 1) -> pd.DataFrame:
    """Simulate the applicants of one period, with their true outcomes.

    Args:
        n: number of applicants.
        period: the period they apply in (0 or more); from ``change_period`` on,
            thin-file applicants are no riskier than others with the same score.
        seed: seed of the random generator, a whole number of 0 or more; the
            applicants depend only on ``seed`` and ``period``.
        thin_file_share: share of applicants with a thin credit file.
        change_period: first period in which the change has happened.

    Returns:
        A DataFrame with ``period``, ``score``, ``score_band`` (1 to 4),
        ``thin_file`` (0 or 1), ``default_probability`` (true) and
        ``defaulted`` (0 or 1, drawn from that probability).

    Raises:
        ValueError: if a size, period or seed is not a whole number of the
            right range, or the share is not between 0 and 1.

    """
    size = inputs.whole_number("n", n, 1)
    when = inputs.whole_number("period", period, 0)
    change = inputs.whole_number("change_period", change_period, 0)
    share = inputs.share("thin_file_share", thin_file_share)
    rng = np.random.default_rng([inputs.seed(seed), when])
    score = rng.standard_normal(size)
    thin = (rng.random(size) < share).astype(int)
    probability = _true_probability(score, thin, changed=when >= change)
    defaulted = (rng.random(size) < probability).astype(int)
    return pd.DataFrame({
        "period": when,
        "score": score,
        "score_band": np.searchsorted(SCORE_BAND_EDGES, score) + 1,
        "thin_file": thin,
        "default_probability": probability,
        "defaulted": defaulted,
    })


def run_lending_loop(periods: int = 12, applicants_per_period: int = 2000,
                     exploration_share: float = 0.0, max_default_rate: float = 1 / 6,
                     window: int = 3, min_outcomes: int = 30, pilot_size: int = 4000,
                     thin_file_share: float = 0.3, seed: int = 0) -> LendingLoop:
    """Run the bank's approve, observe, retrain loop; see the module docstring.

    Args:
        periods: number of periods after the pilot.
        applicants_per_period: applicants in each period.
        exploration_share: share of all applicants approved at random whatever
            the model says (0 for a bank that approves only on the model).
        max_default_rate: approve a segment whose estimated default rate is
            below this; strictly between 0 and 1.
        window: retrain on the outcomes of this many most recent periods.
        min_outcomes: a segment with fewer recent outcomes keeps its estimate.
        pilot_size: applicants in the pilot (period 0), all approved.
        thin_file_share: share of applicants with a thin credit file.
        seed: seed of the random generator, a whole number of 0 or more; the same
            seed gives the same loop.

    Returns:
        A :class:`LendingLoop` with the applicants, the model's estimates per
        period and the pilot.

    Raises:
        ValueError: if a size is not a positive whole number, the seed is not a
            whole number of 0 or more, a share is not between 0 and 1 or
            ``max_default_rate`` is not strictly between 0 and 1.

    """
    n_periods = inputs.whole_number("periods", periods, 1)
    n = inputs.whole_number("applicants_per_period", applicants_per_period, 1)
    explore = inputs.share("exploration_share", exploration_share)
    limit = inputs.share("max_default_rate", max_default_rate, ends=False)
    recent = inputs.whole_number("window", window, 1)
    minimum = inputs.whole_number("min_outcomes", min_outcomes, 1)
    base_seed = inputs.seed(seed)
    pilot = simulate_applicants(inputs.whole_number("pilot_size", pilot_size, 1), 0, base_seed,
                                thin_file_share, change_period=1)
    pilot = pilot.assign(explored=False, approved=True, outcome_seen=True)
    segments = pd.MultiIndex.from_product([range(1, 5), (0, 1)], names=_SEGMENT)
    pilot_rates = pilot.groupby(_SEGMENT)["defaulted"].mean().reindex(segments)
    estimate = pilot_rates.fillna(pilot["defaulted"].mean())  # an empty segment gets the mean
    truth_before, truth_after = _true_segment_rates(False), _true_segment_rates(True)

    explorer = np.random.default_rng([base_seed, 1_000_003])  # independent of the applicants
    seen = [pilot[_SEGMENT + ["period", "defaulted"]]]
    rows, history = [], [_estimates_row(0, estimate, pilot, truth_before, segments)]
    for period in range(1, n_periods + 1):
        batch = simulate_applicants(n, period, base_seed, thin_file_share, change_period=1)
        key = pd.MultiIndex.from_frame(batch[_SEGMENT])
        believed = estimate.reindex(key).to_numpy()
        explored = explorer.random(n) < explore
        approved = (believed < limit) | explored
        batch = batch.assign(believed_default_rate=believed, explored=explored,
                             approved=approved, outcome_seen=approved)
        rows.append(batch)
        seen.append(batch.loc[approved, _SEGMENT + ["period", "defaulted"]])
        window_data = pd.concat(seen, ignore_index=True)
        window_data = window_data[window_data["period"] > period - recent]
        stats = window_data.groupby(_SEGMENT)["defaulted"].agg(["mean", "size"])
        enough = stats[stats["size"] >= minimum]
        estimate = estimate.copy()
        estimate.loc[enough.index] = enough["mean"]
        history.append(_estimates_row(period, estimate, window_data, truth_after, segments))

    columns = ["period", "score", "score_band", "thin_file", "believed_default_rate",
               "explored", "approved", "outcome_seen", "defaulted", "default_probability"]
    applicants = pd.concat(rows, ignore_index=True)[columns]
    return LendingLoop(applicants, pd.concat(history, ignore_index=True), pilot)


def _estimates_row(period: int, estimate: pd.Series, outcomes: pd.DataFrame,
                   truth: pd.Series, segments: pd.MultiIndex) -> pd.DataFrame:
    counts = outcomes.groupby(_SEGMENT).size().reindex(segments, fill_value=0)
    return pd.DataFrame({
        "period": period,
        "believed_default_rate": estimate.reindex(segments).to_numpy(),
        "true_default_rate": truth.reindex(segments).to_numpy(),
        "recent_outcomes": counts.to_numpy(),
    }, index=segments).reset_index()
