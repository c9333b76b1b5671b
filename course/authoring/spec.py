"""One home per exercise: ``solutions/<module>/exercises.toml``.

Each table is one exercise, named by the answer's variable::

    [precision]
    kind = "share"                 # share, number, count, choice, letters, text, model,
                                   # ratio, timing or best (see course.checks.KINDS)
    hint = "Of the applicants the model flags, what share really are bad risks?"
    right = ["precision = precision_score(y_test, model.predict(X_test))"]  # same key
    also = []                      # other correct answers whose key differs (accepted too)
    options = { low = 0 }          # the kind's options (low/high, options, length, example)
    percentile = ""                # an answer read as a percentile of bootstrap draws:
                                   # code with {method}, accepted for every usual convention


    [[precision.wrong]]            # a plausible wrong answer, and what it means
    code = "precision = tp / (tp + fn)"
    says = "that is the recall; precision divides by everyone the model flagged."

A wrong answer without ``says`` must be rejected before the digest is compared
(a percentage for a share, a text for a number), with the kind's own message.
A wrong answer whose value is a rounding of the right answer (0.2 for 1/6) may be
either slip, so its ``says`` must name both (say "rounded"); release refuses it otherwise.

An interval's end read from bootstrap draws has more than one correct definition.
``percentile`` is the answer's code with ``{method}`` where NumPy's percentile method
goes, for example::

    percentile = "low_pp = 100 * np.percentile(draws, 2.5, method='{method}')"

and release accepts it under each of :data:`PERCENTILE_METHODS`: interpolated (NumPy's
default, ``"linear"``) and the order statistics either side (``sorted(draws)[k]``:
``"lower"``, ``"higher"``, ``"inverted_cdf"``), as if each were listed under ``also``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.checks import KINDS
from course.errors import AuthorError

SPEC_FILE = "exercises.toml"
FIELDS = {"kind", "hint", "right", "also", "wrong", "options", "answer_cell", "percentile"}
#: The percentile conventions a ``percentile`` answer is accepted under.
PERCENTILE_METHODS = ("linear", "lower", "higher", "inverted_cdf")


@dataclass(frozen=True)
class Wrong:
    """A plausible wrong answer (code that sets the variable) and its message."""

    code: str
    says: str = ""


@dataclass(frozen=True)
class Exercise:
    """Everything about one exercise except its solution, which lives in the notebook."""

    name: str
    kind: str
    hint: str = ""
    right: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    wrong: tuple[Wrong, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    answer_cell: str = ""


def spec_path(root: Path, module: str) -> Path:
    """Return the path of a module's exercise spec."""
    return root / "solutions" / module / SPEC_FILE


def _strings(name: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AuthorError(f"[{name}] {key} should be a list of code strings")
    return tuple(value)


def percentile_forms(name: str, code: object) -> tuple[str, ...]:
    """Return the ``also`` forms of a ``percentile`` field: its code under each usual convention."""
    if not code:
        return ()
    if not isinstance(code, str) or "{method}" not in code:
        raise AuthorError(f"[{name}] percentile should be code with {{method}} where NumPy's "
                          f"percentile method goes; got {code!r}")
    return tuple(code.replace("{method}", method) for method in PERCENTILE_METHODS)


def _exercise(name: str, table: dict[str, Any]) -> Exercise:
    unknown = set(table) - FIELDS
    if unknown:
        raise AuthorError(f"[{name}] has unknown fields {sorted(unknown)}; allowed: "
                          f"{sorted(FIELDS)}")
    kind = table.get("kind")
    if kind not in KINDS:
        raise AuthorError(f"[{name}] kind should be one of {', '.join(KINDS)}; got {kind!r}")
    wrong = []
    for item in table.get("wrong", []):
        if not isinstance(item, dict) or set(item) - {"code", "says"} or "code" not in item:
            raise AuthorError(f"[{name}] each [[{name}.wrong]] needs `code` (and may have "
                              f"`says`); got {item!r}")
        wrong.append(Wrong(item["code"], item.get("says", "")))
    return Exercise(name=name, kind=kind, hint=table.get("hint", ""),
                    right=_strings(name, "right", table.get("right", [])),
                    also=(*_strings(name, "also", table.get("also", [])),
                          *percentile_forms(name, table.get("percentile", ""))),
                    wrong=tuple(wrong), options=dict(table.get("options", {})),
                    answer_cell=table.get("answer_cell", ""))


def load_spec(root: Path, module: str) -> dict[str, Exercise]:
    """Read and validate a module's exercise spec."""
    path = spec_path(root, module)
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuthorError(f"{path} is missing: every graded module needs its exercise spec") \
            from None
    except tomllib.TOMLDecodeError as error:
        raise AuthorError(f"{path} is not valid TOML: {error}") from None
    return {name: _exercise(name, table) for name, table in tables.items()}
