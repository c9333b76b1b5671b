"""Read a class roster: one row per student, with an id column."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from course.grading.coursedir import GradingError

ID_COLUMNS = ("student_id", "id")
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")
ID_RULE = "letters, digits and . _ @ - only, starting with a letter or digit"
#: Characters nbgrader's exchange refuses in a student id (``nbgrader submit`` fails).
EXCHANGE_REFUSES = "+*"


@dataclass(frozen=True)
class Student:
    """A student on the roster; names and email are optional."""

    id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None

    def gradebook_fields(self) -> dict[str, str]:
        """Return the fields nbgrader's gradebook stores for a student."""
        fields = {"first_name": self.first_name, "last_name": self.last_name,
                  "email": self.email}
        return {key: value for key, value in fields.items() if value}


def valid_id(student_id: str) -> bool:
    """Return True if ``student_id`` is safe as a folder name (letters, digits, ``._@-``)."""
    return bool(SAFE_ID.fullmatch(student_id)) and student_id not in (".", "..")


def id_problem(student_id: str) -> str:
    """Return why ``student_id`` cannot be a student id, or "" if it can.

    Ids become folder names and nbgrader exchange file names, so they are
    letters, digits and ``. _ @ -``; ``+`` and ``*`` are refused by nbgrader's
    exchange (``nbgrader submit`` fails on them), so they are refused here too.
    """
    if not student_id:
        return "an empty student id"
    refused = sorted({c for c in student_id if c in EXCHANGE_REFUSES})
    if refused:
        return (f"{student_id!a} contains {' and '.join(map(repr, refused))}, which nbgrader's "
                "exchange refuses in a student id (`nbgrader submit` fails on it); "
                "use letters, digits and . _ @ - only")
    if not valid_id(student_id):
        return f"{student_id!a} is not a valid student id ({ID_RULE})"
    return ""


def _id_column(header: list[str], path: Path) -> str:
    for name in ID_COLUMNS:
        if name in header:
            return name
    raise GradingError(f"roster {path} has no student id column: the first line should name "
                       f"the columns, one of them `student_id` (or `id`); found "
                       f"{', '.join(header) or 'nothing'}.")


def read_roster(path: str | Path) -> list[Student]:
    """Return the students in the CSV file ``path``, or raise a clear :class:`GradingError`."""
    path = Path(path)
    if not path.is_file():
        raise GradingError(f"roster {path} does not exist (or is not a file).")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = [str(name).strip() for name in reader.fieldnames or []]
    except (UnicodeDecodeError, csv.Error) as error:
        raise GradingError(f"roster {path} is not a readable CSV file: {error}") from error
    column = _id_column(header, path)
    if not rows:
        raise GradingError(f"roster {path} lists no students: it needs a header line with a "
                           "`student_id` column and one line per student.")
    students, seen = [], set()
    for number, row in enumerate(rows, start=2):
        row = {str(k).strip(): (v or "").strip() for k, v in row.items() if k is not None}
        student_id = row.get(column, "")
        problem = id_problem(student_id)
        if problem:
            raise GradingError(f"roster {path}, line {number}: {problem}.")
        if student_id in seen:
            raise GradingError(f"roster {path}, line {number}: student {student_id!r} "
                               "is listed twice.")
        seen.add(student_id)
        students.append(Student(student_id, row.get("first_name") or None,
                                row.get("last_name") or None, row.get("email") or None))
    return students
