"""The Binder configuration, checked with repo2docker itself and by running postBuild and start.

mybinder.org builds the repository with repo2docker: environment.yml (conda, Python
3.11, the pinned packages), then ``postBuild``, and starts every container through
``start``. ``jupyter-repo2docker --no-build`` renders the Dockerfile it would build
without needing Docker; ``postBuild`` runs for real in a throw-away prefix
(tests/browser/learner_env.py), so this environment's Jupyter config is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from browser.learner_env import config_fingerprint, make_learner_env
from nbtools import ROOT

ANSI = re.compile(r"\x1b\[[0-9;]*m")
INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list"]
LEARNER_PLUGINS = ["@jupyter/nbgrader:validate-assignment", "@jupyter/nbgrader:assignment-list",
                   "@jupyter/nbgrader:menu"]
INSTRUCTOR_SERVER = ["nbgrader.server_extensions.formgrader",
                     "nbgrader.server_extensions.course_list"]
LEARNER_SERVER = ["nbgrader.server_extensions.validate_assignment",
                  "nbgrader.server_extensions.assignment_list"]


def repo2docker_command() -> list[str]:
    here = Path(sys.executable).parent / "jupyter-repo2docker"
    if here.exists():
        return [str(here)]
    found = shutil.which("jupyter-repo2docker")
    if found:
        return [found]
    pytest.skip("jupyter-repo2docker is not installed (it is a test extra: `python3 run.py test`)")


@pytest.fixture(scope="module")
def repo2docker_debug() -> str:
    """What `jupyter-repo2docker --no-build --debug .` prints for this repository."""
    result = subprocess.run([*repo2docker_command(), "--no-build", "--debug", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    if result.returncode != 0 and "docker" in output.lower() and "Dockerfile" not in output:
        pytest.skip(f"repo2docker cannot run here: {output.strip().splitlines()[-1]}")
    assert result.returncode == 0, output
    return output


def test_repo2docker_picks_the_conda_buildpack_with_python_311(repo2docker_debug):
    out = repo2docker_debug
    # CondaBuildPack announces the Python it found in environment.yml ...
    assert "Building conda environment for python=3.11" in out, out[-3000:]
    # ... and its Dockerfile installs the base environment from its own 3.11 lock file
    # (names escaped by repo2docker), then environment.yml into the notebook env.
    escaped = "buildpacks-2fconda-2fenvironment-2epy-2d3-2e11-2dlinux-2d64-2elock"
    assert escaped in out, "the conda base environment is not the Python 3.11 one"
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "environment.yml"' in out
    # No other environment file competes with environment.yml.
    for other in ("requirements.txt", "Pipfile", "setup.py", "apt.txt", "install.R",
                  "Project.toml", "default.nix", "Dockerfile"):
        assert not (ROOT / other).exists() and not (ROOT / "binder" / other).exists(), other


def test_repo2docker_runs_postbuild_and_starts_through_start(repo2docker_debug):
    out = repo2docker_debug
    dockerfile = out[out.index("FROM "):]
    # postBuild runs as the notebook user, after the repository is copied in ...
    tail = dockerfile[-2000:]
    assert re.search(r"USER \$\{NB_USER\}\n(.*\n)*?RUN ./postBuild\n", dockerfile), tail
    copied = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    assert copied < dockerfile.index("RUN ./postBuild"), tail
    # ... and every container starts through start.
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/start"' in dockerfile, tail


def test_repo2docker_api_detects_condabuildpack(monkeypatch):
    """The same detection through repo2docker's Python API, by class name."""
    repo2docker_command()
    from repo2docker.app import Repo2Docker

    monkeypatch.chdir(ROOT)
    app = Repo2Docker()
    picked = next(bp for bp in (cls(base_image=app.base_image) for cls in app.buildpacks)
                  if bp.detect())
    assert type(picked).__name__ == "CondaBuildPack"
    assert picked.python_version == "3.11"
    assert picked.get_post_build_scripts() == ["postBuild"]
    assert picked.get_start_script() == "${REPO_DIR}/start"


def test_environment_yml_is_what_binder_needs():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert conda == ["python=3.11", "pip"], "keep the image small: only Python and pip from conda"


def test_scripts_are_executable_bash_that_stops_at_the_first_error():
    for name in ("postBuild", "start"):
        path = ROOT / name
        assert os.access(path, os.X_OK), f"{name} is not executable (git update-index --chmod=+x)"
        text = path.read_text()
        assert text.startswith("#!/bin/bash\n"), name
        assert "\r" not in text, f"{name} has Windows line ends"
    assert "set -euo pipefail" in (ROOT / "postBuild").read_text()
    check = subprocess.run(["bash", "-n", "postBuild", "start"], cwd=ROOT, capture_output=True)
    assert check.returncode == 0, check.stderr


@pytest.fixture(scope="module")
def learner(tmp_path_factory):
    before = config_fingerprint()
    env = make_learner_env(tmp_path_factory.mktemp("binder"))
    assert config_fingerprint() == before, "postBuild changed the test environment's config"
    return env


def test_postbuild_succeeds_and_installs_the_course_without_dependencies(learner):
    assert learner.postbuild.returncode == 0, learner.postbuild.stdout + learner.postbuild.stderr
    installs = learner.pip_log.read_text().splitlines()
    assert len(installs) == 1, installs
    words = installs[0].split()
    assert words[0] == "install" and "--no-deps" in words and words[-2:] == ["-e", "."], words


def test_postbuild_switches_off_the_instructor_plugins_and_locks_them(learner):
    result = learner.run("jupyter", "labextension", "list")
    out = ANSI.sub("", result.stdout + result.stderr)
    disabled = out.split("Disabled extensions:", 1)[1] if "Disabled extensions:" in out else ""
    for plugin in INSTRUCTOR_PLUGINS:
        assert plugin in disabled, out
        assert plugin in out.split("Disabled extensions:")[0] and "locked" in out, out
    for plugin in LEARNER_PLUGINS:
        assert plugin not in out, out
    assert re.search(r"@jupyter/nbgrader v0\.9\.6 enabled\s+OK", out), out
    # The names must be real plugin ids: a misspelt name is "disabled" without effect.
    bundle = learner.prefix / "share/jupyter/labextensions/@jupyter/nbgrader/static"
    code = "".join(p.read_text(errors="replace") for p in bundle.glob("*.js"))
    for plugin in INSTRUCTOR_PLUGINS + LEARNER_PLUGINS:
        assert f'"{plugin}"' in code, f"{plugin} is not a plugin of the installed nbgrader"


def test_postbuild_disables_the_instructor_server_extensions_only(learner):
    result = learner.run("jupyter", "server", "extension", "list")
    out = ANSI.sub("", result.stdout + result.stderr)
    state = dict(re.findall(r"^\s*(nbgrader\.server_extensions\.\w+) (enabled|disabled)$", out,
                            re.M))
    assert state == {**dict.fromkeys(INSTRUCTOR_SERVER, "disabled"),
                     **dict.fromkeys(LEARNER_SERVER, "enabled")}, out


def test_start_limits_numerical_threads_and_execs_the_command():
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    shown = subprocess.run([str(ROOT / "start"), "env"], env=env, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        assert f"{name}=2" in shown
    # exec: same process, arguments untouched, exit status passed on.
    result = subprocess.run([str(ROOT / "start"), "bash", "-c", 'echo "$1|$2"; exit 7', "-",
                             "two words", "*"], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (7, "two words|*\n")
    count = ("import numpy, threadpoolctl; "
             "print(max(i['num_threads'] for i in threadpoolctl.threadpool_info()))")
    probe = subprocess.run([str(ROOT / "start"), sys.executable, "-c", count],
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert int(probe.stdout) <= 2, probe.stdout
