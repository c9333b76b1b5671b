"""Shared helpers for the tests: find modules, read grading cells, drive a kernel."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

from course.grading.coursedir import nbgrader_env

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
SOLUTION = re.compile(r"### BEGIN SOLUTION.*?### END SOLUTION\n?", re.S)


def module_ids() -> list[str]:
    """Return the id of every module that has a solution notebook."""
    return sorted(p.parent.name for p in ROOT.glob("solutions/*/*.ipynb")
                  if p.stem == p.parent.name)


def solution_path(module: str) -> Path:
    return ROOT / "solutions" / module / f"{module}.ipynb"


def release_path(module: str) -> Path:
    return ROOT / "notebooks" / module / f"{module}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def grading(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell: nbformat.NotebookNode) -> bool:
    """An autograded test cell: a graded code cell that is not a solution."""
    meta = grading(cell)
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def is_answer_cell(cell: nbformat.NotebookNode) -> bool:
    meta = grading(cell)
    return cell.cell_type == "code" and meta.get("solution") and not meta.get("grade")


def visible_part(source: str) -> str:
    """The test cell as a learner sees it: hidden tests removed."""
    return HIDDEN.sub("", source)


def course_env() -> dict[str, str]:
    """Environment for nbgrader subprocesses: this Python's bin first (nbgrader runs alembic)."""
    return nbgrader_env()


def nbgrader(*args: str, cwd: Path, check: bool = True,
             timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run the nbgrader command line in course directory ``cwd``."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(cmd, cwd=cwd, env=course_env(), capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def make_course(tmp: Path, modules: list[str]) -> Path:
    """A scratch course directory with the config and the given modules' sources."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
    for module in modules:
        shutil.copytree(ROOT / "solutions" / module, tmp / "solutions" / module,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return tmp


@dataclass
class Reply:
    ok: bool
    error: str
    stdout: str
    stderr: str
    result: str


class Kernel:
    """A live Python kernel that runs code and reports whether it raised."""

    def __init__(self, cwd: Path) -> None:
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd))

    def run(self, code: str, timeout: float = 120) -> Reply:
        out: dict[str, list[str]] = {"stdout": [], "stderr": [], "error": [], "result": []}

        def hook(msg: dict) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out[content["name"]].append(content["text"])
            elif kind == "execute_result":
                out["result"].append(content["data"].get("text/plain", ""))
            elif kind == "error":
                out["error"].append(f"{content['ename']}: {content['evalue']}")

        reply = self.client.execute_interactive(code, output_hook=hook, timeout=timeout,
                                                store_history=False)
        ok = reply["content"]["status"] == "ok"
        text = {key: "".join(parts) for key, parts in out.items()}
        return Reply(ok, text["error"], text["stdout"], text["stderr"], text["result"])

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
