"""Before the first submission: check that a kernel in the sandbox can run the course.

A broken setup must never yield a grade. If the kernel cannot import the
course (an editable install pointing at another checkout is not in the
sandbox) or read the data (a ``datasets/`` folder it cannot find), every
learner's answers fail the same way, and the grades would look like zeros.
:func:`preflight` runs the release's setup cells (the course's cells above the
first answer), after importing the course and finding its data, in a kernel
with the same sandbox and limits as the submissions', and stops grading with
one message saying what failed and how to fix it. :func:`explain` gives the
same advice when the setup fails for every submission during a run.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from course.grading.coursedir import GradingError
from course.grading.run import sandbox
from course.notebook import error_outputs, is_answer_cell, is_test_cell, package_dir, read

#: What the probe runs first: the course package and its data, as a notebook's setup uses them.
PROBE = ("import course.checks, course.datasets\n"
         "course.datasets.data_dir()")
#: Seconds the setup cells may take at least (a cold kernel imports scikit-learn).
MIN_TIMEOUT = 120


def setup_cells(nb: NotebookNode) -> list[NotebookNode]:
    """Return the course's code cells above the first answer or test cell."""
    cells = []
    for cell in nb.cells:
        if is_answer_cell(cell) or is_test_cell(cell):
            break
        if cell.cell_type == "code" and cell.source.strip():
            cells.append(cell)
    return cells


def explain(assignment: str, ename: str, evalue: str, memory_mb: int) -> str:
    """Return what a setup error means for grading and how to fix it."""
    package = package_dir()
    if ename in ("ModuleNotFoundError", "ImportError"):
        return (f"the kernel cannot import what {assignment}'s setup needs. The sandbox shows "
                f"it only this Python ({sys.prefix}) with its packages, and the course package "
                f"that `grade` itself runs ({package}): install the course into this "
                f"environment from this checkout (`pip install -e .` in the course root), so "
                "that the kernel imports the same `course` (an editable install pointing at "
                "another checkout is not visible in the sandbox), and check that the package "
                "named is installed")
    if ename == "DatasetError":
        return ("the kernel cannot read the course's data: keep datasets/ next to the course "
                "package, or set COURSE_DATASETS to the folder's absolute path")
    if ename in ("MemoryError", "DeadKernelError"):
        return (f"the setup ran out of memory under the limit of {memory_mb} MB: raise "
                "--memory-mb")
    return ("run the notebook's setup cells in this environment to see the error, fix it, "
            "then grade again")


def _probe(nb: NotebookNode) -> NotebookNode:
    probe = nbformat.v4.new_notebook(metadata=nb.metadata)
    probe.cells = [nbformat.v4.new_code_cell(PROBE), *(nbformat.v4.new_code_cell(c.source)
                                                       for c in setup_cells(nb))]
    return probe


def _first_error(probe: NotebookNode) -> tuple[int, str, str] | None:
    for index, cell in enumerate(probe.cells):
        for output in error_outputs(cell):
            evalue = " ".join(str(output.get("evalue", "")).split())[:300]
            return index, str(output.get("ename", "Error")), evalue
    return None


def _run(probe: NotebookNode, folder: Path, limits: sandbox.Limits, sandboxed: bool,
         timeout: int) -> tuple[int, str, str] | None:
    """Run ``probe`` in a sandboxed kernel in ``folder``; return its first error, if any.

    The kernel's own output (ipykernel's banner, a crash's message) goes to a log
    beside ``folder``, not to the instructor's terminal; a kernel that dies says
    its last line there.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from course.grading.run.execute import SandboxedKernelManager

    name = probe.metadata.get("kernelspec", {}).get("name", "python3")
    manager = SandboxedKernelManager(kernel_name=name)
    manager.sandboxed, manager.limits = sandboxed, limits
    client = NotebookClient(probe, km=manager, timeout=timeout, allow_errors=True,
                            kernel_name=name, resources={"metadata": {"path": str(folder)}})
    handlers = _signal_handlers()
    log_path = folder.parent / "kernel.log"
    try:
        with open(log_path, "wb") as log:
            client.execute(stdout=log, stderr=subprocess.STDOUT)
    except DeadKernelError:
        return 0, "DeadKernelError", "the kernel died during the setup" + _last_line(log_path)
    except CellTimeoutError:
        return 0, "CellTimeoutError", f"the setup took longer than {timeout} s"
    finally:
        _restore(handlers)  # nbclient leaves SIGINT and SIGTERM at their defaults
    return _first_error(probe)


def _last_line(log: Path) -> str:
    """Return ``": <the log's last non-empty line>"``, or "" if it has none."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    return f": {lines[-1][:300]}" if lines else ""


def _signal_handlers() -> dict[int, Any]:
    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(handlers: dict[int, Any]) -> None:
    if threading.current_thread() is threading.main_thread():
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def preflight(release: Path, assignment: str, limits: sandbox.Limits, sandboxed: bool = True,
              timeout: int | None = None) -> None:
    """Run ``release``'s setup in a sandboxed kernel, or raise GradingError saying what failed.

    ``release`` is the student version of the notebook; its folder is copied,
    as a submission's would be, so relative paths resolve as they will.
    """
    nb = read(release)
    scratch = Path(tempfile.mkdtemp(prefix="course-preflight-"))
    try:
        folder = scratch / assignment
        shutil.copytree(release.parent, folder)
        probe = _probe(nb)
        found = _run(probe, folder, limits, sandboxed, max(timeout or 0, MIN_TIMEOUT))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if found is None:
        return
    index, ename, evalue = found
    where = "importing the course" if index == 0 else f"setup cell {index} of {assignment}"
    raise GradingError(
        f"the course cannot run in the grading sandbox, so nothing was graded: {where} failed "
        f"with {ename}: {evalue}\nFix: {explain(assignment, ename, evalue, limits.memory_mb)}"
        ". Then grade again.")
