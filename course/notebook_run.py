"""Execute a notebook in a fresh kernel, timing it and measuring the kernel's peak memory."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course.notebook import error_outputs, read


@dataclass
class RunResult:
    """What happened when a notebook ran top to bottom."""

    path: Path
    seconds: float
    peak_mb: float | None
    errors: dict[int, str] = field(default_factory=dict)
    notebook: nbformat.NotebookNode | None = None


def _peak_rss_mb(pid: int | None) -> float | None:
    """Return the high-water mark of resident memory (VmHWM) of process ``pid``, in MB."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _error_of(cell: nbformat.NotebookNode) -> str | None:
    for output in error_outputs(cell):
        return f"{output.get('ename')}: {output.get('evalue')}"
    return None


def run_notebook(path: Path, timeout: int = 600) -> RunResult:
    """Run every cell of ``path`` in a new kernel (errors recorded, not raised)."""
    nb = read(path)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    with client.setup_kernel():
        pid = getattr(client.km.provisioner, "pid", None)
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        peak = _peak_rss_mb(pid)
    seconds = time.perf_counter() - start
    errors = {i: e for i, c in enumerate(nb.cells) if (e := _error_of(c))}
    return RunResult(path, seconds, peak, errors, nb)
