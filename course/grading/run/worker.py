"""A grading worker process: its own scratch course directory, one student at a time.

Each worker copies a template course (the config, the assignment's source and
a copy of the gradebook) into its own folder, so workers never share a SQLite
file; it autogrades and writes feedback with nbgrader's Python API and returns
plain data for the main process to merge into the real gradebook.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.grading.run.sandbox import DEFAULT_DISK_MB, DEFAULT_MEMORY_MB

_STATE: dict[str, Any] = {}


@dataclass
class WorkerResult:
    """What grading one student produced, as plain data for the main process."""

    student: str
    success: bool
    error: str = ""
    log: str = ""
    feedback_error: str = ""
    scores: dict[str, Any] = field(default_factory=dict)
    autograded: str = ""
    feedback: str = ""
    seconds: float = 0.0


def _quiet(folder: Path) -> None:
    """Send this process's (and its kernels') stdout and stderr to ``worker.log``."""
    log = os.open(folder / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS")


def share_cores(threads: int) -> None:
    """Let each kernel's numerical libraries use ``threads`` threads, not every core."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(max(1, threads)))


@dataclass(frozen=True)
class Settings:
    """How each worker grades: limits per cell and per submission, sandbox, threads."""

    timeout: int | None = None
    memory_mb: int = DEFAULT_MEMORY_MB
    sandboxed: bool = True
    submission_timeout: int = 0
    threads: int = 0
    disk_mb: int = DEFAULT_DISK_MB


def stop(signum: int, frame: Any = None) -> None:
    """Remove this worker's sandboxes and scratch course, then exit (on SIGTERM)."""
    from course.grading.run import sandbox

    sandbox.clean_up()
    if "scratch" in _STATE:
        shutil.rmtree(_STATE["scratch"], ignore_errors=True)
    os._exit(128 + signum)


def _die_with_parent() -> None:
    """Ask Linux to send this worker SIGTERM when the grading process dies (even killed)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown still stops it
        pass


def start(template: str, settings: Settings) -> None:
    """Initialise a worker: copy the template course and open nbgrader's API on it.

    ``settings.threads`` (if not 0) caps the threads of NumPy's BLAS in the
    kernels, so that workers side by side do not oversubscribe the cores. The
    worker ignores Ctrl-C (the grading process stops it) and cleans up on SIGTERM.
    """
    from course.grading.coursedir import make_api
    from course.grading.run.settings import grading_config

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop)
    _die_with_parent()
    if settings.threads:
        share_cores(settings.threads)
    scratch = Path(tempfile.mkdtemp(prefix="worker-", dir=Path(template).parent))
    shutil.copytree(template, scratch, dirs_exist_ok=True)
    _quiet(scratch)
    config = grading_config(scratch, settings.timeout, settings.memory_mb, settings.sandboxed,
                            settings.submission_timeout, settings.disk_mb)
    _STATE.update(scratch=scratch, api=make_api(config), db_url=config.CourseDirectory.db_url)


def _submit(assignment: str, student: str, notebook: Path) -> None:
    folder = _STATE["scratch"] / "submitted" / student / assignment
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(notebook.parent, folder)


def _output(step: str, assignment: str, student: str) -> str:
    coursedir = _STATE["api"].coursedir
    folder = Path(coursedir.format_path(getattr(coursedir, f"{step}_directory"), student,
                                        assignment))
    return str(folder) if folder.is_dir() else ""


def grade(assignment: str, student: str, notebook: str) -> WorkerResult:
    """Autograde one student's submission and write its feedback; return the results."""
    from course.grading.records.gradebook import read_scores

    signal.signal(signal.SIGTERM, stop)  # again: nbclient resets it after each notebook
    api, began = _STATE["api"], time.perf_counter()
    _submit(assignment, student, Path(notebook))
    graded = api.autograde(assignment, student, force=True, create=True)
    feedback: dict[str, Any] = {}
    if graded.get("success"):
        feedback = api.generate_feedback(assignment, student, force=True)
    return WorkerResult(
        student=student,
        success=bool(graded.get("success")),
        log=graded.get("log", ""),
        error=graded.get("error", ""),
        feedback_error="" if feedback.get("success", True) else feedback.get("error", ""),
        scores=read_scores(_STATE["db_url"], assignment, student),
        autograded=_output("autograded", assignment, student),
        feedback=_output("feedback", assignment, student),
        seconds=time.perf_counter() - began,
    )
