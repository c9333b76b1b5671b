"""``python -m course start``: learners work in my-work/ copies that nothing ever overwrites."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbtools import ROOT

from course.errors import LearnerError
from course.progress import default_notebooks
from course.workspace import FRESH, KEPT, NEW, UNREADABLE, UPDATED, report, start

MODULES = sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir())


@pytest.fixture
def course(tmp_path):
    """A course folder with the real release and nbgrader config, and no my-work/ yet."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    return tmp_path


def _edit(path, text="answer = 42  # the learner's work"):
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(text))
    nbformat.write(nb, path)
    return path.read_bytes()


def _update_release(course, module):
    release = course / "notebooks" / module / f"{module}.ipynb"
    nb = nbformat.read(release, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A correction from the course authors."))
    nbformat.write(nb, release)
    return release


def test_start_copies_every_module_with_its_release_cells(course):
    copies = start([], course)
    assert [c.module for c in copies] == MODULES
    assert {c.state for c in copies} == {NEW}
    for c in copies:
        assert c.path == course / "my-work" / f"{c.module}.ipynb"
        mine = nbformat.read(c.path, as_version=4)
        release = nbformat.read(course / "notebooks" / c.module / f"{c.module}.ipynb", 4)
        assert mine.cells == release.cells
        assert mine.metadata["course"]["module"] == c.module


def test_start_again_never_changes_a_learners_copy(course):
    start(["03"], course)
    mine = course / "my-work" / "03_metrics.ipynb"
    edited = _edit(mine)
    (again,) = start(["03_metrics"], course)
    assert again.state == KEPT
    assert mine.read_bytes() == edited


def test_a_course_update_is_reported_and_the_copy_kept(course):
    start(["03"], course)
    mine = course / "my-work" / "03_metrics.ipynb"
    edited = _edit(mine)
    _update_release(course, "03_metrics")
    copies = start([], course)
    states = {c.module: c.state for c in copies}
    assert states["03_metrics"] == UPDATED
    assert mine.read_bytes() == edited
    message = report(copies, course)
    assert "03_metrics" in message and "--fresh" in message and "untouched" in message


def test_fresh_backs_up_the_learners_copy_first(course):
    start(["03"], course)
    mine = course / "my-work" / "03_metrics.ipynb"
    edited = _edit(mine)
    release = _update_release(course, "03_metrics")
    first = start(["03"], course, fresh=True)[0]
    second_edit = _edit(mine, "second = 'attempt'")
    second = start(["03"], course, fresh=True)[0]
    assert first.state == second.state == FRESH
    assert first.backup.read_bytes() == edited
    assert second.backup.read_bytes() == second_edit
    assert first.backup != second.backup  # two backups in the same second: both kept
    assert nbformat.read(mine, 4).cells == nbformat.read(release, 4).cells
    assert start(["03"], course)[0].state == KEPT


def test_a_broken_copy_is_reported_and_left_alone(course):
    mine = course / "my-work" / "03_metrics.ipynb"
    mine.parent.mkdir()
    mine.write_text("{ not a notebook")
    (copy,) = start(["03"], course)
    assert copy.state == UNREADABLE
    assert mine.read_text() == "{ not a notebook"


@pytest.mark.parametrize("names, fresh, message", [
    (["3x"], False, "not one module of the course"),
    (["30"], False, "not one module of the course"),  # no module 30 (3 is 03)
    ([], True, "name the modules"),
])
def test_bad_requests_are_clear_errors_and_change_nothing(course, names, fresh, message):
    with pytest.raises(LearnerError, match=message):
        start(names, course, fresh=fresh)
    assert not (course / "my-work").exists()


def test_outside_a_course_is_a_clear_error(tmp_path):
    with pytest.raises(LearnerError, match="no course notebooks found"):
        start([], tmp_path)


def test_cli_start_and_its_exit_status(course):
    ok = subprocess.run([sys.executable, "-m", "course", "start", "03", "--course-dir",
                         str(course)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    assert "my-work/03_metrics.ipynb  new copy" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "course", "start", "99", "--course-dir",
                          str(course)], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "not one module" in bad.stderr


def test_progress_reads_the_learners_copies_once_they_exist(course):
    assert [p.parent.name for p in default_notebooks(course)] == MODULES
    start(["01", "03"], course)
    assert [p.name for p in default_notebooks(course)] == ["01_paradigms.ipynb",
                                                          "03_metrics.ipynb"]


def test_run_py_lab_makes_the_copies_then_opens_the_welcome_copy(monkeypatch):
    spec = importlib.util.spec_from_file_location("run_py", ROOT / "run.py")
    run_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_py)
    calls = []
    monkeypatch.setattr(run_py, "install", lambda extras: ROOT / ".venv/bin/python")
    monkeypatch.setattr(run_py.subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.setattr(run_py.subprocess, "call", lambda cmd, **kw: calls.append(cmd) or 0)
    assert run_py.main(["lab"]) == 0
    start_cmd, lab_cmd = calls
    assert start_cmd[1:] == ["-m", "course", "start"]
    assert lab_cmd[1:4] == ["-m", "jupyter", "lab"]
    assert run_py.WELCOME == "my-work/00_welcome.ipynb"
    # the whole course is served (solutions/ and datasets/ in reach), the welcome copy opens
    assert f"--ServerApp.root_dir={ROOT}" in lab_cmd[4:]
    # LabApp's, not ServerApp's: JupyterLab replaces ServerApp.default_url with its own /lab
    # (tests/test_browser_first_hour.py opens the printed URL in a browser)
    assert "--LabApp.default_url=/lab/tree/my-work/00_welcome.ipynb" in lab_cmd[4:]
    assert not [a for a in lab_cmd if a.startswith("--ServerApp.default_url")]


def load_run_py():
    """The repository's run.py, imported as a module."""
    spec = importlib.util.spec_from_file_location("run_py", ROOT / "run.py")
    run_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_py)
    return run_py


@pytest.mark.parametrize("root", [True, False])
def test_run_py_lab_passes_allow_root_only_as_root_and_says_why(monkeypatch, capsys, root):
    run_py = load_run_py()
    calls = []
    monkeypatch.setattr(run_py, "install", lambda extras: ROOT / ".venv/bin/python")
    monkeypatch.setattr(run_py, "running_as_root", lambda: root)
    monkeypatch.setattr(run_py.subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.setattr(run_py.subprocess, "call", lambda cmd, **kw: calls.append(cmd) or 0)
    assert run_py.main(["lab"]) == 0
    assert ("--allow-root" in calls[-1]) is root
    assert ("--allow-root" in capsys.readouterr().out) is root


@pytest.mark.parametrize("command", ["start", "progress"])
def test_run_py_start_and_progress_run_the_venvs_course_command(monkeypatch, command):
    run_py = load_run_py()
    calls = []
    monkeypatch.setattr(run_py, "install", lambda extras: Path("/venv/bin/python"))
    monkeypatch.setattr(run_py.subprocess, "call", lambda cmd, **kw: calls.append(cmd) or 0)
    assert run_py.main([command, "03", "--fresh"]) == 0
    assert calls == [["/venv/bin/python", "-m", "course", command, "03", "--fresh",
                      "--course-dir", str(ROOT)]]


def test_run_py_installs_once_per_checkout_and_pyproject(monkeypatch, tmp_path):
    run_py = load_run_py()
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    monkeypatch.setattr(run_py, "VENV", venv)
    monkeypatch.setattr(run_py, "STAMP", venv / "course-install.json")
    pips = []
    monkeypatch.setattr(run_py.subprocess, "run", lambda cmd, **kw: pips.append(cmd[-1]))
    run_py.install("")
    run_py.install("")          # nothing to do: no pip, so no network
    run_py.install("test")      # an extra not installed yet
    run_py.install("")          # the test install holds the plain one
    assert pips == [".", ".[test]"]
    monkeypatch.setattr(run_py, "ROOT", tmp_path)  # another checkout (or a changed pyproject)
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    run_py.install("")
    assert pips == [".", ".[test]", "."]
