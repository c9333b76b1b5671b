"""The grading sandbox on its own: what a submission's processes can and cannot reach.

The cohort test (tests/test_grading_cli.py) attacks the sandbox through grading;
these check its walls directly, in a second, with one Python run inside it.
"""

import json
import os
import subprocess
import sys

import pytest
from nbtools import ROOT, require_sandbox

from course.grading.run import sandbox

DISK_MB = 8

PROBE = r"""
import json, os, socket, sys
from pathlib import Path
seen = {}
DISK_MB = int(sys.argv[3])
import course.checks, course.datasets
seen["course"] = course.checks.__file__
seen["datasets"] = course.datasets.data_dir().is_dir()
root = Path(sys.argv[1])
seen["solutions"] = (root / "solutions").exists()
seen["config"] = (root / "nbgrader_config.py").exists()
try:
    open(course.checks.__file__, "a").close()
    seen["package_writable"] = True
except OSError:
    seen["package_writable"] = False
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=2)
    seen["network"] = True
except OSError:
    seen["network"] = False
seen["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
seen["secret"] = os.environ.get("COURSE_TEST_SECRET")
seen["uid"] = os.getuid()
seen["copied"] = open("given.txt").read()
open("written.txt", "w").write("ok")
def fill(path):
    try:
        with open(path, "wb") as fh:
            for _ in range(4 * DISK_MB):
                fh.write(b"x" * 2**20)
        return "no limit"
    except OSError as error:
        return error.strerror
seen["disk"] = [fill("big.bin"), fill("/tmp/big.bin")]
seen["init"] = open("/proc/1/cmdline", "rb").read().decode(errors="replace")
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def inside(tmp_path_factory):
    require_sandbox()
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    tmp = tmp_path_factory.mktemp("sandbox")
    run, work, cwd = tmp / "run", tmp / "work", tmp / "student"
    for folder in (run, work, cwd):
        folder.mkdir()
    (work / "given.txt").write_text("the submission's file")
    cmd = sandbox.command([sys.executable, "-c", PROBE, str(ROOT),
                           str(server.getsockname()[1]), str(DISK_MB)], run, work, cwd, DISK_MB)
    cmd, fd = sandbox.hide_arguments(cmd)
    env = dict(os.environ, COURSE_TEST_SECRET="instructor-token")
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                                pass_fds=(fd,))
    finally:
        os.close(fd)
        server.close()
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout), work, cwd


def test_the_course_package_and_datasets_are_there_read_only(inside):
    seen, _, _ = inside
    assert seen["course"].startswith(str(ROOT)) and seen["datasets"]
    assert seen["package_writable"] is False


def test_solutions_config_network_other_processes_and_secrets_are_not(inside):
    seen, _, _ = inside
    assert (seen["solutions"], seen["config"], seen["network"]) == (False, False, False)
    assert len(seen["processes"]) <= 3, seen["processes"]  # bwrap's init, python, maybe sh
    assert seen["secret"] is None and seen["uid"] == 65534


def test_the_working_folder_is_a_copy(inside):
    seen, work, cwd = inside
    assert seen["copied"] == "the submission's file"
    assert not (work / "written.txt").exists() and not (cwd / "written.txt").exists()


def test_the_writable_folders_are_size_limited(inside):
    """Issue 26, item 8: writing past the limit fails inside; nothing lands on the host."""
    seen, work, cwd = inside
    assert seen["disk"] == ["No space left on device"] * 2, seen["disk"]
    assert not (work / "big.bin").exists() and not (cwd / "big.bin").exists()


def test_process_1_shows_no_host_path(inside):
    """Issue 26: bwrap's own command line (process 1 inside) lists none of its mounts (the
    course, the scratch folder); only the command it runs (the kernel's Python) is shown."""
    seen, work, _ = inside
    assert "--ro-bind" not in seen["init"] and str(work) not in seen["init"], seen["init"]


def test_tmp_is_mounted_before_the_folders_that_may_live_in_it():
    """A course cloned under /tmp must stay visible: bwrap mounts in order."""
    require_sandbox()
    args = sandbox.command(["true"], ROOT, ROOT, ROOT)
    tmpfs = args.index("--tmpfs")
    binds = [i for i, a in enumerate(args) if a in ("--ro-bind", "--bind", "--ro-bind-try")]
    assert args[tmpfs + 1] == "/tmp" and tmpfs < min(binds)
