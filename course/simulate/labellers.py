"""Simulated human labellers who label the same items, with mistakes and ambiguity.

Real products rarely have two people label the same data, so module 02 uses
this simulator to show why labelling guidelines and agreement between
labellers matter. Everything it returns is **simulated**, and notebooks say so.

The model is deliberately simple. Each item has a true label (0 or 1). A
share of the items, the same for every labeller, is *ambiguous*: the
guidelines do not settle them, and each labeller independently guesses (1
with probability one half). On every other item, labeller ``k`` gives the
wrong label with probability ``error_rates[k]``, independently of the others.
Better guidelines show up as a smaller ``ambiguous_share``; better training
or tooling as smaller ``error_rates``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from course.simulate import inputs

__all__ = ["simulate_labellers"]


def _check_truth(truth: object) -> np.ndarray:
    """Check the true labels: a non-empty, one-dimensional collection of 0s and 1s."""
    if isinstance(truth, str | bytes) or not hasattr(truth, "__len__"):
        raise ValueError(
            "truth must be a list, array or Series of true labels (0 or 1), "
            f"not {type(truth).__name__}."
        )
    values = np.asarray(truth)
    if values.ndim != 1:
        raise ValueError(
            f"truth must be one-dimensional (one label per item); it has shape {values.shape}."
        )
    if values.size == 0:
        raise ValueError("truth is empty: give at least one true label to simulate.")
    if values.dtype == bool:
        return values.astype(int)
    if not np.issubdtype(values.dtype, np.number):
        raise ValueError(
            "truth must hold the numbers 0 and 1 (for example the `high_income` column), "
            f"not values of type {values.dtype}; map text labels to 0/1 first."
        )
    if np.isnan(values.astype(float)).any():
        raise ValueError("truth contains missing values (NaN); every item needs a true label.")
    unexpected = sorted(set(np.unique(values).tolist()) - {0, 1})
    if unexpected:
        raise ValueError(
            f"truth must hold only 0 and 1; it also holds {unexpected[:5]}."
        )
    return values.astype(int)


def simulate_labellers(
    truth: Sequence[int] | np.ndarray | pd.Series,
    error_rates: Sequence[float] = (0.1, 0.1),
    ambiguous_share: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate labellers who each label every item of ``truth``.

    Args:
        truth: the true label of each item, 0 or 1 (a list, array or Series).
        error_rates: one share between 0 and 1 per labeller: how often that
            labeller gets a clear (not ambiguous) item wrong. Two rates give
            two labellers.
        ambiguous_share: share of items the guidelines do not settle; on those,
            every labeller guesses at random. The same items are ambiguous for
            everyone.
        seed: seed of the random generator, a whole number of 0 or more; the
            same seed gives the same labels.

    Returns:
        A DataFrame with one row per item (with the index of ``truth`` if it is
        a Series) and one 0/1 column per labeller, named ``labeller_1``,
        ``labeller_2``, …, plus ``ambiguous`` (True for the items the
        guidelines do not settle).

    Raises:
        ValueError: if ``truth`` is not a non-empty, one-dimensional collection
            of 0/1 labels, a rate is not a share between 0 and 1, there are no
            rates, or the seed is not a whole number of 0 or more.

    """
    labels = _check_truth(truth)
    rates = inputs.shares("error_rates", error_rates, "error rate", "labeller", "(0.1, 0.2)")
    if not rates:
        raise ValueError("error_rates is empty: give one error rate per labeller.")
    ambiguous_share = inputs.share("ambiguous_share", ambiguous_share)
    rng = np.random.default_rng(inputs.seed(seed))
    n = labels.size
    ambiguous = rng.random(n) < ambiguous_share
    columns: dict[str, np.ndarray] = {}
    for k, rate in enumerate(rates, start=1):
        wrong = rng.random(n) < rate
        given = np.where(wrong, 1 - labels, labels)
        guess = (rng.random(n) < 0.5).astype(int)
        columns[f"labeller_{k}"] = np.where(ambiguous, guess, given)
    columns["ambiguous"] = ambiguous
    index = truth.index if isinstance(truth, pd.Series) else None
    return pd.DataFrame(columns, index=index)
