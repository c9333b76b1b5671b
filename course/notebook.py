"""The course's notebook vocabulary: modules, answer and test cells, hidden blocks.

Used by authoring, grading, progress and the tests, so that "is this a test
cell" or "which modules exist" is written once.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course.errors import CourseError

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
SOLUTION = re.compile(r"### BEGIN SOLUTION.*?### END SOLUTION\n?", re.S)
CHECK_CALL = re.compile(r"""^\s*check\(\s*["']([^"']+)["']""", re.M)


def repository_root() -> Path:
    """Return the course repository that holds this package (its ``solutions/`` folder)."""
    return Path(__file__).resolve().parents[1]


def package_dir() -> Path:
    """Return the folder of the installed ``course`` package (the sandbox shows it read-only)."""
    return Path(__file__).resolve().parent


def module_notebooks(folder: Path) -> dict[str, Path]:
    """Return ``{id: folder/<id>/<id>.ipynb}`` for every module notebook in ``folder``."""
    return {p.stem: p for p in sorted(folder.glob("*/*.ipynb")) if p.stem == p.parent.name}


def module_ids(root: Path | None = None, folder: str = "solutions") -> list[str]:
    """Return every module id with a notebook ``<folder>/<id>/<id>.ipynb``."""
    return list(module_notebooks((root or repository_root()) / folder))


def module_id(given: str, known: list[str]) -> str:
    """Turn what a person typed (``3``, ``03``, ``03_metrics``, ``03_metrics.ipynb``) into an id.

    Every command that names a module goes through this, so all accept the same forms.
    Raise CourseError naming the known modules when ``given`` is none or several of them.
    """
    name = given.strip().removesuffix(".ipynb")
    number = name.split("_")[0]
    matches = [m for m in known if m == name
               or (number.isdigit() and "_" not in name and m.split("_")[0] == number.zfill(2))]
    if len(matches) != 1:
        raise CourseError(f"{given!r} is not one module of the course; give one of "
                          f"{', '.join(known)} (the number alone, such as 03, is enough).")
    return matches[0]


def solution_path(module: str, root: Path | None = None) -> Path:
    """Return the path of a module's source notebook."""
    return (root or repository_root()) / "solutions" / module / f"{module}.ipynb"


def release_path(module: str, root: Path | None = None) -> Path:
    """Return the path of a module's released (student) notebook."""
    return (root or repository_root()) / "notebooks" / module / f"{module}.ipynb"


def read(path: Path) -> NotebookNode:
    """Read a notebook, or raise CourseError saying why it cannot be read."""
    try:
        return nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise CourseError(f"{path} does not exist") from None
    except Exception as error:  # noqa: BLE001 (nbformat raises many kinds for bad files)
        raise CourseError(f"{path} is not a readable notebook: {error}") from None


def grading(cell: NotebookNode) -> dict:
    """Return a cell's nbgrader metadata (empty for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell: NotebookNode) -> str | None:
    """Return a cell's nbgrader grade id, if it has one."""
    return grading(cell).get("grade_id")


def is_test_cell(cell: NotebookNode) -> bool:
    """Return True for an autograded test cell: a graded code cell, not a solution."""
    meta = grading(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_answer_cell(cell: NotebookNode) -> bool:
    """Return True for a cell the learner fills in (an nbgrader solution, not graded)."""
    meta = grading(cell)
    return cell.cell_type == "code" and bool(meta.get("solution")) and not meta.get("grade")


def is_hand_graded(cell: NotebookNode) -> bool:
    """Return True for an answer graded by hand, such as a memo (graded and a solution)."""
    meta = grading(cell)
    return bool(meta.get("grade") and meta.get("solution"))


def exercise_of(cell: NotebookNode) -> str:
    """Return the exercise a test cell checks: the name in its ``check("name", ...)`` line.

    The course's rules make a test cell's grade id ``<name>_test``; a cell without a
    visible check (an old or edited one) falls back on that.
    """
    found = CHECK_CALL.search(visible_part(cell.get("source", "")))
    if found:
        return found.group(1)
    return (grade_id(cell) or "").removesuffix("_test")


def visible_part(source: str) -> str:
    """Return the test cell as a learner sees it: hidden tests removed."""
    return HIDDEN.sub("", source)


def error_outputs(cell: NotebookNode) -> list[NotebookNode]:
    """Return the error outputs of a cell."""
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def answer_cell_for(cells: list[NotebookNode], test_index: int,
                    grade_id: str = "") -> NotebookNode | None:
    """Return the answer cell a test cell checks.

    That is the answer cell named ``grade_id`` when one is given, else the last
    answer cell above the test cell (None if there is none).
    """
    above = [c for c in cells[:test_index] if is_answer_cell(c)]
    named = [c for c in above if grade_id and grade_id == grading(c).get("grade_id")]
    chosen = named or above
    return chosen[-1] if chosen else None
