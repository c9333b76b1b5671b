"""A learner's Jupyter environment as Binder builds it, made here without Docker.

Binder installs environment.yml into a conda prefix, runs ``postBuild`` (which installs
the course), and starts every process through ``start``, which puts learner-config/ (no
instructor tools, no news pop-up) first on JUPYTER_CONFIG_PATH. To run the real
``postBuild`` without changing the environment the tests run in, we make a
throw-away prefix that sees this environment's packages (a ``.pth`` file) and carries a
copy of its Jupyter config (``etc/jupyter``); its ``bin/`` holds this environment's
scripts pointed at the new prefix's Python, and a ``pip`` that only records what
``postBuild`` asked it to install (the course package is already installed here).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE = Path(sys.prefix)

# What the learner's file browser shows: the repository as committed or about to be,
# without generated state. Used when git cannot list the files.
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
    ".ipynb_checkpoints", "test-artifacts", "bench-results", "gradebook.db*", "submitted",
    "autograded", "feedback", "release", "source", "exchange",
)


# What jupyter_server itself enables, found as ServerApp finds it: its config files
# (jupyter_server_config.py and .json) on the config path, then every extension's JSON
# (find_server_extensions), which cannot switch on what a config file switched off.
ENABLED = ("import json; from jupyter_server.serverapp import ServerApp; app = ServerApp(); "
           "app.load_config_file(suppress_errors=False); app.find_server_extensions(); "
           "print(json.dumps({k: v for k, v in app.jpserver_extensions.items() "
           "if k.startswith('nbgrader')}))")


@dataclass
class LearnerEnv:
    """A prefix configured by ``postBuild`` and the environment to run Jupyter in it."""

    prefix: Path
    home: Path
    env: dict[str, str]
    pip_log: Path
    postbuild: subprocess.CompletedProcess

    def run(self, *args: str, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a command of the prefix (``jupyter ...``) through ``start``, as Binder does."""
        return subprocess.run([str(ROOT / "start"), *args], cwd=cwd or ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)


def server_extensions(run: Callable[..., subprocess.CompletedProcess]) -> dict[str, bool]:
    """nbgrader's server extensions and whether a server started with ``run`` loads them."""
    result = run(sys.executable, "-c", ENABLED)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def config_fingerprint(prefix: Path = BASE) -> dict[str, str]:
    """SHA-256 of every Jupyter config file of ``prefix``: proof that it was left alone."""
    digests = {}
    for folder in (prefix / "etc" / "jupyter", prefix / "share" / "jupyter" / "lab" / "settings"):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file():
                digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _relink_scripts(prefix: Path) -> None:
    """Copy this environment's console scripts into ``prefix/bin``, run by its Python."""
    python = prefix / "bin" / "python"
    for script in sorted((BASE / "bin").iterdir()):
        target = prefix / "bin" / script.name
        if target.exists() or not script.is_file():
            continue
        try:
            first, rest = script.read_bytes().split(b"\n", 1)
        except ValueError:
            continue
        if first.startswith(b"#!") and first[2:].strip().startswith(str(BASE).encode()):
            target.write_bytes(b"#!" + str(python).encode() + b"\n" + rest)
            target.chmod(0o755)


def make_learner_env(tmp: Path) -> LearnerEnv:
    """Build the prefix under ``tmp`` and run the repository's ``postBuild`` in it."""
    prefix, home = tmp / "prefix", tmp / "home"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True,
                   capture_output=True)
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(subprocess.run([str(prefix / "bin" / "python"), "-c", where], check=True,
                                  capture_output=True, text=True).stdout.strip())
    # addsitedir also runs this environment's .pth files (the editable `course` install).
    lines = [f"import site; site.addsitedir({p!r})" for p in site.getsitepackages()]
    (purelib / "_course_learner_env.pth").write_text("\n".join(lines) + "\n")
    if (BASE / "etc" / "jupyter").is_dir():
        shutil.copytree(BASE / "etc" / "jupyter", prefix / "etc" / "jupyter")
    (prefix / "share").mkdir(exist_ok=True)
    (prefix / "share" / "jupyter").symlink_to(BASE / "share" / "jupyter")
    _relink_scripts(prefix)
    pip_log = tmp / "pip.log"
    pip = prefix / "bin" / "pip"
    pip.unlink(missing_ok=True)
    pip.write_text(f'#!/bin/sh\necho "$*" >> "{pip_log}"\n')
    pip.chmod(0o755)

    for sub in ("config", "data", "runtime"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    keep_path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
                 if p and Path(p).resolve() != (BASE / "bin").resolve()]
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
           and not k.startswith(("JUPYTER", "OMP_", "OPENBLAS_", "MKL_"))}
    env.update(
        PATH=os.pathsep.join([str(prefix / "bin"), *keep_path]),
        VIRTUAL_ENV=str(prefix),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        PYTHONNOUSERSITE="1",
    )
    postbuild = subprocess.run([str(ROOT / "postBuild")], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=300)
    return LearnerEnv(prefix, home, env, pip_log, postbuild)


def copy_repository(dest: Path) -> Path:
    """Copy the repository's current files (tracked, or new and not ignored) to ``dest``.

    JupyterLab serves the copy: running and validating a notebook saves it, and the
    tests must not write outputs into the committed notebooks.
    """
    listing = None
    if (ROOT / ".git").exists() and shutil.which("git"):
        result = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], cwd=ROOT, capture_output=True)
        if result.returncode == 0:
            listing = [name for name in result.stdout.decode().split("\0") if name]
    if listing is None:
        shutil.copytree(ROOT, dest, ignore=IGNORED, symlinks=True)
        return dest
    for name in listing:
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest
