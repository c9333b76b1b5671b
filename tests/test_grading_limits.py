"""Grading that fails loudly and cannot be stalled (issue 26, the execution layer).

A broken setup never yields a grade (a preflight before the first submission,
"needs review" for a submission whose setup failed, an early stop when every
one fails the same way); every wait of a submission has a deadline; a value
is bounded by its decoded size; the writable folders have a size; a kill of
the grader leaves no scratch folder behind. Fast tests check the parts; the
slow ones run ``python -m course grade`` on 00_welcome. Time bounds in these
tests are derived from the configured limits, generously, and only stop a
hung run: no outcome depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbtools import (
    course_env,
    grading,
    is_answer_cell,
    make_course,
    read,
    release_path,
    require_sandbox,
)

from course.grading.coursedir import GradingError
from course.grading.grade import SAME_SETUP_ERROR, stop_if_the_course_cannot_run
from course.grading.judging import judge
from course.grading.run import evidence, execute, sandbox

MODULE = "00_welcome"
TIMEOUT, SUBMISSION_TIMEOUT, WORKERS, DISK_MB = 10, 20, 2, 16
#: Seconds for kernel start, shutdown and the preflight (generous: a loaded machine).
STARTUP, SHUTDOWN, PREFLIGHT = 60, 30, 180
RIGHT = {"bad_risk_share_answer": "bad_risk_share = 0.3", "answer_q1_answer": "answer_q1 = 'B'"}
#: The 00_welcome cell that imports the course and loads the data.
SETUP_CELL = "from course import checks"

#: The grader's value request is answered with endless replies to another message.
FLOOD = """bad_risk_share = 0.9
import asyncio
kernel = get_ipython().kernel
other = {"header": {"msg_id": "not-yours", "msg_type": "execute_request", "session": "x",
                    "username": "x", "date": "", "version": "5.3"}}
async def flood(stream, ident, parent):
    while True:
        kernel.session.send(stream, "execute_reply", {"status": "ok", "execution_count": 1,
                            "user_expressions": {}}, parent=other, ident=ident)
        await asyncio.sleep(0.001)
kernel.shell_handlers["execute_request"] = flood"""
#: Writes four times the disk limit into the working copy (no error is caught).
DISK_FILL = f"""bad_risk_share = 0.3
with open("fill.bin", "wb") as fh:
    for _ in range({4 * DISK_MB}):
        fh.write(b"x" * 2**20)"""
#: Reserves (never touches) 3 GB of address space, as numerical libraries do, then answers.
RESERVES = """import mmap
reserved = mmap.mmap(-1, 3 * 2**30)
bad_risk_share = 0.3"""


# --- item 3: values bounded by their decoded size ------------------------------------------


BOMB = json.dumps({"value": {"__ndarray__": ["a", "b", "c"], "dtype": "<U100000000",
                             "shape": [3]}})


def test_the_decode_bomb_is_197_bytes_and_refused_before_it_is_built():
    """Three cells of dtype <U100000000 once took 1.2 GB of the grader's memory to rebuild."""
    reply = {"status": "ok", "data": {"text/plain": repr(BOMB)}}
    assert len(reply["data"]["text/plain"]) <= 197
    with pytest.raises(execute.KernelValueError, match="too large to grade"):
        execute._value(reply)


@pytest.mark.parametrize("data", [
    {"__scalar__": "a", "dtype": "<U100000000"},
    {"__ndarray__": [0] * 3, "dtype": "<f8", "shape": [3, 2**40, 0]},
    {"__ndarray__": ["a"], "dtype": "(100000000,)<U4", "shape": [1]},
    {"__ndarray__": ["a"], "dtype": "<U99999999999999999999", "shape": [1]},
])
def test_other_decoded_size_bombs_are_refused(data):
    with pytest.raises(evidence.EvidenceError):
        evidence.decode(json.dumps({"value": data}))


def test_an_honest_array_still_decodes():
    text = evidence.encode(__import__("numpy").array(["yes", "no"] * 1000))
    assert list(evidence.decode(text)[:2]) == ["yes", "no"]


def test_a_memory_error_while_rebuilding_is_a_reason(monkeypatch):
    def boom(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(evidence, "_decode", boom)
    with pytest.raises(evidence.EvidenceError, match="ran out of memory"):
        evidence.decode(json.dumps({"value": 1}))


# --- item 2: one deadline for a test's values, a cap on foreign replies ---------------------


class FloodingClient:
    """A kernel client whose shell channel yields replies to another message, for ever."""

    def __init__(self, pause: float) -> None:
        self.pause, self.read = pause, 0

    def execute(self, *args, **kwargs) -> str:
        return "mine"

    async def _async_get_shell_msg(self, timeout: float | None = None) -> dict:
        await asyncio.sleep(min(self.pause, timeout or self.pause))
        if self.pause > (timeout or self.pause):
            raise TimeoutError
        self.read += 1
        return {"parent_header": {"msg_id": "not-yours"}, "content": {}}


def _values_from(client: FloodingClient, monkeypatch, values_timeout: float) -> str:
    monkeypatch.setattr(execute, "VALUES_TIMEOUT", values_timeout)
    grader = execute.SandboxedExecute()
    grader._deadline, grader.kc = None, client
    ask = grader._values([judge.Expression("bad_risk_share")])
    with pytest.raises(execute.KernelValueError) as error:
        asyncio.run(asyncio.wait_for(ask, 30 * values_timeout + 60))  # old code: hangs here
    return str(error.value)


def test_endless_foreign_replies_hit_the_cap(monkeypatch):
    client = FloodingClient(pause=0)
    assert "replies to other messages" in _values_from(client, monkeypatch, 30)
    assert client.read == execute.MAX_FOREIGN + 1


def test_slow_foreign_replies_do_not_restart_the_wait(monkeypatch):
    """A reply every 0.3 s, under the cap, for 1 s: the one deadline ends the wait."""
    client = FloodingClient(pause=0.3)
    monkeypatch.setattr(execute, "MAX_FOREIGN", 10**6)
    assert "did not answer" in _values_from(client, monkeypatch, 1)


def test_a_cell_that_never_ends_is_abandoned_at_the_submission_limit(monkeypatch):
    """nbclient skips foreign replies with no end; the submission's limit still ends the cell."""
    monkeypatch.setattr(execute, "GRACE", 1)
    grader = execute.SandboxedExecute()
    grader._deadline, grader._out_of_time = time.monotonic() + 1, False
    cell = nbformat.v4.new_code_cell("x = 1")
    never = asyncio.sleep(3600)
    done = asyncio.run(asyncio.wait_for(grader._bounded(cell, never), 600))  # old: no bound
    assert done.outputs[0]["ename"] == "SubmissionTimeout", done.outputs
    assert grader._remaining() <= 0  # the rest of the submission does not run


# --- item 10: no per-process address-space limit under a memory cgroup ---------------------


def test_no_address_space_limit_when_a_memory_cgroup_limits_the_submission():
    with_memory = sandbox.Cgroup([], [], memory=True)
    assert sandbox.limit_each_process(1024, with_memory) == []
    if shutil.which("prlimit"):
        assert sandbox.limit_each_process(1024, None)[0] == "prlimit"
        assert sandbox.limit_each_process(1024, sandbox.Cgroup([], []))[0] == "prlimit"


# --- item 1: the same setup error for the first submissions stops the batch -----------------


class _Run:
    output = Path("grades.csv")

    class options:  # noqa: N801 (stands in for GradeOptions)
        assignment, memory_mb = MODULE, 2048


DATA = "cell 6: DatasetError: The course datasets folder was not found at /nowhere."


@pytest.mark.parametrize("setups, jobs, stops", [
    ([DATA] * SAME_SETUP_ERROR, 10, True),
    ([DATA, DATA], 2, True),  # everyone
    ([DATA, DATA], 10, False),  # not yet
    ([DATA, "", DATA], 10, False),
    ([DATA, DATA, "cell 6: ModuleNotFoundError: No module named 'x'"], 10, False),
    (["", "", ""], 10, False),
])
def test_the_same_setup_error_for_the_first_submissions_stops_the_batch(setups, jobs, stops):
    if not stops:
        stop_if_the_course_cannot_run(_Run(), setups, jobs)
        return
    with pytest.raises(GradingError) as error:
        stop_if_the_course_cannot_run(_Run(), setups, jobs)
    message = str(error.value)
    assert "cannot run in the grading sandbox" in message and "DatasetError" in message
    assert "COURSE_DATASETS" in message and f"{jobs - len(setups)} other(s)" in message


# --- the slow tests: `python -m course grade` ------------------------------------------------


def _notebook(answers: dict[str, str], setup_prefix: str = "") -> str:
    nb = read(release_path(MODULE))
    for cell in nb.cells:
        grade_id = grading(cell).get("grade_id")
        if is_answer_cell(cell) and grade_id in answers:
            cell.source = answers[grade_id]
        if setup_prefix and cell.cell_type == "code" and cell.source.startswith(SETUP_CELL):
            cell.source = setup_prefix + cell.source
    return nbformat.writes(nb)


def _submissions(folder: Path, notebooks: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for student, text in notebooks.items():
        (folder / f"{student}_{MODULE}.ipynb").write_text(text)
    return folder


def _bound(jobs: int, workers: int) -> int:
    """Seconds a run may take at most: each round of submissions within its limits."""
    rounds = -(-jobs // workers)
    each = SUBMISSION_TIMEOUT + execute.GRACE + execute.VALUES_TIMEOUT + STARTUP + SHUTDOWN
    return PREFLIGHT + rounds * each + 120


def _run_grade(course: Path, submissions: Path, *args: str, env: dict | None = None,
               jobs: int = 1, workers: int = 1) -> subprocess.CompletedProcess:
    require_sandbox()
    cmd = [sys.executable, "-m", "course", "grade", MODULE, str(submissions), "--workers",
           str(workers), "--timeout", str(TIMEOUT), "--submission-timeout",
           str(SUBMISSION_TIMEOUT), "--course-dir", str(course), *args]
    return subprocess.run(cmd, cwd=course, env=env or course_env(), capture_output=True,
                          text=True, timeout=_bound(jobs, workers))


def _rows(course: Path) -> dict[str, dict]:
    with (course / "grades.csv").open() as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """One run of honest, flooding, disk-filling and broken-setup submissions."""
    tmp = tmp_path_factory.mktemp("hostile")
    course = make_course(tmp / "course", [MODULE])
    cohort = {
        "a-right": _notebook(RIGHT),
        "d-fills-disk": _notebook({**RIGHT, "bad_risk_share_answer": DISK_FILL}),
        "f-flood-1": _notebook({**RIGHT, "bad_risk_share_answer": FLOOD}),
        "f-flood-2": _notebook({**RIGHT, "bad_risk_share_answer": FLOOD}),
        "s-no-data": _notebook(RIGHT, "import os\nos.environ['COURSE_DATASETS'] = '/nowhere'\n"),
        "s-no-module": _notebook(RIGHT, "import course_not_installed\n"),
        "v-reserves-memory": _notebook({**RIGHT, "bad_risk_share_answer": RESERVES}),
    }
    submissions = _submissions(tmp / "submissions", cohort)
    result = _run_grade(course, submissions, "--memory-mb", "1024", "--disk-mb", str(DISK_MB),
                        jobs=len(cohort), workers=WORKERS)
    assert result.returncode == 0, result.stdout + result.stderr
    return course, _rows(course), result


@pytest.mark.slow
def test_a_flood_of_foreign_replies_ends_within_the_limits(hostile_run):
    """Item 2: two flooding kernels on two workers; the run ended (the fixture's time bound)."""
    _, rows, _ = hostile_run
    for student in ("f-flood-1", "f-flood-2"):
        row = rows[student]
        assert row["status"] == "needs review" and row["final"] == "no", row
        assert row["score"] in ("0", ""), row
        assert "kernel" in row["reasons"] and "see the grading log" not in row["reasons"], row


@pytest.mark.slow
def test_an_honest_notebook_is_graded_under_1024_mb(hostile_run):
    """Item 10: --memory-mb 1024, with a cgroup, puts no limit on reserved address space."""
    _, rows, _ = hostile_run
    assert (rows["a-right"]["status"], rows["a-right"]["score"]) == ("graded", "3")
    if sandbox.Cgroup.create(sandbox.Limits()) is None:
        pytest.skip("no writable cgroup here: the limit is per process, reserved memory counts")
    row = rows["v-reserves-memory"]
    assert (row["status"], row["score"], row["final"]) == ("graded", "3", "yes"), row


@pytest.mark.slow
@pytest.mark.parametrize("student, error", [("s-no-data", "DatasetError"),
                                            ("s-no-module", "ModuleNotFoundError")])
def test_a_submission_whose_setup_failed_needs_review(hostile_run, student, error):
    """Item 1: the answers are right, but the setup cell failed: not a grade, not final."""
    _, rows, _ = hostile_run
    row = rows[student]
    assert (row["status"], row["final"]) == ("needs review", "no"), row
    assert "setup failed" in row["reasons"] and error in row["reasons"], row


@pytest.mark.slow
def test_writing_past_the_disk_limit_fails_and_is_reported(hostile_run):
    """Item 8: 64 MB written with a 16 MB limit; the limit is the reason, nothing on the host."""
    course, rows, _ = hostile_run
    row = rows["d-fills-disk"]
    assert "disk limit (16 MB" in row["reasons"] and row["status"] == "needs review", row
    assert not list(course.rglob("fill.bin"))


def _broken(tmp_path: Path) -> tuple[Path, Path]:
    course = make_course(tmp_path / "course", [MODULE])
    return course, _submissions(tmp_path / "submissions", {"a-right": _notebook(RIGHT)})


@pytest.mark.slow
def test_preflight_stops_when_the_kernel_cannot_import_the_course(tmp_path):
    """Item 1: `grade` run from a checkout whose `course` is not the installed one (the
    kernel's editable install points elsewhere, outside the sandbox): stop before anyone."""
    course, submissions = _broken(tmp_path)
    import course as package

    shutil.copytree(Path(package.__file__).parent, course / "course",
                    ignore=shutil.ignore_patterns("__pycache__"))
    result = _run_grade(course, submissions)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot run in the grading sandbox, so nothing was graded" in result.stderr
    assert "ModuleNotFoundError" in result.stderr and "pip install -e ." in result.stderr
    assert not (course / "autograded").exists() and not (course / "grades.csv").exists()


@pytest.mark.slow
def test_preflight_stops_when_the_kernel_cannot_find_the_datasets(tmp_path):
    course, submissions = _broken(tmp_path)
    env = dict(course_env(), COURSE_DATASETS=str(tmp_path / "datasets-moved"))
    result = _run_grade(course, submissions, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "DatasetError" in result.stderr and "COURSE_DATASETS" in result.stderr
    assert not (course / "autograded").exists() and not (course / "grades.csv").exists()


@pytest.mark.slow
def test_the_batch_stops_when_every_setup_fails_the_same_way(tmp_path):
    """Item 1: the preflight passes, but the first submissions' setups all fail alike."""
    course = make_course(tmp_path / "course", [MODULE])
    broken = _notebook(RIGHT, "import os\nos.environ['COURSE_DATASETS'] = '/nowhere'\n")
    students = {f"s{i}": broken for i in range(SAME_SETUP_ERROR + 2)}
    submissions = _submissions(tmp_path / "submissions", students)
    result = _run_grade(course, submissions, jobs=len(students))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot run in the grading sandbox" in result.stderr, result.stderr
    assert result.stderr.count("error:") == 1
    rows = _rows(course)
    assert all(row["final"] == "no" for row in rows.values()), rows
    assert sum("not graded yet" in row["reasons"] for row in rows.values()) >= 1, rows


def _leftovers(tmp: Path) -> list[str]:
    found = [p.name for p in tmp.glob("*") if p.name.startswith(("cgk-", "course-grading-"))]
    for controller in ("memory", "pids"):
        root = Path("/sys/fs/cgroup") / controller
        found += [str(p) for p in root.rglob("course-grading-*")
                  if p.name.split("-")[2] in CHILDREN] if root.is_dir() else []
    return found


#: The pids of the grader and its workers in the kill test (their cgroups are named so).
CHILDREN: set[str] = set()


def _descendants(pid: int) -> set[str]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True)
    children: dict[str, list[str]] = {}
    for line in out.stdout.split("\n"):
        if line.strip():
            child, parent = line.split()
            children.setdefault(parent, []).append(child)
    stack = [str(pid)]
    found = set()
    while stack:
        current = stack.pop()
        found.add(current)
        stack += children.get(current, [])
    return found


def _default_sigint() -> None:
    """In the grader's process, before it starts: SIGINT does what Ctrl-C does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_killed_grader_leaves_no_scratch_folder(tmp_path, sig):
    """Item 2: stopped while a submission sleeps, `grade` removes its folders and cgroups."""
    require_sandbox()
    course = make_course(tmp_path / "course", [MODULE])
    sleeper = _notebook({**RIGHT, "bad_risk_share_answer": "import time\ntime.sleep(600)"})
    submissions = _submissions(tmp_path / "submissions", {"a": sleeper, "b": sleeper})
    scratch = tmp_path / "t"
    scratch.mkdir()
    env = dict(course_env(), TMPDIR=str(scratch))
    cmd = [sys.executable, "-m", "course", "grade", MODULE, str(submissions), "--workers", "1",
           "--timeout", "900", "--submission-timeout", "900", "--course-dir", str(course)]
    # Ctrl-C as an instructor's terminal delivers it: the suite itself may run with SIGINT
    # ignored (a background job of a shell without job control), which a child inherits.
    grader = subprocess.Popen(cmd, cwd=course, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    try:
        began = time.monotonic()
        while not (course / "grades.csv").exists() or len(list(scratch.glob("cgk-*"))) == 0:
            assert grader.poll() is None, grader.communicate()
            assert time.monotonic() - began < PREFLIGHT + STARTUP + 120, "no kernel started"
            time.sleep(1)
        CHILDREN.clear()
        CHILDREN.update(_descendants(grader.pid))
        grader.send_signal(sig)
        out, err = grader.communicate(timeout=SHUTDOWN + 60)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert grader.returncode == 2, out + err
    assert "grading was stopped before it finished" in err, err
    time.sleep(1)
    assert _leftovers(scratch) == [], _leftovers(scratch)
    rows = _rows(course)
    assert all("not graded yet" in rows[s]["reasons"] for s in ("a", "b")), rows


def test_a_submission_held_at_its_memory_limit_says_memory(tmp_path):
    """The cgroup may hold a memory bomb at its limit instead of killing it; the reason must
    still say memory, not only what failed after (seen: "a cell's output never ended")."""
    from course.grading.results.report import kernel_problems

    nb = nbformat.v4.new_notebook()
    nb.metadata["course"] = {"memory_limit_hits": 3}
    nbformat.write(nb, tmp_path / "03_metrics.ipynb")
    assert any("reached its memory limit" in p for p in kernel_problems(tmp_path, 10))
    nb.metadata["course"] = {"memory_limit_kills": 1, "memory_limit_hits": 3}
    nbformat.write(nb, tmp_path / "03_metrics.ipynb")
    assert kernel_problems(tmp_path, 10) == [
        "the submission went over its memory limit: 1 of its processes were stopped"]


def test_a_submission_that_failed_at_its_memory_limit_says_memory():
    """When nbgrader could not grade it, the log line the grader writes names the cause."""
    from course.grading.results.report import failure_reason
    from course.outcomes import MEMORY_LIMIT_HIT

    log = f"[SandboxedExecute] {MEMORY_LIMIT_HIT} (0 processes killed, 5 times at the limit)\n"
    said = failure_reason({"log": log + "Timeout waiting for IOPub output", "error": ""})
    assert said.startswith(MEMORY_LIMIT_HIT) and "output never ended" in said
    assert "memory limit" not in failure_reason({"log": "Timeout waiting for IOPub output"})
