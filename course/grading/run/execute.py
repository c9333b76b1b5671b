"""nbgrader's Execute step, with the kernel in a sandbox and test cells judged outside it.

:class:`SandboxedExecute` replaces nbgrader's ``Execute`` in the autograde steps
(see :mod:`course.grading.run.settings`). It runs the submission's own cells in a
kernel inside a bubblewrap sandbox (:mod:`course.grading.run.sandbox`), and never
sends a test cell to that kernel: at each test cell it asks the kernel for the
values the cell's checks name, as data (:mod:`course.grading.run.evidence`), and
judges them in this process (:mod:`course.grading.judging.judge`). The cell's outputs
are the verdict's: a ✔ line, or an error with the learner's message, which is
what makes nbgrader score it zero. The verdict also goes into the cell's
metadata (``metadata.course.verdict``) for the cohort report. A whole-submission
time limit stops the rest of the cells once it is spent, and every wait for the
kernel ends within it (a kernel that floods the grader with replies to other
messages cannot hold it). A course cell that fails to import or to read the
data (``metadata.course.setup_error``) and a write past the disk limit
(``metadata.course.disk_full``) are recorded for the report.
"""

from __future__ import annotations

import ast
import asyncio
import os
import shutil
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from course.grading.judging import judge
from course.grading.run import evidence, sandbox
from course.notebook import error_outputs, exercise_of, is_answer_cell, is_test_cell
from course.outcomes import MEMORY_LIMIT_HIT

ENCODE = "__import__('course.grading.run.evidence', fromlist=['encode']).encode(({value}))"
ENCODE_MODEL = ("__import__('course.grading.run.evidence', fromlist=['encode_model'])"
                ".encode_model(({value}), ({on}))")
#: Errors that mean a cell was stopped before it finished (not that it failed).
STOPPED = ("CellTimeoutError", "SubmissionTimeout", "NotRun")
#: Errors of a course cell that mean the course itself could not run (not the learner's answer).
SETUP_ERRORS = ("ModuleNotFoundError", "ImportError", "DatasetError")
#: What a write past the sandbox's disk limit raises (OSError, errno 28).
DISK_FULL = "No space left on device"
#: Seconds to wait for the kernel to send a test's values (one deadline for every read).
VALUES_TIMEOUT = 30
#: Seconds past a cell's (or the submission's) limit before a stalled cell is abandoned.
GRACE = 30
#: Replies to other messages skipped while waiting for a test's values.
MAX_FOREIGN = 100


class KernelValueError(Exception):
    """The kernel could not give a value a test needs (the message says why)."""

    def __init__(self, ename: str, message: str) -> None:
        """Keep the kind of error and its message."""
        super().__init__(message)
        self.ename = ename


class SandboxedKernelManager(AsyncKernelManager):
    """Start the kernel in a bubblewrap sandbox, talking over sockets in a private folder."""

    sandboxed: bool = True
    limits: sandbox.Limits = sandbox.Limits()

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self._run = sandbox.make_run_dir()
        if self.kernel_spec is not None:  # SIGINT would reach bwrap, not the kernel inside
            self.kernel_spec.interrupt_mode = "message"
        self.transport = "ipc"
        self.ip = str(self._run / "k")
        self.connection_file = str(self._run / "kernel.json")
        cwd = Path(kw.get("cwd") or ".").resolve()
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        self._cgroup = sandbox.Cgroup.create(self.limits) if self.sandboxed else None
        sandbox.track(self._run, self._cgroup)
        prefix = self._cgroup.enter() if self._cgroup else []
        prefix += sandbox.limit_each_process(self.limits.memory_mb, self._cgroup)
        if self.sandboxed:
            kernel_cmd = sandbox.command(kernel_cmd, self._run, cwd, cwd, self.limits.disk_mb)
            kernel_cmd, self._args_fd = sandbox.hide_arguments(kernel_cmd)
            if self._args_fd is not None:
                kw["pass_fds"] = (self._args_fd,)
        else:  # a copy on the host's disk, with no size limit
            work = self._run / "work"
            shutil.copytree(cwd, work, symlinks=True)
            kw["cwd"] = str(work)
        return [*prefix, *kernel_cmd], kw

    oom_kills: int = 0
    limit_hits: int = 0
    _args_fd: int | None = None

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            if self._args_fd is not None:  # bwrap has its own copy now
                os.close(self._args_fd)
                self._args_fd = None

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if getattr(self, "_cgroup", None) is not None:  # cleaned up twice by nbclient
            self.oom_kills = self._cgroup.oom_kills()
            self.limit_hits = self._cgroup.limit_hits()
            self._cgroup = None
        if getattr(self, "_run", None) is not None:
            sandbox.release(self._run)

    cleanup_resources = _async_cleanup_resources  # async, as in AsyncKernelManager


class SandboxedExecute(Execute):
    """Run a submission in a sandboxed kernel; judge its test cells in the grader."""

    memory_mb = Integer(
        sandbox.DEFAULT_MEMORY_MB,
        help="Memory limit of one submission's processes together, in MB (0: none)."
    ).tag(config=True)
    disk_mb = Integer(
        sandbox.DEFAULT_DISK_MB,
        help="Size of each writable folder of a submission (working copy, /tmp), in MB (0: none)."
    ).tag(config=True)
    submission_timeout = Integer(
        900, help="Seconds for a whole submission; cells after it is spent do not run (0: none)."
    ).tag(config=True)
    sandbox = Bool(True, help="Run kernels in a bubblewrap sandbox (False only for code you "
                              "trust).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        """Execute ``nb``; its test cells are judged here, not in the kernel."""
        self._module = str((resources or {}).get("nbgrader", {}).get("assignment", ""))
        budget = int(self.submission_timeout)
        self._deadline = time.monotonic() + budget if budget > 0 else None
        self.timeout_func = self._cell_timeout
        self._out_of_time = False
        self._stopped = ""  # why a cell since the last test cell did not finish
        self._answered = False  # an answer cell has run (later course cells may use it)
        self._setup_error = ""
        self._disk_full = 0  # the first cell that ran out of disk (1-based)
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except Exception:
            self._log_memory_limit()  # nbgrader's log is all the report sees of a failure
            raise
        kills, hits = self._memory_events()
        if kills:
            nb.metadata.setdefault("course", {})["memory_limit_kills"] = kills
        elif hits:
            nb.metadata.setdefault("course", {})["memory_limit_hits"] = hits
        if self._setup_error:
            nb.metadata.setdefault("course", {})["setup_error"] = self._setup_error
        if self._disk_full:
            nb.metadata.setdefault("course", {})["disk_full"] = {"cell": self._disk_full,
                                                                  "limit_mb": int(self.disk_mb)}
        return nb, resources

    def create_kernel_manager(self) -> AsyncKernelManager:
        """Make the sandboxed kernel manager, with this run's limits."""
        self.kernel_manager_class = SandboxedKernelManager
        manager = super().create_kernel_manager()
        manager.sandboxed = bool(self.sandbox)
        manager.limits = sandbox.Limits(memory_mb=int(self.memory_mb), disk_mb=int(self.disk_mb))
        self._manager = manager
        return manager

    def _remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    def _memory_events(self) -> tuple[int, int]:
        """Return the kernel's cgroup counts: processes killed, and times at the limit."""
        manager = getattr(self, "_manager", None)
        return getattr(manager, "oom_kills", 0), getattr(manager, "limit_hits", 0)

    def _log_memory_limit(self) -> None:
        """Say in the log when a submission that failed had reached its memory limit."""
        kills, hits = self._memory_events()
        if kills or hits:
            self.log.error("%s (%d processes killed, %d times at the limit)", MEMORY_LIMIT_HIT,
                           kills, hits)

    def _cell_timeout(self, cell: NotebookNode) -> int | None:
        remaining, timeout = self._remaining(), self.timeout or None
        if remaining is None:
            return timeout
        return max(1, int(min(remaining, timeout or remaining)))

    async def async_execute_cell(self, cell: NotebookNode, cell_index: int,
                                 execution_count: int | None = None,
                                 store_history: bool = True) -> NotebookNode:
        """Judge a test cell here; run any other cell in the kernel while time is left."""
        if is_test_cell(cell):
            cell = await self._judge(cell)
            self._stopped = ""
            return cell
        remaining = self._remaining()
        if cell.cell_type == "code" and cell.source.strip() and remaining is not None \
                and remaining <= 0:
            cell.outputs = [self._out_of_time_error()]
            return cell
        cell = await self._bounded(cell, super().async_execute_cell(
            cell, cell_index, execution_count, store_history))
        remaining = self._remaining()
        if remaining is not None and remaining <= 0 and any(
                o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
            cell.outputs = [o for o in cell.outputs if o.get("ename") != "CellTimeoutError"]
            cell.outputs.append(self._out_of_time_error())
        if any(o.get("ename") in STOPPED for o in cell.get("outputs", [])):
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            self._stopped = (f"cell {cell_index + 1}{f' ({gid})' if gid else ''} ran out "
                             "of time and was stopped")
        self._note_setup_error(cell, cell_index)
        if not self._disk_full and any(DISK_FULL in str(o.get("evalue", ""))
                                       for o in error_outputs(cell)):
            self._disk_full = cell_index + 1
        return cell

    def _note_setup_error(self, cell: NotebookNode, cell_index: int) -> None:
        """Remember the first failure of the course's own setup (the submission is not a grade).

        A course cell (not an answer, not a test) that fails before any answer
        cell ran, or fails to import something or to read the data anywhere,
        means the course could not run; the learner's answers were never tried.
        """
        if is_answer_cell(cell):
            self._answered = True
            return
        if self._setup_error or cell.cell_type != "code":
            return
        for output in error_outputs(cell):
            ename = str(output.get("ename", ""))
            if ename not in STOPPED and (not self._answered or ename in SETUP_ERRORS):
                evalue = " ".join(str(output.get("evalue", "")).split())[:300]
                self._setup_error = f"cell {cell_index + 1}: {ename}: {evalue}"
                return

    async def _bounded(self, cell: NotebookNode, running: Any) -> NotebookNode:
        """Await nbclient's run of ``cell``, but never past the cell's or submission's limit.

        nbclient stops a cell at its time-out, but skips replies to other
        messages with no end: a kernel sending endless ones would hold it for
        ever. Past the limit and :data:`GRACE` seconds, the submission's time is
        spent: this cell is stopped and no other runs.
        """
        remaining, timeout = self._remaining(), self.timeout or None
        limits = [t for t in (remaining, timeout) if t is not None]
        if not limits:
            return await running
        began, limit = time.monotonic(), max(1.0, min(limits)) + GRACE
        try:
            return await asyncio.wait_for(running, limit)
        except (TimeoutError, DeadKernelError):
            if time.monotonic() - began < limit:
                raise  # the kernel really died
        self._deadline, self._out_of_time = time.monotonic(), True
        cell.outputs = [judge.error_output(
            "SubmissionTimeout", f"stopped: the kernel had not finished this cell {limit:.0f} s "
                                 "after it started (later cells were not run)")]
        return cell

    def _out_of_time_error(self) -> NotebookNode:
        """Return the error for a cell after the time is spent: the reason once, then "not run"."""
        if self._out_of_time:
            return judge.error_output("NotRun", "not run: the submission's time was spent")
        self._out_of_time = True
        return judge.error_output(
            "SubmissionTimeout", f"stopped: the submission's {self.submission_timeout} s were "
                                 "spent (later cells were not run)")

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the base method otherwise

    async def _judge(self, cell: NotebookNode) -> NotebookNode:
        """Ask the kernel for the values the test names and judge them; set the outputs."""
        try:
            parsed = judge.parse(cell.source)
        except judge.TestCellError as error:
            judged = judge.unjudged(None, f"this test cell cannot be graded: {error}")
        else:
            try:
                values = await self._values(parsed.expressions())
            except KernelValueError as error:
                judged = judge.unjudged(parsed, str(error), error.ename)
            else:
                judged = judge.judge(parsed, self._module, values)
        if self._stopped and not judged.earned:  # stopped: not unanswered, not wrong
            judged = judge.unjudged(None, f"not graded: {self._stopped} "
                                          "before it set the answer", "NotRun",
                                    exercise=exercise_of(cell))
        cell.outputs = judged.outputs
        cell.execution_count = None
        cell.metadata["course"] = judged.metadata()
        return cell

    async def _values(self, expressions: list[judge.Expression]) -> dict[judge.Expression, Any]:
        """Return each expression's value, sent by the kernel as data and rebuilt here."""
        if not expressions:
            return {}
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            raise KernelValueError("NotRun", "not graded: the submission's time was spent "
                                             "before this test")
        asked = {f"v{i}": _request(e) for i, e in enumerate(expressions)}
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions=asked)
        wait = VALUES_TIMEOUT if remaining is None else max(1, min(VALUES_TIMEOUT, remaining))
        reply = await self._reply_to(msg_id, time.monotonic() + wait)
        found = reply.get("content", {}).get("user_expressions", {})
        return {e: _value(found.get(f"v{i}")) for i, e in enumerate(expressions)}

    async def _reply_to(self, msg_id: str, deadline: float) -> dict[str, Any]:
        """Return the kernel's reply to ``msg_id``, read before ``deadline`` (one for all reads).

        Replies to other messages are skipped, at most :data:`MAX_FOREIGN` of
        them: a kernel that answers with endless replies to something else
        cannot hold the grader past the deadline.
        """
        for _ in range(MAX_FOREIGN + 1):
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                reply = await self.kc._async_get_shell_msg(timeout=left)
            except Exception:  # noqa: BLE001 (queue.Empty, or a dead kernel's closed channel)
                raise KernelValueError("KernelError", "the kernel did not answer before this "
                                                      "test (it stopped, or ran out of time or "
                                                      "memory)") from None
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return reply
        raise KernelValueError("KernelError", f"the kernel sent more than {MAX_FOREIGN} replies "
                                              "to other messages instead of the test's values")


def _request(expression: judge.Expression) -> str:
    if expression.model_on is not None:
        return ENCODE_MODEL.format(value=expression.source, on=expression.model_on)
    return ENCODE.format(value=expression.source)


def _value(result: Any) -> Any:
    """Rebuild one value from the kernel's reply to a user expression."""
    if not isinstance(result, dict):
        raise KernelValueError("KernelError", "the kernel sent no value for this test")
    if result.get("status") != "ok":
        ename = str(result.get("ename", "Error"))[:60]
        evalue = str(result.get("evalue", ""))[:300]
        raise KernelValueError(ename, f"{ename}: {evalue}")
    text = result.get("data", {}).get("text/plain", "")
    if not isinstance(text, str) or len(text) > 2 * evidence.MAX_CHARS:
        raise KernelValueError("KernelError", "the answer is too large to grade")
    if text[:1] not in ("'", '"'):  # encode() returns a string; anything else is not ours
        raise KernelValueError("KernelError", "the kernel's answer is not the grader's data")
    try:
        return evidence.decode(ast.literal_eval(text))
    except MemoryError:
        raise KernelValueError("KernelError", "the answer is too large to grade (the grader "
                                              "ran out of memory reading it)") from None
    except (ValueError, SyntaxError, RecursionError, evidence.EvidenceError) as error:
        raise KernelValueError("KernelError", f"the answer could not be read: {error}") \
            from None
