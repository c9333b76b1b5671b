"""Friendly checks for graded test cells: one line per exercise.

A notebook binds its module's exercises once, in its import cell::

    from course import checks
    check = checks.exercises("03_metrics")

and each test cell starts with one visible line, ``check("precision", precision)``.
The check either prints a ✔ line or raises :class:`CheckFailed`, an
``AssertionError`` whose message is the feedback and which renders as that
message alone (no traceback). Three outcomes, three messages: not answered
yet; wrong, and why (the wrong type, a percentage for a share, a known mistake
named by the module's exercise spec); correct.

Every answer is reduced to a *key* by its kind (a number to 3 decimals below 1
and 3 significant figures from 1 up, a count to a whole number, a letter, a text without case). The
visible check compares a salted digest of the key with digests that
``python -m course release`` computed from the solution, so the answer is not
in the release. The hidden test below it (``checks.grade``, written by the same
command) compares the key itself, so a ✔ and the points cannot disagree: both
apply :data:`RULE`.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import re
import time
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any

__all__ = [
    "RULE",
    "DECIMALS",
    "SIGNIFICANT",
    "CheckFailed",
    "NotAttempted",
    "Exercises",
    "exercises",
    "key_of",
    "digest",
    "grade",
    "answered",
    "number",
    "share",
    "count",
    "choice",
]

#: The precision rule for every number in the course: numbers below 1 to this many decimal
#: places, numbers from 1 up to this many significant figures.
DECIMALS = SIGNIFICANT = 3
#: The precision rule, as learners read it (00_welcome and each module's intro say it too).
RULE = ("numbers are checked to 3 decimal places below 1 and to 3 significant figures from 1 "
        "up (0.597, 0.074, 6.40, 12.8, 967): keep at least that many, or simply assign the "
        "value your code computes")
DATA_PACKAGE = "course.exercise_data"


class CheckFailed(AssertionError):
    """An answer is wrong; the message says why and what to try."""

    def _render_traceback_(self) -> list[str]:
        """Show the message alone in Jupyter, without a traceback through this module."""
        return [f"\x1b[0;31m{self}\x1b[0m"]


class NotAttempted(CheckFailed):
    """The answer variable still holds its placeholder."""

    def _render_traceback_(self) -> list[str]:
        """Show a calm prompt rather than an alarm."""
        return [str(self)]


#: Markdown emphasis (``*word*``, ``**words**``), which a notebook's error output and
#: nbgrader's Validate dialog show raw: messages are plain text.
_EMPHASIS = re.compile(r"(?<![\w*])\*{1,2}(?=\S)([^*\n]*?\S)\*{1,2}(?![\w*])")


def plain(message: str) -> str:
    """Return ``message`` as plain text: markdown emphasis (``*word*``) without its stars."""
    return _EMPHASIS.sub(r"\1", message)


def _fail(message: str) -> None:
    raise CheckFailed(f"✘ {message}")


def _plain_value(value: object) -> object:
    """Return a NumPy scalar as the Python number it holds, inside tuples and lists too."""
    if isinstance(value, tuple | list):
        return type(value)(_plain_value(v) for v in value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    return value


def _describe(value: object) -> str:
    text = repr(_plain_value(value))
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} (a {type(value).__name__})"


def answered(name: str, value: object) -> None:
    """Fail with a "not answered yet" message if ``value`` is still ``None`` or ``...``."""
    if value is None or value is Ellipsis:
        raise NotAttempted(
            f"… `{name}` is not answered yet: replace None with your answer in the "
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
    if math.isnan(result) or math.isinf(result):
        _fail(f"`{name}` is {result} (not a number you can use): check for a division by "
              "zero or missing data.")
    return result


def _number_key(value: float) -> str:
    """Return a number's key under :data:`RULE`: 3 decimals below 1, else 3 significant figures."""
    _last_number[:] = [value]
    if abs(round(value, DECIMALS)) < 1:
        key = f"{value:.{DECIMALS}f}"
        return "0.000" if key == "-0.000" else key
    return f"{value:.{SIGNIFICANT - 1}e}"


def _ratio_key(value: float) -> str:
    """Return the key of a ratio of two measurements: 3 significant figures at any scale."""
    return f"{value + 0.0:.{SIGNIFICANT - 1}e}"


def number(name: str, value: object, low: float = -math.inf, high: float = math.inf) -> str:
    """Check that ``value`` is a real number within [low, high]; return its key."""
    result = _as_float(name, value)
    if not low <= result <= high:
        _fail(f"`{name}` should be between {low:g} and {high:g}; you gave {result:g}.")
    return _number_key(result)


def share(name: str, value: object) -> str:
    """Check that ``value`` is a share between 0 and 1 (not a percentage or a count)."""
    result = _as_float(name, value)
    if 1 < result <= 100:
        kind = "a percentage or a count" if result == int(result) else "a percentage"
        _fail(f"`{name}` should be a share between 0 and 1; you gave {result:g}, which "
              f"looks like {kind}. A share is a part divided by the whole "
              f"(give {result / 100:g} for {result:g}%).")
    if not 0 <= result <= 1:
        hint = " (a count? divide by the total)" if result > 100 else ""
        _fail(f"`{name}` should be a share between 0 and 1; you gave {result:g}{hint}.")
    return _number_key(result)


def count(name: str, value: object, low: float = 0, high: float = math.inf,
          round_up: bool = False) -> str:
    """Check that ``value`` is a whole number of people or things; return it as text.

    With ``round_up`` (a sample size, a number of people needed), a fraction gets the
    advice to round it up.
    """
    result = _as_float(name, value)
    if result != int(result):
        advice = (" A sample size is a whole number, rounded up (never down, or it falls "
                  "short): give math.ceil(...) of what you computed."
                  if round_up else "")
        _fail(f"`{name}` should be a whole number (a count); you gave {result:g}.{advice}")
    if not low <= result <= high:
        _fail(f"`{name}` should be a whole number from {low:g} to {high:g}; you gave {result:g}.")
    return str(int(result))


def choice(name: str, value: object, options: str | Iterable[str] = "ABCD") -> str:
    """Check that ``value`` is one of ``options``, given as a letter in quotes."""
    answered(name, value)
    allowed = [str(o).upper() for o in options]
    if not isinstance(value, str):
        _fail(f'`{name}` should be one letter in quotes, such as "{allowed[0]}"; '
              f"you gave {_describe(value)}.")
    given = str.__str__(value).strip().strip("\"'()").strip().upper()
    if given not in allowed:
        _fail(f"`{name}` should be one of {', '.join(allowed)}, in quotes; you gave {value!r}.")
    return given


def letters(name: str, value: object, options: str = "ABCD", length: int = 1) -> str:
    """Check ``length`` letters in order: ``"BAC"``, ``"B, A, C"`` and ``["B", "A", "C"]`` agree."""
    answered(name, value)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        text = "".join(str.__str__(v) for v in value)
    elif isinstance(value, str):
        text = str.__str__(value)
    else:
        _fail(f'`{name}` should be {length} letters in one string, such as "{options[0] * length}"'
              f"; you gave {_describe(value)}.")
    given = "".join(c for c in text.upper() if c not in " ,;/-'\"")
    if len(given) != length or not set(given) <= set(options.upper()):
        _fail(f"`{name}` should be {length} letters from {', '.join(options.upper())}, one per "
              f'item in order, such as "{options[0] * length}"; you gave {value!r}.')
    return given


def text(name: str, value: object, example: str = "age") -> str:
    """Check that ``value`` is a name in quotes; compare without case or surrounding spaces."""
    answered(name, value)
    if isinstance(value, bool) or not isinstance(value, str):
        _fail(f'`{name}` should be a name in quotes, such as "{example}"; '
              f"you gave {_describe(value)}.")
    return str.__str__(value).strip().casefold()


def model(name: str, value: object, on: tuple[Any, Any], low: float = 0, high: float = 1) -> str:
    """Check a trained model by its accuracy on ``on = (X, y)``; return that score's key."""
    answered(name, value)
    if not hasattr(value, "predict") or not hasattr(value, "score"):
        _fail(f"`{name}` should be a trained model, not {type(value).__name__}: build it "
              "with make_pipeline(...) and end the line with .fit(X_train, y_train).")
    try:
        score = value.score(*on)
    except Exception as error:  # noqa: BLE001 (any failure to score is the learner's to fix)
        if type(error).__name__ == "NotFittedError":
            _fail(f"`{name}` is not trained yet: end the line with .fit(X_train, y_train).")
        _fail(f"`{name}` cannot score the test set ({type(error).__name__}: {error}). "
              "Train it on data with the same columns as the test set.")
    print(f"{name}'s accuracy on the test set: {float(score):.3f}")
    return number(name, score, low, high)


def ratio(name: str, value: object, per: float) -> str:
    """Key of an answer that is a fixed multiple of a quantity measured on this machine.

    A cost computed from a time per prediction differs between machines, but its
    ratio to the measured time ``per`` does not: the key is that ratio.
    """
    if not per > 0:
        raise ValueError(f"the measured quantity for `{name}` must be positive, got {per!r}")
    result = _as_float(name, value)
    if result < 0:
        _fail(f"`{name}` should be 0 or more; you gave {result:g}.")
    return _ratio_key(result / float(per))


def timing(name: str, value: object, seconds: Any, forms: int = 1,
           measured: Any = None) -> str:
    """Key of a time per item computed from the learner's own recorded timings.

    ``seconds`` holds the timings the learner recorded (the whole call, in
    seconds) and ``forms`` the number of items each call scored. Times differ
    between runs and machines, but the answer's ratio to the fastest recorded
    time per item does not: milliseconds give ``"1.00e+03"``, whatever the load.

    ``measured`` (the check's own timings of the same call, from :func:`timed`,
    taken in the same kernel) makes the recorded times prove themselves: the
    fastest recorded time must be within :data:`PLAUSIBLE` of the fastest
    measured one, so times that were made up, or taken on another model or
    batch, are refused, however consistent the answer is with them.
    """
    result = _as_float(name, value)
    fastest = _fastest(seconds)
    if measured is not None:
        _plausible(fastest, _fastest(measured))
    if result <= 0:
        _fail(f"`{name}` should be a positive number; you gave {result:g}.")
    return _ratio_key(result / (fastest / forms))


#: How far the fastest recorded time may be from the check's own measurement of the same
#: call in the same kernel: a real time is never several times faster than the machine's
#: best (``low``), and load can slow it down, never by this much (``high``).
PLAUSIBLE = {"low": 1 / 4, "high": 25.0}


def _fastest(seconds: Any) -> float:
    try:
        fastest = min(_base_float(s) for s in seconds)
    except (TypeError, ValueError):
        _fail(f"record each call's time, in seconds, in the list the answer cell starts; "
              f"found {_describe(seconds)}.")
    if not fastest > 0:
        _fail(f"the recorded times should be positive numbers of seconds; the fastest is "
              f"{fastest}.")
    return fastest


def _plausible(fastest: float, reference: float) -> None:
    if not PLAUSIBLE["low"] * reference <= fastest <= PLAUSIBLE["high"] * reference:
        _fail(f"your fastest recorded time, {fastest:.3g} s, cannot be a time of this call on "
              f"this machine: the check timed the same call at {reference:.3g} s. Time the "
              "call itself, in the answer cell, and record each time as the cell runs.")


def timed(call: Callable[..., Any], *args: Any, repeats: int = 3) -> list[float]:
    """Return the seconds of ``repeats`` runs of ``call(*args)``, timed with ``perf_counter``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(*args)
        times.append(time.perf_counter() - start)
    return times


def best(name: str, value: object, scores: Any, costs: Any, limit: float,
         none: str = "neither") -> str:
    """Key of the choice of the best-scoring option whose cost is within ``limit``.

    The key is a verdict, not the option: ``"best"``, ``"none"`` (said there is none
    though one fits), ``"over"`` (over the limit) or ``"lower"`` (fits, but another
    that fits scores higher). ``scores`` and ``costs`` map options to numbers.
    """
    answered(name, value)
    score = {str(k).strip().lower(): float(v) for k, v in scores.items()}
    cost = {str(k).strip().lower(): float(v) for k, v in costs.items()}
    allowed = [*score, none.lower()]
    quoted = ", ".join(f'"{option}"' for option in allowed)
    if not isinstance(value, str) or str.__str__(value).strip().lower() not in allowed:
        _fail(f"`{name}` should be one of {quoted}, in quotes; you gave {_describe(value)}.")
    given = str.__str__(value).strip().lower()
    within = [option for option in score if cost[option] <= limit]
    right = max(within, key=score.__getitem__) if within else none.lower()
    if given == right:
        return "best"
    if given == none.lower():
        return "none"
    return "over" if cost[given] > limit else "lower"


#: Each kind of answer: its validation and key. Options come from the exercise spec,
#: data from the notebook (``on=``, ``per=``, ``measured=``, ``scores=``...).
KINDS: dict[str, Callable[..., str]] = {
    "share": share, "number": number, "count": count, "choice": choice,
    "letters": letters, "text": text, "model": model, "ratio": ratio,
    "timing": timing, "best": best,
}
#: Kinds whose key is a number, so the precision rule applies to them.
NUMERIC = frozenset({"share", "number", "model", "ratio"})


def key_of(kind: str, name: str, value: object, **options: Any) -> str:
    """Validate ``value`` as an answer of ``kind`` and return its key (or raise CheckFailed)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of answer {kind!r}; one of {', '.join(KINDS)}")
    return KINDS[kind](name, value, **options)


def digest(module: str, name: str, key: str) -> str:
    """Return the digest of an answer's key, salted with its module and name."""
    return hashlib.sha256(f"{module}:{name}:{key}".encode()).hexdigest()[:16]


def grade(kind: str, name: str, value: object, expected: str | tuple[str, ...],
          **options: Any) -> None:
    """Hidden test: the answer's key must be ``expected`` (or one of them).

    Written into each solution's hidden block by ``python -m course release``; it
    applies exactly the rule of the visible check, on the key instead of its digest.
    """
    accepted = (expected,) if isinstance(expected, str) else tuple(expected)
    if key_of(kind, name, value, **options) not in accepted:
        _fail(f"`{name}` is not right.")


def _advice(kind: str) -> str:
    if kind in NUMERIC:
        return f" (if you rounded: {RULE})"
    return ""


#: Set by ``python -m course release`` in its kernel: checks record keys instead of judging.
_RECORDING: dict[str, Any] | None = None
_last_number: list[float] = []


def _take_recorded() -> list[list[Any]]:
    """Return and forget the keys recorded so far (used by ``python -m course release``)."""
    if _RECORDING is None:
        return []
    taken, _RECORDING["keys"] = _RECORDING["keys"], []
    return taken


#: Names assigned by a cell whose last run raised, with the error's type: the value a
#: check would judge is an older one. Filled by :func:`_after_cell` in a learner's kernel
#: only (the grader judges the saved values in its own process, where it stays empty).
_RAISED: dict[str, str] = {}
#: A line that assigns one or more plain names: ``x = ...``, ``low, high = ...``.
_ASSIGNS = re.compile(r"^\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*(?::[^=\n]*)?=(?!=)",
                      re.MULTILINE)


def _assigned(source: str) -> set[str]:
    """Return the names a cell assigns at the start of a line (read as text: it may not parse)."""
    return {name.strip() for line in _ASSIGNS.findall(source) for name in line.split(",")}


def _after_cell(result: Any) -> None:
    """IPython ``post_run_cell`` hook: remember which answers a failing cell left stale."""
    error = result.error_before_exec or result.error_in_exec
    for name in _assigned(getattr(result.info, "raw_cell", "") or ""):
        if error is None:
            _RAISED.pop(name, None)
        else:
            _RAISED[name] = type(error).__name__


def _watch_cells() -> None:
    """Register :func:`_after_cell` once in the running IPython kernel, if there is one."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover (IPython comes with the notebook)
        return
    shell = get_ipython()
    if shell is None:
        return
    hooks = shell.events.callbacks["post_run_cell"]
    if not any(getattr(h, "__qualname__", "") == _after_cell.__qualname__
               and getattr(h, "__module__", "") == __name__ for h in hooks):
        shell.events.register("post_run_cell", _after_cell)


def _stale(name: str) -> None:
    """Fail if the cell that sets ``name`` raised on its last run (its value is older)."""
    error = _RAISED.get(name)
    if error is not None:
        _fail(f"your answer cell raised {error} on its last run, so `{name}` still holds an "
              "older value: fix that cell, run it again, then run this check.")


class Exercises:
    """The visible checks of one module: ``check(name, value, **data)``."""

    def __init__(self, module: str, spec: Mapping[str, Any] | None = None) -> None:
        """Load the module's exercise data (written by ``python -m course release``)."""
        self.module = module
        self._spec = dict(spec) if spec is not None else None

    def _entry(self, name: str) -> Mapping[str, Any]:
        if _RECORDING is not None:
            spec = _RECORDING["spec"]
        else:
            if self._spec is None:
                self._spec = _load(self.module)
            spec = self._spec
        if name not in spec:
            raise KeyError(f"{self.module} has no exercise named {name!r}; "
                           "run `python -m course release` after adding it to exercises.toml")
        return spec[name]

    def __call__(self, name: str, value: object, **data: Any) -> None:
        """Check ``value`` as the answer to exercise ``name``; print ✔ or raise CheckFailed."""
        entry = self._entry(name)
        if _RECORDING is None:
            _stale(name)
        _last_number.clear()
        key = key_of(entry["kind"], name, value, **{**entry.get("options", {}), **data})
        if _RECORDING is not None:
            _RECORDING["keys"].append([name, key, _last_number[0] if _last_number else None])
            return
        given = digest(self.module, name, key)
        if given in entry["right"]:
            print(f"✔ `{name}` is correct.")
            return
        if given in entry.get("wrong", {}):
            _fail(f"`{name}` is not right: {plain(entry['wrong'][given])}")
        hint = plain(entry.get("hint", ""))
        _fail(f"`{name}` is not right yet{_advice(entry['kind'])}. {hint}".strip())


def _load(module: str) -> dict[str, Any]:
    try:
        data = resources.files(DATA_PACKAGE).joinpath(f"{module}.json").read_text("utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no exercise data for {module!r}: run `python -m course release {module}`") from None
    return json.loads(data)["exercises"]


def exercises(module: str) -> Exercises:
    """Return the visible checks of ``module`` (for example ``"03_metrics"``).

    In a notebook it also watches the cells: a check after an answer cell that raised
    says so, rather than judging the value an earlier run left behind.
    """
    _watch_cells()
    return Exercises(module)
