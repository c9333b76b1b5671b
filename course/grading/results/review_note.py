"""The reasons a submission is held, shown at the top of its notebook in the formgrader.

The formgrader shows the autograded notebook and the gradebook's scores, not
``grades.csv``; a note cell (markdown, marked ``metadata.course.review_note``)
at the top of ``autograded/<student>/<assignment>/*.ipynb`` says why the
submission is held and how to accept the autograder's scores. Feedback never
shows it: :class:`course.grading.results.feedback.HideHiddenTests` drops it.
"""

from __future__ import annotations

import stat
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course.notebook import read

MARK = "review_note"


def is_note(cell: NotebookNode) -> bool:
    """Return True for the note cell written here."""
    return bool(cell.get("metadata", {}).get("course", {}).get(MARK))


def without_note(nb: NotebookNode) -> NotebookNode:
    """Return ``nb`` with the note cell removed (in place)."""
    nb.cells = [cell for cell in nb.cells if not is_note(cell)]
    return nb


def note_text(reasons: list[str], assignment: str, student: str) -> str:
    """Return the note's markdown: the reasons, then what to do."""
    lines = [f"- {reason}" for reason in reasons] or ["- (no reason recorded)"]
    return ("**Held for review, not final** (written by `python -m course grade`; learners "
            "never see this cell).\n\n" + "\n".join(lines) + "\n\nGive each item a score "
            "below, or take the autograder's scores for every item you agree with: "
            f"`python -m course accept {assignment} {student}` (`--item GRADE_ID` for one).")


def write_note(folder: Path, reasons: list[str] | None, assignment: str, student: str) -> None:
    """Put the note at the top of each notebook in ``folder``; remove it if ``reasons`` is None.

    nbgrader leaves autograded notebooks read-only (mode 444): a notebook that needs a
    change is made writable for the write and given its mode back; one that needs none
    is not touched.
    """
    for path in sorted(folder.glob("*.ipynb")):
        nb = read(path)
        before = len(nb.cells), nb.cells[0].source if nb.cells else ""
        nb = without_note(nb)
        if reasons is not None:
            cell = nbformat.v4.new_markdown_cell(note_text(reasons, assignment, student))
            cell.metadata["course"] = {MARK: True}
            nb.cells.insert(0, cell)
        if (len(nb.cells), nb.cells[0].source if nb.cells else "") != before:
            _write_keeping_mode(nb, path)


def _write_keeping_mode(nb: NotebookNode, path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(mode | stat.S_IWUSR)
    try:
        nbformat.write(nb, path)
    finally:
        path.chmod(mode)
