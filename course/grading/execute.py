"""nbgrader's Execute preprocessor with the grading guard and a memory limit per kernel."""

from __future__ import annotations

import ast
from typing import Any, ClassVar

from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_solution
from traitlets import Integer

INSTALL = "__import__('course.grading.guard', fromlist=['install']).install({memory_mb})"
RESTORE = "__import__('course.grading.guard', fromlist=['restore']).restore()"


def is_test_cell(cell: NotebookNode) -> bool:
    """Return True for an autograded test cell (a graded code cell that is not an answer)."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def guard_error(message: str) -> NotebookNode:
    """Return an error output that makes nbgrader score the cell zero, with the reason."""
    return NotebookNode(output_type="error", ename="GuardError", evalue=message,
                        traceback=[f"GuardError: {message}"])


class GuardedExecute(Execute):
    """Execute a submission; before each test cell, undo what answer cells tampered with.

    Before the first cell the kernel snapshots its pristine state and caps its
    memory (``memory_mb``); before each test cell it restores the snapshot and
    rebinds a fresh ``checks`` (see :mod:`course.grading.guard`). What had to be
    undone is recorded in :attr:`events` for the report. If the guard cannot
    run, the test cell is scored zero with a ``GuardError`` that says why.
    """

    memory_mb = Integer(
        2048, help="Address-space limit of each grading kernel in MB (0: no limit)."
    ).tag(config=True)

    #: ``(grade_id, what was undone)`` for the notebooks graded in this process.
    events: ClassVar[list[tuple[str, str]]] = []

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        """Execute ``nb`` with the guard installed in its kernel."""
        self._guard_state: str | None = None  # None: not yet; "": installed; else the error
        return super().preprocess(nb, resources, km)

    async def _guard(self, expression: str) -> tuple[bool, str]:
        """Evaluate ``expression`` in the kernel without IPython's input transformers."""
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={"guard": expression})
        reply = await self.async_wait_for_reply(msg_id)
        if reply is None:
            return False, "the kernel did not answer in time"
        content = reply["content"]
        result = content.get("user_expressions", {}).get("guard")
        if content.get("status") != "ok" or not result:
            return False, f"the kernel refused to run it ({content.get('ename', 'no reply')})"
        if result.get("status") != "ok":
            return False, f"{result.get('ename')}: {result.get('evalue')}"
        text = result.get("data", {}).get("text/plain", "''")
        try:
            return True, str(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            return True, text

    async def _before(self, cell: NotebookNode) -> str:
        """Install the guard before the first cell, restore before a test; return a problem."""
        if self._guard_state is None:
            ok, said = await self._guard(INSTALL.format(memory_mb=int(self.memory_mb)))
            self._guard_state = "" if ok else f"could not install the grading guard: {said}"
        if not is_test_cell(cell):
            return ""
        if self._guard_state:
            return self._guard_state
        ok, said = await self._guard(RESTORE)
        if not ok:
            return f"could not restore the check helpers before this test: {said}"
        if said != "clean":
            self.events.append((cell.metadata.nbgrader.get("grade_id", "?"), said))
        return ""

    async def async_execute_cell(self, cell: NotebookNode, cell_index: int,
                                 execution_count: int | None = None,
                                 store_history: bool = True) -> NotebookNode:
        """Run the guard when needed, then execute ``cell`` as nbgrader does."""
        problem = ""
        if cell.cell_type == "code" and cell.source.strip():
            problem = await self._before(cell)
        cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if problem:
            cell.outputs.append(guard_error(problem))
            self.events.append((cell.metadata.nbgrader.get("grade_id", "?"), problem))
        return cell

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the base method otherwise
