"""Feedback without hidden tests: an nbgrader preprocessor for ``generate_feedback``.

nbgrader puts the hidden tests back into the autograded notebook, and its
feedback HTML shows them, and their tracebacks (nbgrader issue #917). This
preprocessor, run by ``GenerateFeedback`` before the HTML is written, replaces
each hidden block with one line, ``# hidden tests: passed`` (or failed, or not
run because a visible check failed first), and cuts every traceback in a test
cell down to its last line. A failure message from a hidden test is kept only
if it comes from ``course.checks`` (written to be shown); any other is
replaced, since an ``assert`` or NumPy message can print the expected value.
"""

from __future__ import annotations

import re
from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from course.notebook import error_outputs, is_test_cell
from course.outcomes import plain

CELL_LINE = re.compile(r"(?:Cell|Input) In\s*\[\d*\],\s*line (\d+)")
SHOWN_ERRORS = ("CheckFailed", "NotAttempted", "GradingError", "KernelError",
                "SubmissionTimeout", "NotRun", "CellTimeoutError", "NameError")

#: A cell stopped by a limit: one line for the learner instead of the interrupt's traceback.
STOPPED = {
    "CellTimeoutError": "this cell ran longer than the time limit and was stopped",
    "KeyboardInterrupt": "this cell ran longer than the time limit and was stopped",
    "DeadKernelError": "the notebook's kernel died while this cell ran (a crash, or memory)",
}


def one_line_stop(cell: NotebookNode) -> NotebookNode:
    """Replace a stopped cell's interrupt and time-out tracebacks with one line saying why."""
    stopped = [o for o in error_outputs(cell) if o.get("ename") in STOPPED]
    if stopped:
        why = STOPPED[stopped[0].get("ename")]
        cell.outputs = [o for o in cell.outputs if o not in stopped]
        cell.outputs.append(NotebookNode(output_type="error", ename="Stopped", evalue=why,
                                         traceback=[f"Stopped: {why}"]))
    return cell


def hidden_ranges(source: str, begin: str, end: str) -> list[tuple[int, int]]:
    """Return the 1-based ``(first, last)`` line numbers of each hidden block, markers included."""
    ranges, start = [], None
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line and start is None:
            start = number
        elif end in line and start is not None:
            ranges.append((start, number))
            start = None
    if start is not None:
        ranges.append((start, len(source.split("\n"))))
    return ranges


def failing_line(cell: NotebookNode) -> int | None:
    """Return the line of the cell where its error was raised, if the traceback says."""
    for output in error_outputs(cell):
        found = CELL_LINE.search(plain("\n".join(output.get("traceback", []))))
        return int(found.group(1)) if found else None
    return None


def has_error(cell: NotebookNode) -> bool:
    """Return True if the cell raised (its output holds an error)."""
    return bool(error_outputs(cell))


def replace_blocks(source: str, blocks: list[tuple[int, int]], verdicts: list[str]) -> str:
    """Return ``source`` with each hidden block replaced by a one-line verdict."""
    lines = source.split("\n")
    for (first, last), said in sorted(zip(blocks, verdicts, strict=True), reverse=True):
        indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
        lines[first - 1:last] = [f"{indent}# hidden tests: {said}"]
    return "\n".join(lines)


def short_error(output: NotebookNode, in_hidden: bool) -> NotebookNode:
    """Return the error output with its traceback cut to one safe line."""
    ename, evalue = output.get("ename", "Error"), output.get("evalue", "")
    if in_hidden and ename not in SHOWN_ERRORS:
        evalue = "a hidden test failed"
    output.evalue = evalue
    output.traceback = [f"{ename}: {evalue}"]
    return output


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests and tracebacks from test cells before feedback is rendered."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_test_delimeter = Unicode("END HIDDEN TESTS").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        """Drop the instructor's review note, then hide the hidden tests cell by cell."""
        from course.grading.results.review_note import without_note

        return super().preprocess(without_note(nb), resources)

    def preprocess_cell(self, cell: NotebookNode, resources: Any,
                        index: int) -> tuple[NotebookNode, Any]:
        """Hide the hidden tests of one test cell; cut a stopped cell's traceback to a line."""
        if not is_test_cell(cell):
            return one_line_stop(cell), resources
        blocks = hidden_ranges(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
        line = failing_line(cell)
        in_hidden = line is None or any(a <= line <= b for a, b in blocks)
        for output in error_outputs(cell):
            short_error(output, in_hidden and bool(blocks))
        if blocks:
            cell.source = replace_blocks(cell.source, blocks, [verdict_of(cell, b, line)
                                                               for b in blocks])
        return cell, resources


def verdict_of(cell: NotebookNode, block: tuple[int, int], line: int | None) -> str:
    """Say how one hidden block did, given the failing line found before tracebacks were cut."""
    judged = cell.get("metadata", {}).get("course", {}).get("verdict")
    if judged:  # judged by the grader outside the kernel (course.grading.run.execute)
        return "passed" if not has_error(cell) else "failed"
    if not has_error(cell):
        return "passed"
    if line is None:  # checks render as their message alone: the ✔ line says the check passed
        shown = "".join(o.get("text", "") for o in cell.get("outputs", [])
                        if o.get("output_type") == "stream")
        return "failed" if "✔" in shown else "not run (the check above it failed first)"
    if block[0] <= line <= block[1]:
        return "failed"
    return "passed" if line > block[1] else "not run (a check above it failed first)"
