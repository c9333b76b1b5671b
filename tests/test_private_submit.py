"""A hub submission readable by its learner and the instructors only (course/private_submit.py).

The hub test (tests/test_hub.py) shows it with real accounts: another learner who knows
a submission's name cannot read it, and the instructor still collects and grades it.
These tests check the ACL itself, the accounts it lets in and keeps out, and that a
file system without ACLs, or a missing instructor account, leaves nbgrader's own
permissions (the instructor must always be able to collect).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbtools import ROOT
from traitlets.config.loader import PyFileConfigLoader

from course import private_submit
from course.private_submit import PrivateSubmit, make_private, read_acl

LEARNER, INSTRUCTOR, CLASSMATE = 65531, 65532, 65533


def _submission(parent: Path) -> Path:
    """A submission folder as nbgrader's submit leaves it (files 644, folder 777)."""
    folder = parent / "ada+03_metrics+2026-11-30 01:00:00.000000 UTC+abcdefghijkl"
    folder.mkdir()
    for name in ("03_metrics.ipynb", "timestamp.txt"):
        (folder / name).write_text("{}")
        (folder / name).chmod(0o644)
    folder.chmod(0o777)
    return folder


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.iterdir()]}


def test_the_acl_gives_the_owner_everything_the_readers_read_and_no_one_else_anything(
        tmp_path):
    folder = _submission(tmp_path)
    make_private(folder, [INSTRUCTOR, 65534])
    assert read_acl(folder) == {"user::": 7, f"user:{INSTRUCTOR}": 5, "user:65534": 5,
                                "group::": 0, "mask::": 5, "other::": 0}
    notebook = folder / "03_metrics.ipynb"
    assert read_acl(notebook) == {"user::": 6, f"user:{INSTRUCTOR}": 4, "user:65534": 4,
                                  "group::": 0, "mask::": 4, "other::": 0}
    assert _modes(folder) == {folder.name: 0o750, "03_metrics.ipynb": 0o640,
                              "timestamp.txt": 0o640}  # the group bits show the mask


def _as(uid: int, *command: str) -> str:
    result = subprocess.run(list(command), user=uid, capture_output=True, text=True)
    return "ok" if result.returncode == 0 else "denied"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="changes owners and runs commands as other accounts: needs root")
def test_the_instructor_reads_a_classmate_does_not_and_neither_writes():
    parent = Path(tempfile.mkdtemp(prefix="mlpm-private-"))
    try:
        parent.chmod(0o755)
        folder = _submission(parent)
        for path in [folder, *folder.iterdir()]:
            os.chown(path, LEARNER, LEARNER)
        make_private(folder, [INSTRUCTOR])
        notebook = str(folder / "03_metrics.ipynb")
        seen = {uid: (_as(uid, "cat", notebook), _as(uid, "ls", str(folder)),
                      _as(uid, "touch", str(folder / "replaced.ipynb")),
                      _as(uid, "sh", "-c", f"echo x >> '{notebook}'"))
                for uid in (LEARNER, INSTRUCTOR, CLASSMATE)}
        assert seen == {LEARNER: ("ok",) * 4,
                        INSTRUCTOR: ("ok", "ok", "denied", "denied"),
                        CLASSMATE: ("denied",) * 4}
    finally:
        subprocess.run(["rm", "-rf", str(parent)], check=True)


@pytest.fixture
def submit(tmp_path, monkeypatch):
    """A PrivateSubmit whose nbgrader part has just left a submission in ``tmp_path``."""
    folder = _submission(tmp_path)
    monkeypatch.setattr(ExchangeSubmit, "copy_files", lambda self: None)
    app = PrivateSubmit(coursedir=CourseDirectory(), authenticator=Authenticator())
    app.inbound_path, app.assignment_filename = str(tmp_path), folder.name
    return app, folder


def test_submit_restricts_the_submission_to_the_instructors(submit):
    app, folder = submit
    app.readers = ["root"]
    app.copy_files()
    assert read_acl(folder)["user:0"] == 5 and read_acl(folder)["other::"] == 0


def test_a_file_system_without_acls_keeps_nbgraders_permissions(submit, monkeypatch, caplog):
    app, folder = submit
    app.readers = ["root"]
    before = _modes(folder)

    def unsupported(path, *args):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported", str(path))

    monkeypatch.setattr(private_submit.os, "setxattr", unsupported)
    with caplog.at_level(logging.WARNING):
        app.copy_files()
    assert _modes(folder) == before
    assert "no POSIX ACLs" in caplog.text


def test_a_failure_half_way_puts_nbgraders_permissions_back(submit, monkeypatch, caplog):
    app, folder = submit
    app.readers = ["root"]
    before, real, calls = _modes(folder), os.setxattr, []

    def fails_second(path, *args):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.EIO, "I/O error", str(path))
        real(path, *args)

    monkeypatch.setattr(private_submit.os, "setxattr", fails_second)
    with caplog.at_level(logging.WARNING):
        app.copy_files()
    assert _modes(folder) == before
    with pytest.raises(OSError):
        read_acl(folder / calls[0].name)
    assert "keeps nbgrader's permissions" in caplog.text


def test_no_instructor_account_here_keeps_nbgraders_permissions(submit, caplog):
    app, folder = submit
    app.readers = ["no-such-instructor-account"]
    before = _modes(folder)
    with caplog.at_level(logging.WARNING):
        app.copy_files()
    assert _modes(folder) == before
    assert "no-such-instructor-account" in caplog.text


def _hub_nbgrader_config(monkeypatch, instructors: str | None):
    monkeypatch.setenv("COURSE_ID", "c")
    monkeypatch.setenv("NBGRADER_EXCHANGE", "/x")
    if instructors is None:
        monkeypatch.delenv("COURSE_INSTRUCTORS", raising=False)
    else:
        monkeypatch.setenv("COURSE_INSTRUCTORS", instructors)
    folder = ROOT / "deploy" / "jupyterhub" / "common"
    return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()


def test_the_hub_switches_it_on_with_the_instructors_names(monkeypatch):
    config = _hub_nbgrader_config(monkeypatch, "teach,b.lee")
    assert config.ExchangeFactory.submit == "course.private_submit.PrivateSubmit"
    assert config.PrivateSubmit.readers == ["teach", "b.lee"]
    assert "submit" not in _hub_nbgrader_config(monkeypatch, None).ExchangeFactory
    hub = (ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py").read_text()
    assert '"COURSE_INSTRUCTORS": ",".join(settings["instructors"])' in hub
