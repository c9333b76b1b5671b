"""What each grading run found, per student, kept across runs (``grades-history/``).

``grades.csv`` is rebuilt from the gradebook and this ledger on every run, so a
run that grades one resubmission keeps everyone else's reasons (a time-out, a
flag, a duplicate) and their part of ``grades.log``. Each run's report is also
kept, timestamped, in ``grades-history/`` next to ``grades.csv``. Every file is
written atomically (a temporary file, then a rename), so a grader killed midway
leaves the previous or the new version, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HISTORY = "grades-history"


@dataclass
class Record:
    """One student's result in the run that last graded them."""

    status: str
    reasons: list[str] = field(default_factory=list)
    log: str = ""
    graded_at: str = ""
    points: dict[str, float] = field(default_factory=dict)


def now() -> str:
    """Return the current UTC time, to the second, as an ISO string."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def history_dir(output: Path) -> Path:
    """Return the folder that keeps each run's report and the ledger, next to ``output``."""
    return output.parent / HISTORY


def ledger_path(output: Path) -> Path:
    """Return the ledger file of the report ``output`` (``grades.csv``)."""
    return history_dir(output) / f"{output.stem}-ledger.json"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # backslashreplace: a lone surrogate in a student's message must not stop the run
        with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace",
                       newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(output: Path, assignment: str) -> dict[str, Record]:
    """Return the ledger's records for ``assignment`` (empty if there is none yet)."""
    path = ledger_path(output)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {student: Record(**fields)
            for student, fields in data.get(assignment, {}).items()}


def save(output: Path, assignment: str, records: dict[str, Record]) -> None:
    """Store ``records`` for ``assignment``, keeping other assignments' records."""
    path = ledger_path(output)
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    data[assignment] = {student: asdict(record) for student, record in sorted(records.items())}
    write_atomic(path, json.dumps(data, indent=1) + "\n")


def keep_copy(output: Path, stamp: str) -> list[Path]:
    """Copy ``grades.csv`` and ``grades.log`` into the history as ``<stamp>-grades.*``."""
    kept = []
    label = stamp.replace(":", "").replace("+0000", "Z")
    for source in (output, output.with_suffix(".log")):
        if source.is_file():
            target = history_dir(output) / f"{label}-{source.name}"
            write_atomic(target, source.read_text(encoding="utf-8"))
            kept.append(target)
    return kept
