"""The Validate button's report, written for a learner: a Jupyter server extension.

nbgrader's Validate dialog lists every failing cell under "The following cell failed",
with the cell's code and its output in ``<pre>`` blocks that do not wrap: unanswered
exercises, wrong answers and the memos (which only a person can grade) look alike, and
long lines run off the dialog's right edge. The dialog (nbgrader's JupyterLab extension)
shows, for each failed cell, the ``source`` it is sent as text and the ``error`` as HTML;
this extension serves the same ``/assignments/validate`` route with nbgrader's own
validation, then rewrites each entry: ``source`` becomes one short line saying what the
cell is and its state (NOT ANSWERED YET, WRONG, GRADED BY HAND), ``error`` the check's
message (or what to do with a memo) in a block that wraps to the dialog's width.

learner-config/ enables it in place of ``nbgrader.server_extensions.validate_assignment``
(whose version route it keeps).
"""

from __future__ import annotations

import html
from pathlib import Path

import nbformat

from course.errors import CourseError
from course.notebook import read

NOT_ANSWERED, WRONG, BY_HAND = "NOT ANSWERED YET", "WRONG", "GRADED BY HAND"
WRAP = '<span style="white-space: pre-wrap; overflow-wrap: anywhere;">{}</span>'


def _cells_by_source(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """Map each graded cell's stripped source to the cell (how nbgrader reports it)."""
    return {cell.source.strip(): cell for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("grade")}


def _message(error: str) -> str:
    """Return the check's message as plain text: no terminal colours, no blank lines."""
    from nbconvert.filters import strip_ansi

    return "\n".join(line.rstrip() for line in strip_ansi(error).strip().splitlines()
                     if line.strip())


def describe(entry: dict, cell: nbformat.NotebookNode | None, module: str) -> dict:
    """Rewrite one failed entry of nbgrader's result for a learner."""
    meta = cell.metadata.get("nbgrader", {}) if cell is not None else {}
    name = meta.get("grade_id", "this cell").removesuffix("_test")
    points = meta.get("points")
    worth = f" ({points:g} points)" if isinstance(points, (int, float)) else ""
    raw = entry.get("raw_error", "")
    if cell is not None and cell.cell_type == "markdown":
        state = BY_HAND
        text = ("Not written yet. Written answers are graded by hand, not by Validate: in a "
                "cohort your instructor grades it; on your own, compare it with the mark "
                f"scheme and the model answer in solutions/{module}/{module}.ipynb, then "
                "`python3 run.py progress` says how to record your own mark.")
    else:
        state = NOT_ANSWERED if "not answered yet" in raw else WRONG
        text = _message(raw)
    return {**entry, "source": f"{state}: {name}{worth}",
            "error": WRAP.format(html.escape(text)), "raw_error": text}


def for_learner(result: dict, notebook_path: Path) -> dict:
    """Rewrite nbgrader's validation result (``{"failed": [...]}`` and others)."""
    failed = result.get("failed") if isinstance(result, dict) else None
    if not failed:
        return result
    try:
        notebook = read(notebook_path)
    except CourseError:  # an unreadable notebook: nbgrader's own report stands
        return result
    cells = _cells_by_source(notebook)
    module = notebook.metadata.get("course", {}).get("module") or notebook_path.stem
    return {**result, "failed": [describe(e, cells.get(e.get("source", "").strip()), module)
                                 for e in failed]}


def _handlers() -> list:
    from nbgrader.server_extensions.validate_assignment.handlers import (
        NbGraderVersionHandler,
        ValidateAssignmentHandler,
    )

    class LearnerValidateHandler(ValidateAssignmentHandler):
        """nbgrader's Validate, with the report rewritten for a learner."""

        def validate_notebook(self, path: str) -> dict:
            outcome = super().validate_notebook(path)
            if outcome.get("success") and isinstance(outcome.get("value"), dict):
                target = (Path(self.root_dir) / path).resolve()
                outcome = {**outcome, "value": for_learner(outcome["value"], target)}
            return outcome

    return [(r"/assignments/validate", LearnerValidateHandler),
            (r"/nbgrader_version", NbGraderVersionHandler)]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "course.validate_server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join

    webapp = serverapp.web_app
    webapp.settings["root_dir"] = serverapp.root_dir
    base = webapp.settings["base_url"]
    webapp.add_handlers(".*$", [(url_path_join(base, pattern), handler)
                                for pattern, handler in _handlers()])
    serverapp.log.info("course: the learner's Validate report (course.validate_server)")
