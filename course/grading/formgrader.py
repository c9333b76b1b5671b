"""``python -m course formgrader``: JupyterLab on nbgrader's formgrader page.

nbgrader 0.9 has no ``nbgrader formgrader`` command (it prints the list of
subcommands and exits 0); the formgrader is a page of the Jupyter server,
``/formgrader``, also reached from JupyterLab's menu Nbgrader → Formgrader.
This starts JupyterLab in the course root with that page as its start page.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from course.grading.coursedir import course_root, nbgrader_env

FORMGRADER_PATH = "/formgrader"


def formgrader_command(port: int) -> list[str]:
    """Return the command that starts JupyterLab on the formgrader page."""
    return [sys.executable, "-m", "jupyter", "lab", f"--port={port}",
            f"--LabApp.default_url={FORMGRADER_PATH}"]


def open_formgrader(course_dir: Path, port: int = 8888, dry_run: bool = False) -> int:
    """Start JupyterLab on the formgrader in the course root; return its exit status."""
    root = course_root(course_dir)
    command = formgrader_command(port)
    print(f"in {root}: {' '.join(command[2:])}\nthe formgrader is at "
          f"http://localhost:{port}{FORMGRADER_PATH} (JupyterLab: menu Nbgrader → Formgrader); "
          "stop it with Ctrl-C", flush=True)
    if dry_run:
        return 0
    return subprocess.run(command, cwd=root, env=nbgrader_env(), check=False).returncode
