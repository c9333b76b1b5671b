"""A fresh clone of the course as a learner has it after `python3 run.py lab` installed it.

The copy holds the repository's current files (``copy_repository``) and a ``.venv`` that
run.py finds already installed: a prefix that sees the test environment's packages (as
``make_learner_env`` builds it) with run.py's own record of a finished install, so
``python3 run.py ...`` runs exactly as printed, without pip and without a network. The
install itself is what ``python3 run.py test`` does on CI's fresh clone.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .learner_env import copy_repository, make_learner_env


@dataclass
class Clone:
    """A course folder whose ``python3 run.py`` needs no install, and its environment."""

    root: Path
    env: dict[str, str]

    def python3(self) -> str:
        """The ``python3`` a learner's shell finds (Python 3.11, as run.py requires)."""
        found = shutil.which("python3", path=self.env["PATH"])
        assert found, f"no python3 on {self.env['PATH']}"
        return found


def load_run_py(root: Path):
    """Import ``root``'s run.py as a module."""
    spec = importlib.util.spec_from_file_location(f"run_{abs(hash(root))}", root / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fresh_clone(tmp: Path) -> Clone:
    """Copy the repository to ``tmp/course`` with a ready ``.venv``; return it."""
    learner = make_learner_env(tmp / "env")
    assert learner.postbuild.returncode == 0, learner.postbuild.stderr
    root = copy_repository(tmp / "course")
    (root / ".venv").symlink_to(learner.prefix, target_is_directory=True)
    load_run_py(root).mark_installed("")
    env = dict(learner.env)
    env.pop("VIRTUAL_ENV", None)  # a learner's shell, not an activated environment
    env["PYTHONNOUSERSITE"] = "1"
    assert os.access(root / ".venv" / "bin" / "python", os.X_OK)
    return Clone(root, env)
