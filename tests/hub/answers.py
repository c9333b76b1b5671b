"""A learner's answers: the solved code of the first answer cells of a fetched release."""

from __future__ import annotations

import nbformat
from nbtools import SOLUTION, grading, is_answer_cell, read, solution_path

from course.notebook import is_hand_graded


def _unmarked(source: str) -> str:
    block = SOLUTION.search(source)
    assert block, f"an answer cell without solution markers: {source[:80]!r}"
    inner = block.group(0).splitlines()[1:-1]
    return source[:block.start()] + "\n".join(inner) + "\n" + source[block.end():]


def _is_written_answer(cell) -> bool:
    return cell.cell_type == "markdown" and is_hand_graded(cell)


def answers_to_type(release: dict, module: str, share: float) -> dict[int, str]:
    """``{cell index: solved source}`` for the first ``share`` of ``release``'s answer cells;
    with every one of them (share 1), the written answers (the model answer) too."""
    solution = read(solution_path(module))
    solved = {grading(c)["grade_id"]: _unmarked(c.source) for c in solution.cells
              if is_answer_cell(c) or _is_written_answer(c)}
    cells = list(enumerate(nbformat.from_dict(release).cells))
    code = [(i, c) for i, c in cells if is_answer_cell(c)]
    chosen = code[:round(len(code) * share)]
    if share == 1:
        chosen += [(i, c) for i, c in cells if _is_written_answer(c)]
    return {i: solved[grading(c)["grade_id"]] for i, c in sorted(chosen)}


def answered(release: dict, module: str, share: float) -> dict:
    """Return ``release`` with the first ``share`` of its answer cells solved."""
    notebook = nbformat.from_dict(release)
    for index, source in answers_to_type(release, module, share).items():
        notebook.cells[index].source = source
    return notebook
