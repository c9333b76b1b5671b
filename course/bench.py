"""Benchmark: execute every notebook and compare time and memory with the budgets."""

from __future__ import annotations

from pathlib import Path

from course.layout import run_nbgrader, scratch_course
from course.notebook import module_notebooks
from course.notebook_run import RunResult, run_notebook

NOTEBOOK_SECONDS = 20.0
NOTEBOOK_MB = 500.0
COURSE_SECONDS = 120.0


def find_notebooks(root: Path, folder: str) -> list[Path]:
    """Return ``root/folder/<id>/<id>.ipynb`` for every module, in course order."""
    return list(module_notebooks(root / folder).values())


def _row(result: RunResult, root: Path) -> str:
    over = []
    if result.seconds > NOTEBOOK_SECONDS:
        over.append("time")
    if result.peak_mb is not None and result.peak_mb > NOTEBOOK_MB:
        over.append("memory")
    peak = f"{result.peak_mb:7.0f}" if result.peak_mb is not None else "      ?"
    verdict = "OVER BUDGET: " + ", ".join(over) if over else "ok"
    name = result.path.relative_to(root).as_posix()
    return f"{name:<48} {result.seconds:7.1f} {peak}   {verdict}"


def bench(root: Path, folder: str = "notebooks") -> list[RunResult]:
    """Run the notebooks in ``folder`` one by one, printing a table as they finish."""
    print(f"{'notebook':<48} {'seconds':>7} {'peak MB':>7}   "
          f"(budget {NOTEBOOK_SECONDS:.0f} s, {NOTEBOOK_MB:.0f} MB each)")
    results = []
    for path in find_notebooks(root, folder):
        result = run_notebook(path)
        results.append(result)
        print(_row(result, root), flush=True)
    total = sum(r.seconds for r in results)
    verdict = "ok" if total <= COURSE_SECONDS else "OVER BUDGET"
    print(f"{'whole course (' + folder + ')':<48} {total:7.1f}           "
          f"(budget {COURSE_SECONDS:.0f} s) {verdict}")
    return results


def bench_autograde(root: Path, notebook_seconds: dict[str, float]) -> dict[str, float]:
    """Time ``nbgrader autograde`` of each module's solution in a scratch course directory.

    ``notebook_seconds`` maps module ids to their own execution time; the
    budget is twice that.
    """
    import shutil
    import tempfile
    import time

    print(f"{'autograde of one submission':<48} {'seconds':>7} {'x run':>7}   (budget 2x)")
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        course = scratch_course(root, sorted(notebook_seconds), Path(tmp))
        for module in sorted(notebook_seconds):
            run_nbgrader(["generate_assignment", module, "--force"], course, check=True)
            submitted = course / "submitted" / "bench" / module
            submitted.mkdir(parents=True)
            shutil.copy(root / "solutions" / module / f"{module}.ipynb", submitted)
            start = time.perf_counter()
            run_nbgrader(["autograde", module], course, check=True)
            timings[module] = time.perf_counter() - start
            ratio = timings[module] / notebook_seconds[module]
            verdict = "ok" if ratio <= 2 else "OVER BUDGET"
            print(f"{module:<48} {timings[module]:7.1f} {ratio:7.1f}   {verdict}", flush=True)
    return timings
