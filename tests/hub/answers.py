"""A learner's answers: the solved code of the first answer cells of a fetched release."""

from __future__ import annotations

import nbformat
from nbtools import SOLUTION, grading, is_answer_cell, read, solution_path


def solved_sources(module: str) -> dict[str, str]:
    """Each answer cell's grade id and its solved source (the solution, markers removed)."""
    solution = read(solution_path(module))
    return {grading(cell)["grade_id"]: _unmarked(cell.source)
            for cell in solution.cells if is_answer_cell(cell)}


def _unmarked(source: str) -> str:
    block = SOLUTION.search(source)
    assert block, f"an answer cell without solution markers: {source[:80]!r}"
    inner = block.group(0).splitlines()[1:-1]
    return source[:block.start()] + "\n".join(inner) + "\n" + source[block.end():]


def answers_to_type(release: dict, module: str, share: float) -> dict[int, str]:
    """``{cell index: solved source}`` for the first ``share`` of ``release``'s answer cells."""
    solved = solved_sources(module)
    cells = [(i, c) for i, c in enumerate(nbformat.from_dict(release).cells) if is_answer_cell(c)]
    return {i: solved[grading(c)["grade_id"]] for i, c in cells[:round(len(cells) * share)]}


def answered(release: dict, module: str, share: float) -> dict:
    """Return ``release`` with the first ``share`` of its answer cells solved."""
    notebook = nbformat.from_dict(release)
    for index, source in answers_to_type(release, module, share).items():
        notebook.cells[index].source = source
    return notebook
