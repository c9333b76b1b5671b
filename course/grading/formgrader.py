"""``python -m course formgrader``: JupyterLab on nbgrader's formgrader page.

nbgrader 0.9 has no ``nbgrader formgrader`` command (it prints the list of
subcommands and exits 0); the formgrader is a page of the Jupyter server,
``/formgrader``, also reached from JupyterLab's menu Nbgrader → Formgrader.
This starts JupyterLab in the course root with that page as its start page.
The port is chosen here (the first free one from ``--port``) and the server
is told not to move, so the address printed is the one it has.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from course.grading.coursedir import GradingError, course_root, nbgrader_env

FORMGRADER_PATH = "/formgrader"
PORT_TRIES = 50


@dataclass
class ServerOptions:
    """What ``python -m course formgrader`` passes to JupyterLab."""

    port: int = 8888
    ip: str = "localhost"
    no_browser: bool = False
    allow_root: bool = False


def free_port(ip: str, first: int, tries: int = PORT_TRIES) -> int:
    """Return the first port from ``first`` on that nothing listens on at ``ip``."""
    host = "" if ip in ("*", "0.0.0.0") else ip
    for port in range(first, first + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise GradingError(f"no free port from {first} to {first + tries - 1} on {ip}: "
                       "pass another --port.")


def formgrader_command(port: int, options: ServerOptions | None = None) -> list[str]:
    """Return the command that starts JupyterLab on the formgrader page, on ``port`` only."""
    options = options or ServerOptions(port)
    command = [sys.executable, "-m", "jupyter", "lab", f"--port={port}",
               f"--LabApp.default_url={FORMGRADER_PATH}", "--ServerApp.port_retries=0"]
    if options.ip != "localhost":
        command.append(f"--ip={options.ip}")
    command += ["--no-browser"] * options.no_browser + ["--allow-root"] * options.allow_root
    return command


def open_formgrader(course_dir: Path, port: int = 8888, dry_run: bool = False,
                    options: ServerOptions | None = None) -> int:
    """Start JupyterLab on the formgrader in the course root; return its exit status."""
    root = course_root(course_dir)
    options = options or ServerOptions(port)
    real = free_port(options.ip, port)
    moved = f" (port {port} is taken)" if real != port else ""
    command = formgrader_command(real, options)
    host = "localhost" if options.ip in ("localhost", "*", "0.0.0.0") else options.ip
    print(f"in {root}: {' '.join(command[2:])}\nthe formgrader is at "
          f"http://{host}:{real}{FORMGRADER_PATH}{moved} (JupyterLab: menu Nbgrader → "
          "Formgrader; the server prints its token); stop it with Ctrl-C", flush=True)
    if dry_run:
        return 0
    return subprocess.run(command, cwd=root, env=nbgrader_env(), check=False).returncode
