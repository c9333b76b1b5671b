"""Grade students in parallel: worker processes, each with its own scratch course.

SQLite takes one writer at a time and nbgrader writes to the gradebook from
every step, so workers never share it: each grades in a copy of the course
(config, the assignment's source, a copy of the gradebook) and returns plain
data; only the main process writes to the real gradebook, one student at a
time, as results arrive.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path

from traitlets.config import Config

from course.grading.run import worker
from course.layout import scratch_course


def default_workers() -> int:
    """Return the number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def db_path(config: Config) -> Path:
    """Return the gradebook file of an ``sqlite:///`` URL."""
    url = str(config.CourseDirectory.db_url)
    if not url.startswith("sqlite:///"):
        raise ValueError(f"parallel grading needs an SQLite gradebook, not {url}")
    return Path(url.removeprefix("sqlite:///"))


def make_template(root: Path, config: Config, assignment: str, base: Path) -> Path:
    """Copy what a worker needs into ``base/template``: config, source, gradebook."""
    template = scratch_course(root, [assignment], base / "template")
    shutil.copy(db_path(config), template / "gradebook.db")
    return template


def _failed(student: str, error: BaseException) -> worker.WorkerResult:
    return worker.WorkerResult(student, False, error=(
        f"the grading worker failed ({type(error).__name__}: {error}); run grade again for "
        "this student"))


#: Seconds a stopped worker has to remove its sandboxes before it is killed.
STOP_SECONDS = 30


def _stop(pool: ProcessPoolExecutor, seconds: float = STOP_SECONDS) -> None:
    """Stop a pool now: cancel what has not started, stop the workers (they clean up).

    Each worker gets SIGTERM and ``seconds`` to remove its sandboxes and exit; one
    still running then is killed (its kernel dies with it: bwrap's --die-with-parent).
    Nothing here waits without a bound, so a stopped grader always exits.
    """
    processes = dict(getattr(pool, "_processes", None) or {})  # pid -> process; private
    pool.shutdown(wait=False, cancel_futures=True)
    for pid in processes:
        try:
            os.kill(pid, signal.SIGTERM)  # worker.stop removes its sandboxes and scratch
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + seconds
    for process in processes.values():
        if process is None:
            continue
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(5)


def _pass(template: Path, assignment: str, jobs: dict[str, Path], workers: int,
          settings: worker.Settings,
          broken: dict[str, Path]) -> Iterator[worker.WorkerResult]:
    """Grade ``jobs`` on one pool; put the students a dead worker took down in ``broken``.

    If grading stops early (the caller stops asking, a signal, an error), the
    workers are stopped at once and remove their sandboxes: nothing waits for
    the students still in the queue.
    """
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=worker.start, initargs=(str(template), settings))
    finished = False
    try:
        futures = {pool.submit(worker.grade, assignment, student, str(path)): student
                   for student, path in sorted(jobs.items())}
        for future in as_completed(futures):
            student = futures[future]
            try:
                yield future.result()
            except BrokenProcessPool:  # a worker died: retried, not blamed on this student
                broken[student] = jobs[student]
            except Exception as error:  # a bug in one student's run
                yield _failed(student, error)
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _stop(pool)


def run(template: Path, assignment: str, jobs: dict[str, Path], workers: int,
        settings: worker.Settings) -> Iterator[worker.WorkerResult]:
    """Grade ``jobs`` (student -> submitted notebook) on ``workers`` processes.

    Yield each student's result as it finishes. If a worker process dies, the
    students it took down are graded again, each in a pool of its own, and a
    student whose second try also dies is reported alone.
    """
    workers = max(1, min(workers, len(jobs)))
    threads = default_workers() // workers if workers > 1 else 0
    settings = replace(settings, threads=threads)
    broken: dict[str, Path] = {}
    yield from _pass(template, assignment, jobs, workers, settings, broken)
    for student, path in sorted(broken.items()):
        again: dict[str, Path] = {}
        yield from _pass(template, assignment, {student: path}, 1, settings, again)
        if again:
            yield _failed(student, RuntimeError("the worker process died twice"))
