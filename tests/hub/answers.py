"""A learner's answers: the fetched release with some answer cells solved."""

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


def answered(release: dict, module: str, share: float) -> tuple[dict, int]:
    """Return ``release`` with the first ``share`` of its answer cells solved, and how many."""
    notebook = nbformat.from_dict(release)
    solved = solved_sources(module)
    cells = [cell for cell in notebook.cells if is_answer_cell(cell)]
    count = round(len(cells) * share)
    for cell in cells[:count]:
        cell.source = solved[grading(cell)["grade_id"]]
    return notebook, count
