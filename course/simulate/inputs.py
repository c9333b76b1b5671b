"""Input checks shared by every simulator, so that each one refuses bad input the same way.

Every check names the argument, says what it should be and shows what it got,
and raises :class:`ValueError`; it never rounds, clips or guesses. A rate or
share given as a percentage (``10`` for 10%) is refused with a hint saying
what to give instead.

One rule for the seed: a whole number of 0 or more (a Python ``int`` or a
NumPy integer; ``True`` is not a seed). ``None``, which would ask NumPy for
fresh randomness, is refused: every run in the course is deterministic, so
that a learner, a test and the grader see the same data.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

__all__ = ["SEED_RULE", "whole_number", "number", "share", "shares", "seed"]

#: What every simulator's ``seed`` must be; part of every refused seed's message.
SEED_RULE = ("seed must be a whole number of 0 or more, such as 0 (the course is "
             "deterministic: every simulation takes a fixed seed, so None is not accepted)")


def _got(value: object) -> str:
    """Show a refused value with its type (NaN, a float, is shown as missing)."""
    if isinstance(value, float) and math.isnan(value):
        return "nan (a missing value)"
    return f"{value!r} (a {type(value).__name__})"


def _a(noun: str) -> str:
    """Put "a" or "an" before ``noun``."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _is_real(value: object) -> bool:
    """Tell whether ``value`` is a real number that is not a bool nor NaN."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and not math.isnan(value))


def whole_number(name: str, value: object, minimum: int = 1) -> int:
    """Check that ``value`` is a whole number of at least ``minimum``.

    Args:
        name: the argument's name as the caller wrote it, used in the message.
        value: what the caller gave; a Python ``int`` or a NumPy integer.
        minimum: the smallest value allowed.

    Returns:
        ``value`` as a Python ``int``.

    Raises:
        ValueError: if ``value`` is a bool, not an integer (``2.0`` and ``"2"``
            included) or smaller than ``minimum``.

    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number of {minimum} or more; "
                         f"got {_got(value)}.")
    if value < minimum:
        raise ValueError(f"{name} must be a whole number of {minimum} or more; got {value}.")
    return int(value)


def number(name: str, value: object) -> float:
    """Check that ``value`` is a number (of any sign).

    Args:
        name: the argument's name, used in the message.
        value: what the caller gave.

    Returns:
        ``value`` as a Python ``float``.

    Raises:
        ValueError: if ``value`` is a bool, NaN or not a real number.

    """
    if not _is_real(value):
        raise ValueError(f"{name} must be a number; got {_got(value)}.")
    return float(value)


def share(name: str, value: object, what: str = "share", *, ends: bool = True) -> float:
    """Check that ``value`` is a share (a rate, a probability) between 0 and 1.

    Args:
        name: the argument's name, used in the message (``"click_rates[1]"``).
        value: what the caller gave.
        what: what the share is, for the message (``"conversion rate"``).
        ends: whether 0 and 1 themselves are allowed; if not, the share must
            be strictly between them.

    Returns:
        ``value`` as a Python ``float``.

    Raises:
        ValueError: if ``value`` is not a number, or is outside the range; a
            value between 1 and 100 gets a hint that it looks like a percentage.

    """
    if not _is_real(value):
        raise ValueError(f"{name} must be a number between 0 and 1; got {_got(value)}.")
    result = float(value)
    if not (0 <= result <= 1 if ends else 0 < result < 1):
        between = "between 0 and 1" if ends else "strictly between 0 and 1 (neither 0 nor 1)"
        hint = (f" (a percentage? give {result / 100:g} for {result:g}%)"
                if 1 < result <= 100 else "")
        raise ValueError(f"{name} must be {_a(what)} {between}; got {result:g}{hint}.")
    return result


def shares(name: str, values: object, what: str, per: str, example: str) -> list[float]:
    """Check that ``values`` is a list of shares between 0 and 1, one per something.

    Args:
        name: the argument's name, used in the messages (``"error_rates"``).
        values: what the caller gave: a list, tuple or NumPy array.
        what: what each share is, in the singular (``"error rate"``).
        per: what each share belongs to (``"labeller"``).
        example: a valid value to show, such as ``"(0.1, 0.2)"``.

    Returns:
        The shares as Python floats, in order (possibly an empty list: the
        caller decides how many it needs).

    Raises:
        ValueError: if ``values`` is text or not a sequence, or one of its
            items is not a share between 0 and 1 (see :func:`share`).

    """
    if isinstance(values, str | bytes) or not _is_sequence(values):
        raise ValueError(f"{name} must be a list of {what}s between 0 and 1, one {what} per "
                         f"{per}, such as {example}; got {values!r}.")
    return [share(f"{name}[{k}]", value, what) for k, value in enumerate(values)]


def _is_sequence(values: object) -> bool:
    """Tell whether ``values`` is a list, tuple or one-dimensional NumPy array."""
    return isinstance(values, Sequence) or getattr(values, "ndim", None) == 1


def seed(value: object) -> int:
    """Check a simulator's seed against the course's one rule (see :data:`SEED_RULE`).

    Args:
        value: what the caller gave as ``seed``.

    Returns:
        ``value`` as a Python ``int``, ready for ``numpy.random.default_rng``.

    Raises:
        ValueError: if ``value`` is ``None``, a bool, not an integer or negative.

    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{SEED_RULE}; got {value!r}.")
    return int(value)
