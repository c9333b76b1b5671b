"""Friendly checks for graded test cells.

A check either returns quietly (and the cell prints a ✔ line) or raises
:class:`CheckFailed`, an ``AssertionError`` whose message is the feedback.
Three outcomes, three messages:

* not attempted: the variable is still ``None``;
* wrong, and why: the wrong type, a percentage instead of a share, a known
  mistake (recall given for precision), or simply not right yet;
* correct.

Visible checks compare an answer with a *digest* (a salted hash of the
rounded answer) so that a learner learns at once whether they are right
without the test cell showing the answer. Hidden tests, which nbgrader
removes from the student version, pin exact values with :func:`close` and
:func:`equals`. Make a digest with ``python -m course digest NAME VALUE``.

Checks never return a value that nbgrader could read as partial credit: the
public ones return ``None``.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Protocol


class _Items(Protocol):
    def items(self) -> Iterable[tuple[object, object]]: ...

__all__ = [
    "CheckFailed",
    "NotAttempted",
    "answered",
    "number",
    "share",
    "count",
    "choice",
    "digest",
    "matches",
    "close",
    "equals",
    "within_factor",
    "proportional",
    "best_within",
    "correct",
]


class CheckFailed(AssertionError):
    """An answer is wrong; the message says why and what to try."""


class NotAttempted(CheckFailed):
    """The answer variable still holds its placeholder."""


def _fail(message: str) -> None:
    raise CheckFailed(f"✘ {message}")


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} (a {type(value).__name__})"


def answered(name: str, value: object) -> None:
    """Fail with a "not attempted" message if ``value`` is still ``None`` or ``...``."""
    if value is None or value is Ellipsis:
        raise NotAttempted(
            f"✘ `{name}` is not answered yet: replace None with your answer in the "
            "cell above, run that cell, then run this check again."
        )


def _base_float(value: numbers.Real) -> float:
    """Convert with the built-in type's method, so a subclass cannot fake its value."""
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, int):
        return int.__float__(value)
    return float(value)


def _as_float(name: str, value: object) -> float:
    answered(name, value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if hasattr(value, "shape") and getattr(value, "size", 0) == 1 and value.shape != ():
            _fail(f"`{name}` should be a single number; you gave an array of one value. "
                  "Take it out with float(...).")
        _fail(f"`{name}` should be a number; you gave {_describe(value)}.")
    result = _base_float(value)
    if math.isnan(result):
        _fail(f"`{name}` is NaN (not a number): check for a division by zero or missing data.")
    return result


def number(name: str, value: object, low: float = -math.inf, high: float = math.inf) -> None:
    """Check that ``value`` is a real number (not a bool or string) within [low, high]."""
    result = _as_float(name, value)
    if not low <= result <= high:
        _fail(f"`{name}` should be between {low:g} and {high:g}; you gave {result:g}.")


def share(name: str, value: object) -> None:
    """Check that ``value`` is a share between 0 and 1 (a rate, not a percentage or a count)."""
    result = _as_float(name, value)
    if 1 < result <= 100:
        kind = "a percentage or a count" if result == int(result) else "a percentage"
        _fail(f"`{name}` should be a share between 0 and 1; you gave {result:g}, which "
              f"looks like {kind}. A share is a part divided by the whole "
              f"(give {result / 100:g} for {result:g}%).")
    if not 0 <= result <= 1:
        hint = " (a count? divide by the total)" if result > 100 else ""
        _fail(f"`{name}` should be a share between 0 and 1; you gave {result:g}{hint}.")


def count(name: str, value: object) -> None:
    """Check that ``value`` is a whole number of people or things (0 or more)."""
    result = _as_float(name, value)
    if result < 0 or result != int(result):
        _fail(f"`{name}` should be a whole number (a count) of 0 or more; you gave {result:g}.")


def choice(name: str, value: object, options: str | Iterable[str] = "ABCD") -> None:
    """Check that ``value`` is one of ``options``, given as a letter in a string."""
    answered(name, value)
    allowed = [str(o).upper() for o in options]
    if not isinstance(value, str):
        _fail(f'`{name}` should be one letter in quotes, such as "{allowed[0]}"; '
              f"you gave {_describe(value)}.")
    if str.__str__(value).strip().upper() not in allowed:
        _fail(f"`{name}` should be one of {', '.join(allowed)}; you gave {value!r}.")


def _normalize(value: object, decimals: int) -> str:
    if isinstance(value, str):
        return str.__str__(value).strip().upper()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Real):
        rounded = round(_base_float(value), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
        return f"{rounded:.{decimals}f}"
    if isinstance(value, Iterable):
        return ",".join(sorted(_normalize(v, decimals) for v in value))
    raise TypeError(f"cannot make a digest of {_describe(value)}")


def digest(name: str, value: object, decimals: int = 2) -> str:
    """Return the salted digest of an answer, rounded to ``decimals`` places.

    Strings are compared without case or surrounding spaces; collections
    without order.
    """
    text = f"{name}:{_normalize(value, decimals)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def matches(
    name: str,
    value: object,
    expected: str,
    decimals: int = 2,
    wrong: Mapping[str, str] | None = None,
    hint: str = "",
) -> None:
    """Check an answer against the digest ``expected`` of the right answer.

    ``wrong`` maps digests of plausible wrong answers to an explanation of
    the mistake. ``hint`` is said when the answer is wrong in another way.
    """
    answered(name, value)
    try:
        given = digest(name, value, decimals)
    except TypeError:
        _fail(f"`{name}` should be a number or a text answer; you gave {_describe(value)}.")
    if given == expected:
        return
    if wrong and given in wrong:
        _fail(f"`{name}` is not right: {wrong[given]}")
    rounding = ""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        rounding = (f" (if you rounded, keep at least {decimals + 1} decimal places)"
                    if decimals > 0 else
                    " (if you rounded, round to the nearest whole number with round(...);"
                    " int(...) cuts the decimals off)")
    _fail(f"`{name}` is not right yet{rounding}. {hint}".strip())


def close(name: str, value: object, expected: float, tol: float = 1e-3, hint: str = "") -> None:
    """Check that ``value`` is within ``tol`` of ``expected`` (used in hidden tests)."""
    result = _as_float(name, value)
    if not math.isclose(result, expected, rel_tol=0.0, abs_tol=tol):
        _fail(f"`{name}` = {result:g} is not right. {hint}".strip())


def equals(name: str, value: object, expected: object, hint: str = "") -> None:
    """Check that ``value`` equals ``expected``; text ignores case and spaces."""
    answered(name, value)
    if isinstance(expected, str):
        given = str.__str__(value).strip().upper() if isinstance(value, str) else None
        ok = given == expected.strip().upper()
    elif isinstance(expected, numbers.Real) and not isinstance(expected, bool):
        ok = _as_float(name, value) == float(expected)
    else:
        ok = type(value) is type(expected) and value == expected
    if not ok:
        _fail(f"`{name}` is not right. {hint}".strip())


def within_factor(
    name: str,
    value: object,
    measured: float,
    factor: float = 3.0,
    slips: Mapping[float, str] | None = None,
    hint: str = "",
) -> None:
    """Check a measured answer (a time) against this machine's own measurement.

    Timings differ between machines and between runs, so ``value`` passes when
    it is within ``factor`` times ``measured``, either way. ``slips`` maps the
    factor of a known slip (the slipped answer divided by the right one, e.g.
    ``1 / 1000`` for seconds given instead of milliseconds) to an explanation,
    said when the answer is within ``factor`` of that slip. Keep the slips at
    least ``factor ** 2`` away from 1 and from each other.
    """
    if not measured > 0:
        raise ValueError(f"the measurement for `{name}` must be positive, got {measured!r}")
    result = _as_float(name, value)
    if result <= 0:
        _fail(f"`{name}` should be a positive number; you gave {result:g}.")
    spread = math.log(factor)
    offset = math.log(result / measured)
    if abs(offset) <= spread:
        return
    for slip, message in sorted((slips or {}).items(),
                                key=lambda item: abs(offset - math.log(item[0]))):
        if abs(offset - math.log(slip)) <= spread:
            _fail(f"`{name}` is not right: {message}")
        break
    direction = "larger" if offset > 0 else "smaller"
    _fail(f"`{name}` is more than {factor:g} times {direction} than what this cell measured "
          f"for the same thing. {hint}".strip())


def proportional(
    name: str,
    value: object,
    base: float,
    expected: str,
    digits: int = 3,
    wrong: Mapping[str, str] | None = None,
    hint: str = "",
) -> None:
    """Check an answer that is a fixed multiple of a quantity measured on this machine.

    Some answers depend on a measurement that differs between machines (a
    cost from a time per prediction), but their ratio to it does not (a price
    per millisecond). ``expected`` is ``digest(name, f"{ratio:.{digits - 1}e}")``
    of the right ratio ``value / base``, rounded to ``digits`` significant
    figures; ``wrong`` maps digests of plausible wrong ratios, made the same
    way, to explanations.
    """
    if not base > 0:
        raise ValueError(f"the measured base for `{name}` must be positive, got {base!r}")
    ratio = _as_float(name, value) / base
    given = digest(name, f"{ratio:.{digits - 1}e}")
    if given == expected:
        return
    if wrong and given in wrong:
        _fail(f"`{name}` is not right: {wrong[given]}")
    _fail(f"`{name}` is not right yet (compute it with code from the measured value; a number "
          f"typed in or rounded will not match). {hint}".strip())


def best_within(
    name: str,
    value: object,
    scores: _Items,
    costs: _Items,
    limit: float,
    none: str = "neither",
    hint: str = "",
) -> None:
    """Check the choice of the option with the highest score among those within a limit.

    ``scores`` and ``costs`` map each option's name to its score (higher is
    better, e.g. accuracy) and its cost (e.g. a measured latency); a pandas
    Series works. The right answer is the name of the best-scoring option whose
    cost is at most ``limit``, or ``none`` if no option is within it. Names are
    compared without case or surrounding spaces.
    """
    answered(name, value)
    score = {str(k).strip().lower(): float(v) for k, v in scores.items()}
    cost = {str(k).strip().lower(): float(v) for k, v in costs.items()}
    allowed = [*score, none.lower()]
    quoted = ", ".join(f'"{option}"' for option in allowed)
    if not isinstance(value, str):
        _fail(f"`{name}` should be one of {quoted}, in quotes; you gave {_describe(value)}.")
    given = str.__str__(value).strip().lower()
    if given not in allowed:
        _fail(f"`{name}` should be one of {quoted}; you gave {value!r}.")
    within = [option for option in score if cost[option] <= limit]
    best = max(within, key=score.__getitem__) if within else none.lower()
    if given == best:
        return
    if given == none.lower():
        _fail(f"`{name}` is not right: at least one option is within the limit.")
    if cost[given] > limit:
        _fail(f"`{name}` is not right: {given!r} is over the limit of {limit:g}. "
              f"{hint}".strip())
    _fail(f"`{name}` is not right: {given!r} is within the limit, but another option "
          f"within it scores higher. {hint}".strip())


def correct(name: str, message: str = "") -> None:
    """Print the ✔ line that ends a passing test cell."""
    print(f"✔ `{name}` is correct. {message}".strip())
