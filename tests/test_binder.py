"""The Binder configuration, checked with repo2docker itself and by running postBuild and start.

mybinder.org builds the repository with repo2docker: environment.yml (conda, Python
3.11, the pinned packages), then ``postBuild``, and starts every container through
``start``. ``jupyter-repo2docker --no-build`` renders the Dockerfile it would build
without needing Docker; ``postBuild`` runs for real in a throw-away prefix
(tests/browser/learner_env.py), so this environment's Jupyter config is never touched.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from browser.learner_env import config_fingerprint, make_learner_env, server_extensions
from nbtools import ROOT, module_ids

from course.errors import AuthorError
from course.publish import find_links, publish, repository_name

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LEARNER_CONFIG = ROOT / "learner-config"
# Hidden from learners: the instructor tools, and the assignment list and its menu (no
# exchange locally or on Binder). The Validate button stays.
HIDDEN_PLUGINS = ["@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:course-list",
                  "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
                  "@jupyter/nbgrader:menu"]
INSTRUCTOR_SERVER = ["nbgrader.server_extensions.assignment_list",
                     "nbgrader.server_extensions.course_list",
                     "nbgrader.server_extensions.formgrader"]
LEARNER_SERVER = ["nbgrader.server_extensions.validate_assignment"]


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


def test_postbuild_leaves_the_jupyter_config_alone(learner):
    """The learner configuration lives in learner-config/ only: postBuild writes none."""
    def relative(prefix: Path) -> dict[str, str]:
        return {str(Path(k).relative_to(prefix)): v
                for k, v in config_fingerprint(prefix).items() if "/etc/" in k}

    assert relative(learner.prefix) == relative(Path(sys.prefix))
    commands = [line for line in (ROOT / "postBuild").read_text().splitlines()
                if line.strip() and not line.startswith(("#", "set "))]
    assert commands == ["pip install --no-cache-dir --no-deps -e ."], commands


def test_start_switches_off_the_instructor_plugins_and_locks_them(learner):
    result = learner.run("jupyter", "labextension", "list")
    out = ANSI.sub("", result.stdout + result.stderr)
    disabled = out.split("Disabled extensions:", 1)[1] if "Disabled extensions:" in out else ""
    for plugin in HIDDEN_PLUGINS:
        assert plugin in disabled, out
    locked = re.search(r"@jupyter/nbgrader v0\.9\.6 enabled\s+OK 🔒 \(plugins: ([^)]*) locked\)",
                       out)
    assert locked and sorted(locked.group(1).split(", ")) == sorted(HIDDEN_PLUGINS), out
    assert "@jupyter/nbgrader:validate-assignment" not in out, out
    # The names must be real plugin ids: a misspelt name is "disabled" without effect.
    bundle = learner.prefix / "share/jupyter/labextensions/@jupyter/nbgrader/static"
    code = "".join(p.read_text(errors="replace") for p in bundle.glob("*.js"))
    for plugin in HIDDEN_PLUGINS + ["@jupyter/nbgrader:validate-assignment"]:
        assert f'"{plugin}"' in code, f"{plugin} is not a plugin of the installed nbgrader"


def test_start_disables_the_instructor_server_extensions_only(learner):
    # Validate's route is served by course.validate_server: nbgrader's validation, with its
    # report rewritten for learners (tests/test_browser_first_hour.py opens the dialog).
    assert server_extensions(learner.run) == {**dict.fromkeys(INSTRUCTOR_SERVER, False),
                                              **dict.fromkeys(LEARNER_SERVER, False)}


def test_without_the_learner_config_every_nbgrader_tool_is_on(learner):
    """The test of the tests above: the environment itself enables all of nbgrader."""
    plain = dict(learner.env)
    state = server_extensions(lambda *args: subprocess.run(
        args, cwd=ROOT, env=plain, capture_output=True, text=True, timeout=120))
    assert state == dict.fromkeys(INSTRUCTOR_SERVER + LEARNER_SERVER, True)


def test_the_news_pop_up_is_off(learner):
    probe = ("import json; from jupyterlab_server.settings_utils import _get_overrides; "
             "print(json.dumps(_get_overrides('/nonexistent')[0]))")
    result = learner.run(sys.executable, "-c", probe)
    assert result.returncode == 0, result.stderr
    notes = json.loads(result.stdout).get("@jupyterlab/apputils-extension:notification", {})
    assert notes == {"fetchNews": "false", "checkForUpdates": False}, result.stdout


@pytest.fixture(scope="module")
def run():
    """The repository's run.py, imported as a module."""
    spec = importlib.util.spec_from_file_location("run", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_py_lab_and_binder_read_one_learner_config(learner, run):
    """`python3 run.py lab` and Binder's `start` put the same folder first on the path."""
    shown = learner.run("bash", "-c", 'echo "$JUPYTER_CONFIG_PATH"').stdout.strip()
    assert shown.split(os.pathsep)[0] == str(run.LEARNER_CONFIG) == str(LEARNER_CONFIG)
    env = run.lab_environment({"JUPYTER_CONFIG_PATH": "/elsewhere"})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(LEARNER_CONFIG), "/elsewhere"]
    assert "JUPYTER_CONFIG_PATH" not in run.lab_environment({}, instructor=True)
    local = server_extensions(lambda *args: subprocess.run(
        args, cwd=ROOT, env=run.lab_environment(dict(learner.env)), capture_output=True,
        text=True, timeout=120))
    assert local == server_extensions(learner.run)


def test_run_py_lab_instructor_flag_is_documented_and_kept_from_jupyter(monkeypatch, run):
    calls = []
    monkeypatch.setattr(run, "install", lambda extras: Path("python"))
    monkeypatch.setattr(run.subprocess, "run", lambda *a, **k: calls.append(("run", a, k)))
    monkeypatch.setattr(run.subprocess, "call",
                        lambda *a, **k: calls.append(("call", a, k)) or 0)
    assert run.main(["lab", "--instructor", "--port=9999"]) == 0
    command, env = calls[-1][1][0], calls[-1][2]["env"]
    assert "--instructor" not in command and "--port=9999" in command
    assert str(LEARNER_CONFIG) not in env.get("JUPYTER_CONFIG_PATH", "")
    assert run.main(["lab"]) == 0
    assert calls[-1][2]["env"]["JUPYTER_CONFIG_PATH"].startswith(str(LEARNER_CONFIG))
    assert "--instructor" in run.__doc__ and "run.py lab --instructor" in (
        ROOT / "README.md").read_text()


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


# --- Binder links: `python -m course publish` ------------------------------------------

def test_binder_links_open_existing_notebooks_and_agree():
    links = find_links(ROOT)
    readme = [link for link in links if link.path == ROOT / "README.md"]
    assert {(link.repo, link.ref) for link in links} == {(readme[0].repo, readme[0].ref)}, (
        "the Binder links in README and notebooks point at different repositories: run "
        "`python -m course publish OWNER/REPO`")
    missing = [link for link in links if not (ROOT / link.target).is_file()]
    assert not missing, missing
    launched = {link.target for link in readme}
    assert launched == {f"notebooks/{m}/{m}.ipynb" for m in module_ids()}, launched
    assert readme[0].target == "notebooks/00_welcome/00_welcome.ipynb", "the badge opens 00"


@pytest.fixture
def published_copy(tmp_path):
    """README.md, the releases and a notebook with a Binder link in a markdown cell."""
    shutil.copy2(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    welcome = tmp_path / "notebooks/00_welcome/00_welcome.ipynb"
    notebook = nbformat.read(welcome, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell(
        "[Open on Binder](https://mybinder.org/v2/gh/OWNER/REPO/HEAD"
        "?urlpath=lab/tree/notebooks/00_welcome/00_welcome.ipynb) to share."))
    nbformat.write(notebook, welcome)
    return tmp_path


def test_publish_points_every_link_at_the_repository(published_copy):
    before = find_links(published_copy)
    result = subprocess.run([sys.executable, "-m", "course", "publish", "jdoe/ml-for-pms",
                             "--ref", "main", "--course-dir", str(published_copy)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    after = find_links(published_copy)
    assert {(link.repo, link.ref) for link in after} == {("jdoe/ml-for-pms", "main")}
    assert [(link.path, link.target) for link in after] == [
        (link.path, link.target) for link in before]
    assert any(link.path.suffix == ".ipynb" for link in after), "the notebook's link"
    readme = (published_copy / "README.md").read_text()
    assert readme.replace("jdoe/ml-for-pms/main", "OWNER/REPO/HEAD") == (
        ROOT / "README.md").read_text().replace(f"{before[0].repo}/{before[0].ref}",
                                                "OWNER/REPO/HEAD")
    assert f"{len(after)} Binder links" in result.stdout


def test_publish_reads_the_origin_remote(published_copy):
    git = ["git", "-C", str(published_copy)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "remote", "add", "origin", "git@github.com:jdoe/ml-for-pms.git"],
                   check=True)
    result = subprocess.run([sys.executable, "-m", "course", "publish", "--course-dir",
                             str(published_copy)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert {link.repo for link in find_links(published_copy)} == {"jdoe/ml-for-pms"}


@pytest.mark.parametrize("given", ["OWNER/REPO", "just-a-name", "a/b/c", "https://gitlab.com/a"])
def test_publish_refuses_what_is_not_a_github_repository(given, published_copy):
    with pytest.raises(AuthorError, match="is not a GitHub repository"):
        publish(published_copy, given)
    assert repository_name("https://github.com/jdoe/ml-for-pms.git") == "jdoe/ml-for-pms"


def test_publish_refuses_a_link_to_a_missing_notebook_and_changes_nothing(published_copy):
    (published_copy / "notebooks/03_metrics/03_metrics.ipynb").unlink()
    readme = (published_copy / "README.md").read_text()
    with pytest.raises(AuthorError, match="notebooks/03_metrics/03_metrics.ipynb"):
        publish(published_copy, "jdoe/ml-for-pms")
    assert (published_copy / "README.md").read_text() == readme
