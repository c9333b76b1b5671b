"""``python -m course start``: each learner works in a copy of their own, in ``my-work/``.

``notebooks/`` is the course's release: ``git pull`` updates it and instructors
regenerate it, so a learner who typed into it would lose work or block the
update. Instead, ``start`` copies each module to ``my-work/<module>.ipynb``
(ignored by git) and never overwrites a copy that exists. When the course has
updated a module since it was copied, ``start`` says so and keeps the copy;
``--fresh`` gives a new copy and first moves the old one to
``my-work/backups/``. Nothing a learner wrote is ever deleted.

Each copy records the SHA-256 of the release it came from in its metadata
(``metadata.course.release_sha256``), which is how an update is recognised.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course.errors import CourseError, LearnerError
from course.layout import release_folder
from course.notebook import module_id, module_notebooks, read

WORK_DIR = "my-work"
BACKUPS = "backups"

NEW, KEPT, UPDATED, FRESH = "new copy", "your copy", "your copy (course updated)", "fresh copy"
UNREADABLE = "your copy (not a valid notebook: left as it is)"


@dataclass
class Copy:
    """What ``start`` did for one module."""

    module: str
    path: Path
    state: str
    backup: Path | None = None


def releases(course_dir: Path) -> dict[str, Path]:
    """Return ``{module: notebooks/<module>/<module>.ipynb}`` for every released module."""
    folder = course_dir / release_folder(course_dir)
    found = module_notebooks(folder)
    if not found:
        raise LearnerError(f"no course notebooks found in {folder}: run this from the course's "
                           "folder (the one with README.md and notebooks/), or give --course-dir.")
    return found


def resolve_modules(names: list[str], available: dict[str, Path]) -> list[str]:
    """Turn ``3``, ``03`` or ``03_metrics`` into module ids; all modules when ``names`` is empty."""
    if not names:
        return list(available)
    try:
        return [module_id(name, list(available)) for name in names]
    except CourseError as error:
        raise LearnerError(str(error)) from None


def release_digest(path: Path) -> str:
    """Return the SHA-256 of a released notebook's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copied_from(copy: Path) -> str | None:
    """Return the release digest a learner's copy was made from ("" if it does not say).

    Return None if the copy is not a readable notebook: it is still the
    learner's, so it is reported and left alone.
    """
    try:
        nb = read(copy)
    except CourseError:  # invalid JSON, wrong format or encoding
        return None
    return str(nb.metadata.get("course", {}).get("release_sha256", ""))


def _write_copy(release: Path, target: Path, module: str) -> None:
    nb = read(release)
    nb.metadata["course"] = {"module": module, "release_sha256": release_digest(release)}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(target)


def _backup(copy: Path) -> Path:
    """Move ``copy`` to ``backups/<module>-<time>.ipynb`` (never over another backup)."""
    folder = copy.parent / BACKUPS
    folder.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = folder / f"{copy.stem}-{stamp}.ipynb", 1
    while target.exists():
        n += 1
        target = folder / f"{copy.stem}-{stamp}-{n}.ipynb"
    shutil.move(copy, target)
    return target


def start_module(module: str, release: Path, work: Path, fresh: bool = False) -> Copy:
    """Make the learner's copy of one module, keeping any copy that exists."""
    target = work / f"{module}.ipynb"
    if not target.exists():
        _write_copy(release, target, module)
        return Copy(module, target, NEW)
    if not fresh:
        source = copied_from(target)
        if source is None:
            return Copy(module, target, UNREADABLE)
        return Copy(module, target, KEPT if source == release_digest(release) else UPDATED)
    backup = _backup(target)
    _write_copy(release, target, module)
    return Copy(module, target, FRESH, backup)


def start(names: list[str], course_dir: Path, fresh: bool = False) -> list[Copy]:
    """Copy the chosen modules (all by default) into ``my-work/``; return what was done."""
    course_dir = course_dir.resolve()
    available = releases(course_dir)
    modules = resolve_modules(names, available)
    if fresh and not names:
        raise LearnerError("--fresh replaces your copy (after backing it up): name the modules, "
                           "for example `python3 run.py start 03 --fresh`.")
    work = course_dir / WORK_DIR
    return [start_module(m, available[m], work, fresh) for m in modules]


def report(copies: list[Copy], course_dir: Path) -> str:
    """Describe what ``start`` did, in a few lines a learner can act on."""
    root = course_dir.resolve()
    lines = [f"Your notebooks are in {WORK_DIR}/ (open them in JupyterLab; git never "
             "changes them):"]
    for c in copies:
        lines.append(f"  {c.path.relative_to(root)}  {c.state}")
        if c.backup:
            lines.append(f"      your previous copy was kept as {c.backup.relative_to(root)}")
    updated = [c.module for c in copies if c.state == UPDATED]
    if updated:
        lines.append(f"The course has changed {', '.join(updated)} since you copied it. Your copy "
                     "is untouched. For the new version, run `python3 run.py start "
                     f"{updated[0]} --fresh`: it keeps your copy in {WORK_DIR}/{BACKUPS}/.")
    return "\n".join(lines)
