"""06_monitoring's timing exercises keep their grade on a busy machine.

Exercises 12-14 time models on whatever computer runs the notebook: Binder's two shared
cores, a laptop, a grading server busy with other submissions. Their grades must not
depend on that. This test keeps two cores busy with two spinning processes, runs the
solution in a kernel up to and including the last timing exercise's test cell, then runs
the timing section (from its first stopwatch reading) twice more, and requires every test
cell it ran to pass on every pass.
"""

import multiprocessing
import time

import pytest
from nbtools import Kernel, grading, is_test_cell, read, solution_path

pytestmark = pytest.mark.slow
MODULE = "06_monitoring"
TIMED = ("lr_ms_per_form_test", "forest_cost_per_1000_test", "live_choice_test")
BUSY_PROCESSES = 2
PASSES = 3
SPIN_SECONDS = 300  # a spinner stops by itself even if this test dies without its finally


def _spin(seconds: float) -> None:
    """Keep one core busy for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def _cells():
    """The solution's code cells up to the last timing test, and where the timing section starts."""
    cells = [c for c in read(solution_path(MODULE)).cells if c.cell_type == "code"]
    ids = [grading(c).get("grade_id", "") for c in cells]
    missing = sorted(set(TIMED) - set(ids))
    assert not missing, f"{MODULE} lost a timing exercise: {missing}"
    last = max(ids.index(name) for name in TIMED)
    first = next(i for i, c in enumerate(cells) if "time.perf_counter()" in c.source)
    assert first < min(ids.index(name) for name in TIMED)
    return cells[:last + 1], first


def _run(kernel, cells, label):
    """Run cells; return what failed (test cells and any other cell) and the test cells run."""
    failed, seen = [], []
    for cell in cells:
        reply = kernel.run(cell.source, timeout=120)
        name = grading(cell).get("grade_id", "")
        if is_test_cell(cell):
            seen.append(name)
            if not reply.ok:
                failed.append(f"{label}: {name} failed: {reply.error}")
        elif not reply.ok:
            failed.append(f"{label}: a cell raised {reply.error}:\n{cell.source[:200]}")
    return failed, seen


def test_timing_exercises_pass_on_a_busy_machine():
    cells, first_timed = _cells()
    context = multiprocessing.get_context("fork")
    spinners = [context.Process(target=_spin, args=(SPIN_SECONDS,), daemon=True)
                for _ in range(BUSY_PROCESSES)]
    problems = []
    try:
        for spinner in spinners:
            spinner.start()
        with Kernel(solution_path(MODULE).parent) as kernel:
            for number in range(1, PASSES + 1):
                run = cells if number == 1 else cells[first_timed:]
                failed, seen = _run(kernel, run, f"pass {number}")
                assert set(TIMED) <= set(seen)
                problems += failed
    finally:
        for spinner in spinners:
            spinner.terminate()
        for spinner in spinners:
            spinner.join(timeout=10)
            if spinner.is_alive():
                spinner.kill()
    assert all(not s.is_alive() for s in spinners)
    assert not problems, "\n".join(problems)
