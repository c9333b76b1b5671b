"""Collect a cohort's notebooks from a folder or a zip into nbgrader's ``submitted/`` layout.

Learning platforms export one notebook per student with the student's id in
the file name (``carol_smith_00_welcome.ipynb``) or in a folder name. By
default the id is the file name without ``.ipynb``, without the assignment id
at its end (``_00_welcome``) and without a copy number (`` (1)``); with a
roster it must be a roster id (matched exactly, else case-insensitively).
A regular expression with a ``student_id`` group, searched in each file's path
inside the folder or zip, finds the id on other layouts. Each notebook is
copied, whatever its name, to ``submitted/<student_id>/<assignment>/<assignment>.ipynb``
where nbgrader expects it. Zip members are read, never extracted, so a crafted
archive cannot write outside the course; their declared size is checked before
anything is read, and symbolic links are refused.

Notebooks already in nbgrader's layout (``<student>/<assignment>/<assignment>.ipynb``,
as ``nbgrader collect`` leaves them after an exchange) are recognised by the
default pattern, and the course's own ``submitted/`` folder is graded in place:
nothing in it is rewritten, so nbgrader's ``timestamp.txt`` stays.

Every file that is not graded is listed with its reason (``skipped``); a
notebook whose id is invalid or not on the roster is a ``stray``: reported,
never written to ``submitted/`` or the gradebook unless the instructor asks.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat
from traitlets.config import Config

from course.grading.coursedir import GradingError
from course.grading.intake.roster import id_problem

#: The default: the file name without ``.ipynb``, a trailing ``_<assignment>`` and a
#: copy number, so ``carol_smith_00_welcome (1).ipynb`` belongs to ``carol_smith``.
#: (Written for any module id; the assignment being graded is used in its place.)
DEFAULT_PATTERN = r"(?P<student_id>[^/]+?)(?:[_.\- ]\d\d_\w+?)?(?:\s*\(\d+\))?\.ipynb$"
MAX_BYTES = 50 * 1024 * 1024
CLUTTER = {"__MACOSX": "macOS archive clutter (__MACOSX)",
           ".ipynb_checkpoints": "a Jupyter autosave (.ipynb_checkpoints)"}
#: nbgrader's own files beside a submitted notebook (part of a submission, not skipped)
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")


@dataclass
class Entry:
    """One file found in the submissions folder or zip."""

    name: str
    mtime: float
    read: Callable[[], bytes]
    size: int = 0
    link: bool = False
    found: str = ""


@dataclass
class Stray:
    """A notebook not graded because of its student id: invalid, or not on the roster."""

    name: str
    student: str
    reason: str


@dataclass
class Collection:
    """What was collected: one notebook per student, and what was left out and why."""

    submitted: dict[str, Path] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    strays: list[Stray] = field(default_factory=list)

    @property
    def students(self) -> list[str]:
        """Every student with a notebook, valid or not."""
        return sorted(set(self.submitted) | set(self.invalid))


@dataclass(frozen=True)
class Ids:
    """How to turn a matched id into a student: the roster (if any) and what to do with others."""

    roster: frozenset[str] | None = None
    allow_unlisted: bool = False

    def resolve(self, found: str) -> tuple[str, str]:
        """Return ``(student, "")``, or ``(found, reason)`` if it cannot be graded as given.

        The id rule comes first: a look-alike such as ``\u212aaren`` (KELVIN SIGN,
        whose ``lower()`` is ``k``) is refused, never matched to ``karen``.
        """
        problem = id_problem(found)
        if problem:
            unmatched = ", and no roster id matches it" if self.roster is not None else ""
            return found, f"not graded: {problem}{unmatched}"
        if self.roster is None or found in self.roster:
            return found, ""
        same = [r for r in self.roster if r.lower() == found.lower()]
        if len(same) == 1:
            return same[0], ""
        if self.allow_unlisted:
            return found, ""
        return found, ("not graded: no roster id matches it (fix the file name or the roster "
                       "and grade again, or pass --allow-unlisted to grade it anyway)")


def shown(text: str) -> str:
    """Return ``text`` with every character but printable ASCII as a visible escape."""
    return "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def default_pattern(config: Config) -> str:
    """Return nbgrader's ``FileNameCollectorPlugin.named_regexp`` if set, else the default."""
    configured = config.get("FileNameCollectorPlugin", {}).get("named_regexp", "")
    return str(configured) if configured else DEFAULT_PATTERN


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern``, or raise a clear error if it is invalid or has no student_id group."""
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise GradingError(f"--pattern {pattern!r} is not a valid regular expression: "
                           f"{error}") from error
    if "student_id" not in compiled.groupindex:
        raise GradingError(f"--pattern {pattern!r} needs a (?P<student_id>...) group "
                           "that captures the student id.")
    return compiled


def _folder_entries(folder: Path) -> Iterator[Entry]:
    """Yield every file under ``folder``; symbolic links are yielded, never followed."""
    found = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(top) / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
                found.append((path, info))
    for path, info in sorted(found):
        yield Entry(path.relative_to(folder).as_posix(), info.st_mtime, path.read_bytes,
                    info.st_size, stat.S_ISLNK(info.st_mode))


def _zip_entries(archive: zipfile.ZipFile) -> Iterator[Entry]:
    for info in sorted(archive.infolist(), key=lambda i: i.filename):
        if not info.is_dir():
            mtime = float("".join(f"{part:02d}" for part in info.date_time))
            link = stat.S_ISLNK(info.external_attr >> 16)
            yield Entry(info.filename, mtime, lambda info=info: archive.read(info),
                        info.file_size, link)


def _ignored(name: str) -> str:
    """Return why ``name`` is platform clutter or hidden ("" if it is not)."""
    for part in PurePosixPath(name).parts:
        if part in CLUTTER:
            return CLUTTER[part]
        if part.startswith(".") and part != "..":
            return f"a hidden file or folder ({part} starts with a dot)"
    return ""


def nbgrader_layout(assignment: str) -> re.Pattern[str]:
    """Match ``<student>/<assignment>/<assignment>.ipynb``, nbgrader's own layout."""
    name = re.escape(assignment)
    return re.compile(rf"(?:^|/)(?P<student_id>[^/]+)/{name}/{name}\.ipynb$")


def file_name_pattern(assignment: str) -> re.Pattern[str]:
    """Return the default pattern for ``assignment``: the name without it or ``(1)``."""
    name = re.escape(assignment)
    return re.compile(rf"(?P<student_id>[^/]+?)(?:[_.\- ]{name})?(?:\s*\(\d+\))?\.ipynb$")


def _match(entry: Entry, patterns: list[re.Pattern[str]]) -> tuple[str | None, str]:
    """Return ``(student_id, "")`` for a submission, or ``(None, reason)`` to skip it.

    The first of ``patterns`` that matches gives the student id.
    """
    if ".." in PurePosixPath(entry.name).parts or entry.name.startswith("/"):
        return None, "unsafe path (it points outside the folder or zip)"
    if entry.link:
        return None, "a symbolic link (never followed: a submission must be a plain file)"
    if not entry.name.lower().endswith(".ipynb"):
        return None, "not a notebook (.ipynb)"
    found = next((m for m in (p.search(entry.name) for p in patterns) if m), None)
    if not found or not found.group("student_id"):
        return None, f"no student id: the name does not match --pattern {patterns[-1].pattern!r}"
    return found.group("student_id"), ""


def _too_large(entry: Entry) -> str:
    """Return why ``entry`` is too large to read (from its declared size), or ""."""
    if entry.size > MAX_BYTES:
        return (f"the file is too large ({entry.size / 1e6:.0f} MB) to be a course notebook; "
                "it was not read")
    return ""


def _problem(data: bytes) -> str:
    """Return why ``data`` is not a notebook nbgrader can grade, or "" if it is one."""
    if len(data) > MAX_BYTES:
        return f"the file is too large ({len(data) / 1e6:.0f} MB) to be a course notebook"
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        return "not a notebook: the file is not UTF-8 text"
    except Exception as error:  # nbformat raises several kinds for a broken file
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return f"not a notebook: invalid JSON or notebook format ({type(error).__name__}: {first})"
    if not isinstance(nb.get("cells"), list):
        return "not a notebook: it has no list of cells"
    return ""


def _choose(student: str, entries: list[Entry], collection: Collection) -> Entry:
    """Keep one of several notebooks of one student, and hold it for review saying so.

    Copies under one id (``karen (1).ipynb``): the newest. Different ids that
    resolve to one roster id (``KAREN.ipynb`` and ``karen.ipynb``): the one whose
    id is the roster id, if any, and both names are shown escaped.
    """
    entries = sorted(entries, key=lambda e: (e.mtime, e.name))
    if len(entries) == 1:
        return entries[0]
    names = ", ".join(shown(e.name) for e in entries)
    ids = sorted({e.found for e in entries})
    if len(ids) > 1:
        exact = [e for e in entries if e.found == student]
        chosen = (exact or entries)[-1]
        collection.notes.setdefault(student, []).append(
            f"{len(entries)} notebooks with different ids ({', '.join(map(shown, ids))}) "
            f"resolve to roster id {student}: {names}; graded {shown(chosen.name)}, "
            "check which one is theirs")
        return chosen
    collection.notes.setdefault(student, []).append(
        f"{len(entries)} notebooks submitted ({names}); graded the newest, "
        f"{shown(entries[-1].name)}")
    return entries[-1]


def _write(course: Path, assignment: str, student: str, data: bytes) -> Path:
    folder = course / "submitted" / student / assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    target = folder / f"{assignment}.ipynb"
    target.write_bytes(data)
    return target


def _gather(entries: Iterator[Entry], patterns: list[re.Pattern[str]], ids: Ids,
            collection: Collection) -> dict[str, list[Entry]]:
    by_student: dict[str, list[Entry]] = {}
    for entry in entries:
        if PurePosixPath(entry.name).name in NBGRADER_FILES and not entry.link:
            continue
        student, reason = _match(entry, patterns)
        reason = _ignored(entry.name) or reason
        if student is None or reason:
            collection.skipped.append((entry.name, reason))
            continue
        entry.found = student
        student, refused = ids.resolve(student)
        if refused:
            collection.strays.append(Stray(shown(entry.name), shown(student), refused))
        else:
            by_student.setdefault(student, []).append(entry)
    return by_student


def _open_entries(submissions: Path) -> tuple[Iterator[Entry], zipfile.ZipFile | None]:
    if submissions.is_dir():
        return _folder_entries(submissions), None
    if not submissions.exists():
        raise GradingError(f"submissions {submissions} do not exist: give a folder of "
                           "notebooks or a .zip exported from the learning platform.")
    try:
        archive = zipfile.ZipFile(submissions)
    except (zipfile.BadZipFile, OSError) as error:
        raise GradingError(f"submissions {submissions} is neither a folder nor a valid zip "
                           f"file ({error}).") from error
    return _zip_entries(archive), archive


def _patterns(pattern: str, assignment: str, in_place: bool) -> list[re.Pattern[str]]:
    """Return the patterns to try, in order.

    In place: nbgrader's layout only. With the default pattern: nbgrader's layout
    first, then file names. A pattern the instructor gave: that pattern alone.
    """
    layout = nbgrader_layout(assignment)
    if in_place:
        return [layout]
    compiled = compile_pattern(pattern)
    return [layout, file_name_pattern(assignment)] if pattern == DEFAULT_PATTERN else [compiled]


def _part_of(name: str, assignment: str) -> bool:
    """Return True if ``name`` (in ``submitted/``) belongs to ``<student>/<assignment>/``."""
    return PurePosixPath(name).parts[1:2] == (assignment,)


def _take(course: Path, assignment: str, chosen: Entry, in_place: bool,
          collection: Collection, student: str) -> None:
    """Read one student's chosen notebook (unless too large) and file it as valid or not."""
    problem = _too_large(chosen)
    if problem:
        collection.invalid[student] = problem
        return
    data = chosen.read()
    path = (course / "submitted" / chosen.name if in_place else
            _write(course, assignment, student, data))
    problem = _problem(data)
    if problem:
        collection.invalid[student] = problem
    else:
        collection.submitted[student] = path


def collect(submissions: str | Path, course: Path, assignment: str,
            pattern: str = DEFAULT_PATTERN, ids: Ids | None = None) -> Collection:
    """Copy one notebook per student from ``submissions`` into ``course/submitted/``.

    If ``submissions`` is ``course/submitted`` itself, its notebooks for
    ``assignment`` are graded where they are (other assignments are left out).
    ``ids`` holds the roster: notebooks whose id is not on it are strays.
    """
    in_place = Path(submissions).resolve() == (course / "submitted").resolve()
    patterns = _patterns(pattern, assignment, in_place)
    entries, archive = _open_entries(Path(submissions))
    collection = Collection()
    try:
        by_student = _gather(entries, patterns, ids or Ids(), collection)
        if in_place:  # other assignments' files are not submissions
            collection.skipped = [s for s in collection.skipped if _part_of(s[0], assignment)]
        for student, found in sorted(by_student.items()):
            chosen = _choose(student, found, collection)
            _take(course, assignment, chosen, in_place, collection, student)
    finally:
        if archive is not None:
            archive.close()
    if not collection.students and not collection.strays:
        examples = "; ".join(f"{name}: {why}" for name, why in collection.skipped[:3])
        raise GradingError(f"no student notebook found in {submissions}"
                           + (f" ({examples})" if examples else " (it is empty)."))
    return collection
