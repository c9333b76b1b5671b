"""Unit tests of running a submission (``course.grading.run``), in process, no kernel.

The slow tests grade real notebooks through ``python -m course grade``; these
check the decisions behind them with fakes: what the worker pool does when a
worker dies or raises, what a failed preflight probe tells the instructor, how
the sandbox's command line and cgroups are built, and what a worker keeps.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from course.grading.coursedir import GradingError
from course.grading.run import execute, parallel, preflight, sandbox, worker
from course.grading.run.worker import Settings, WorkerResult

# --- parallel: the worker pool ------------------------------------------------------------


class FakePool:
    """A ProcessPoolExecutor that runs ``worker.grade`` at once, in this process."""

    made: list[FakePool] = []

    def __init__(self, max_workers, mp_context=None, initializer=None, initargs=()):
        self.max_workers, self.initargs = max_workers, initargs
        self.shutdowns: list[dict] = []
        self._processes: dict[int, object] = {}
        FakePool.made.append(self)

    def submit(self, function, *args):
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except BaseException as error:  # noqa: BLE001 (the future carries it, as a pool's does)
            future.set_exception(error)
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        self.shutdowns.append({"wait": wait, "cancel_futures": cancel_futures})


@pytest.fixture
def pool(monkeypatch):
    """Replace the process pool by :class:`FakePool`; ``deaths`` says who kills a worker."""
    FakePool.made = []
    deaths: dict[str, int] = {}

    def grade(assignment, student, notebook):
        if deaths.get(student, 0) > 0:
            deaths[student] -= 1
            raise BrokenProcessPool("a worker died")
        if student == "buggy":
            raise ValueError("cannot read the notebook")
        return WorkerResult(student, True, log=f"graded {notebook}")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", FakePool)
    monkeypatch.setattr(worker, "grade", grade)
    return deaths


def _jobs(*students: str) -> dict[str, Path]:
    return {s: Path(f"/submitted/{s}.ipynb") for s in students}


def test_every_student_is_graded_once(pool):
    results = list(parallel.run(Path("/t"), "00_welcome", _jobs("a", "b", "c"), 2, Settings()))
    assert sorted(r.student for r in results) == ["a", "b", "c"]
    assert all(r.success for r in results)
    assert len(FakePool.made) == 1 and FakePool.made[0].max_workers == 2


def test_a_dead_worker_is_retried_not_blamed_on_the_student(pool):
    pool["b"] = 1  # the first try dies, the second succeeds
    results = {r.student: r for r in parallel.run(Path("/t"), "m", _jobs("a", "b", "c"), 3,
                                                   Settings())}
    assert results["b"].success and results["b"].error == ""
    assert [p.max_workers for p in FakePool.made] == [3, 1]  # b alone in a pool of its own


def test_a_student_whose_worker_dies_twice_is_reported_alone(pool):
    pool["b"] = 2
    results = {r.student: r for r in parallel.run(Path("/t"), "m", _jobs("a", "b"), 2,
                                                   Settings())}
    assert results["a"].success
    assert not results["b"].success
    assert "the worker process died twice" in results["b"].error
    assert "run grade again for this student" in results["b"].error


def test_a_bug_in_one_run_fails_only_that_student(pool):
    results = {r.student: r for r in parallel.run(Path("/t"), "m", _jobs("a", "buggy"), 2,
                                                   Settings())}
    assert results["a"].success
    assert not results["buggy"].success
    assert "ValueError: cannot read the notebook" in results["buggy"].error
    assert len(FakePool.made) == 1  # not retried: the worker did not die


def test_workers_never_outnumber_students_and_share_the_cores(pool, monkeypatch):
    monkeypatch.setattr(parallel, "default_workers", lambda: 8)
    list(parallel.run(Path("/t"), "m", _jobs("a", "b"), 16, Settings()))
    made = FakePool.made[0]
    assert made.max_workers == 2
    assert made.initargs[1].threads == 4  # 8 cores over 2 workers


def test_one_worker_leaves_thread_counts_alone(pool):
    list(parallel.run(Path("/t"), "m", _jobs("a"), 4, Settings()))
    assert FakePool.made[0].initargs[1].threads == 0


def test_stopping_early_stops_the_workers_without_waiting(pool, monkeypatch):
    killed = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append((pid, sig)))
    results = parallel.run(Path("/t"), "m", _jobs("a", "b", "c"), 2, Settings())
    next(results)
    FakePool.made[0]._processes = {4242: None}
    results.close()  # the caller stops asking (an error, Ctrl-C)
    made = FakePool.made[0]
    assert made.shutdowns == [{"wait": False, "cancel_futures": True}]
    assert killed == [(4242, signal.SIGTERM)]


class Stubborn:
    """A worker process that ignores SIGTERM until it is killed."""

    def __init__(self):
        self.alive, self.joins = True, []

    def join(self, timeout=None):
        self.joins.append(timeout)

    def is_alive(self):
        return self.alive

    def kill(self):
        self.alive = False


def test_a_worker_that_ignores_sigterm_is_killed_after_its_grace(monkeypatch):
    monkeypatch.setattr(os, "kill", lambda pid, sig: None)
    stubborn, pool = Stubborn(), FakePool(1)
    pool._processes = {4242: stubborn}
    parallel._stop(pool, seconds=0)
    assert not stubborn.alive, "a worker that ignored SIGTERM was left running"
    assert all(t is not None for t in stubborn.joins), "a wait without a bound"
    assert pool.shutdowns == [{"wait": False, "cancel_futures": True}]


def test_a_finished_pass_waits_for_its_workers(pool):
    list(parallel.run(Path("/t"), "m", _jobs("a"), 1, Settings()))
    assert FakePool.made[0].shutdowns == [{"wait": True, "cancel_futures": False}]


def test_parallel_grading_refuses_a_gradebook_that_is_not_sqlite():
    config = Config()
    config.CourseDirectory.db_url = "postgresql://host/gradebook"
    with pytest.raises(ValueError, match="needs an SQLite gradebook"):
        parallel.db_path(config)
    config.CourseDirectory.db_url = "sqlite:////course/gradebook.db"
    assert parallel.db_path(config) == Path("/course/gradebook.db")


def test_default_workers_is_at_least_one():
    assert parallel.default_workers() >= 1


# --- worker: one student in a scratch course ----------------------------------------------


class FakeCourseDir:
    def __init__(self, root: Path):
        self.root = root
        self.autograded_directory, self.feedback_directory = "autograded", "feedback"

    def format_path(self, step: str, student: str, assignment: str) -> str:
        return str(self.root / step / student / assignment)


class FakeApi:
    def __init__(self, root: Path, graded: dict, feedback: dict):
        self.coursedir = FakeCourseDir(root)
        self.graded, self.feedback_reply, self.feedback_asked = graded, feedback, False

    def autograde(self, assignment, student, force, create):
        if self.graded.get("success"):
            (self.coursedir.root / "autograded" / student / assignment).mkdir(parents=True)
        return self.graded

    def generate_feedback(self, assignment, student, force):
        self.feedback_asked = True
        return self.feedback_reply


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A worker's state with a fake nbgrader API; returns a function that sets its replies."""
    from course.grading.records import gradebook

    monkeypatch.setattr(gradebook, "read_scores", lambda db, a, s: {"q1": 1.0})
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    monkeypatch.setattr(worker, "_STATE", {})

    def make(graded: dict, feedback: dict | None = None) -> FakeApi:
        api = FakeApi(tmp_path / "scratch", graded, feedback or {"success": True})
        worker._STATE.update(scratch=tmp_path / "scratch", api=api, db_url="sqlite:///x")
        return api

    submitted = tmp_path / "in" / "m.ipynb"
    submitted.parent.mkdir()
    submitted.write_text("{}")
    return make, submitted


def test_worker_returns_scores_and_folders_of_a_graded_student(scratch):
    make, notebook = scratch
    api = make({"success": True, "log": "ok"})
    result = worker.grade("m", "ada", str(notebook))
    assert result.success and result.scores == {"q1": 1.0} and result.log == "ok"
    assert result.autograded == str(api.coursedir.root / "autograded" / "ada" / "m")
    assert result.feedback == ""  # the fake wrote no feedback folder
    assert api.feedback_asked


def test_worker_writes_no_feedback_when_autograde_failed(scratch):
    make, notebook = scratch
    api = make({"success": False, "error": "Traceback: DeadKernelError"})
    result = worker.grade("m", "ada", str(notebook))
    assert not result.success and "DeadKernelError" in result.error
    assert not api.feedback_asked and result.autograded == ""


def test_worker_reports_a_feedback_failure_separately(scratch):
    make, notebook = scratch
    make({"success": True}, {"success": False, "error": "template broke"})
    result = worker.grade("m", "ada", str(notebook))
    assert result.success and result.feedback_error == "template broke"


def test_a_resubmission_replaces_the_earlier_files(scratch):
    make, notebook = scratch
    api = make({"success": True})
    stale = api.coursedir.root / "submitted" / "ada" / "m" / "old-answer.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("x = 1")
    worker.grade("m", "ada", str(notebook))
    assert not stale.exists()
    assert (stale.parent / "m.ipynb").is_file()


def test_share_cores_keeps_a_thread_count_the_instructor_set(monkeypatch):
    for name in worker.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    worker.share_cores(0)
    assert os.environ["OMP_NUM_THREADS"] == "3"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"  # never 0 threads


def test_a_stopped_worker_removes_its_scratch_course(tmp_path, monkeypatch):
    folder = tmp_path / "worker-1"
    folder.mkdir()
    monkeypatch.setattr(worker, "_STATE", {"scratch": folder})
    monkeypatch.setattr(sandbox, "clean_up", lambda: None)

    def exit_(code):
        raise SystemExit(code)

    monkeypatch.setattr(os, "_exit", exit_)
    with pytest.raises(SystemExit) as stopped:
        worker.stop(signal.SIGTERM)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert not folder.exists()


# --- preflight: what a failed probe of the course's setup means ---------------------------


def _setup_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_code_cell("x = None")
    answer.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "q1"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"),
                nbformat.v4.new_code_cell("import course.checks"),
                nbformat.v4.new_code_cell("   "),
                nbformat.v4.new_code_cell("data = load()"),
                answer,
                nbformat.v4.new_code_cell("after = 1")]
    return nb


def test_setup_cells_stop_at_the_first_answer():
    cells = preflight.setup_cells(_setup_notebook())
    assert [c.source for c in cells] == ["import course.checks", "data = load()"]


def test_the_probe_imports_the_course_before_the_setup():
    probe = preflight._probe(_setup_notebook())
    assert [c.source for c in probe.cells] == [preflight.PROBE, "import course.checks",
                                               "data = load()"]


def test_first_error_names_the_cell_and_shortens_the_message():
    probe = preflight._probe(_setup_notebook())
    probe.cells[2].outputs = [nbformat.v4.new_output("error", ename="DatasetError",
                                                     evalue="no\n  data " + "x" * 400,
                                                     traceback=[])]
    index, ename, evalue = preflight._first_error(probe)
    assert (index, ename) == (2, "DatasetError")
    assert evalue.startswith("no data ") and len(evalue) == 300
    assert preflight._first_error(preflight._probe(_setup_notebook())) is None


@pytest.mark.parametrize(("ename", "advice"), [
    ("ModuleNotFoundError", "pip install -e ."),
    ("ImportError", "pip install -e ."),
    ("DatasetError", "COURSE_DATASETS"),
    ("MemoryError", "raise --memory-mb"),
    ("DeadKernelError", "the limit of 1024 MB"),
    ("ZeroDivisionError", "run the notebook's setup cells"),
])
def test_explain_gives_the_fix_for_each_kind_of_failure(ename, advice):
    assert advice in preflight.explain("03_metrics", ename, "", 1024)


@pytest.fixture
def release(tmp_path):
    path = tmp_path / "release" / "03_metrics" / "03_metrics.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(_setup_notebook(), path)
    return path


def test_preflight_passes_when_the_probe_runs(release, monkeypatch):
    seen = {}

    def run(probe, folder, limits, sandboxed, timeout):
        seen.update(copied=(folder / "03_metrics.ipynb").is_file(), timeout=timeout,
                    folder=folder)

    monkeypatch.setattr(preflight, "_run", run)
    preflight.preflight(release, "03_metrics", sandbox.Limits(), timeout=5)
    assert seen["copied"]  # the release's folder, as a submission's would be
    assert seen["timeout"] == preflight.MIN_TIMEOUT  # a cold kernel gets its minimum
    assert not seen["folder"].exists()  # the scratch copy is removed


@pytest.mark.parametrize(("index", "where"), [(0, "importing the course"),
                                              (2, "setup cell 2 of 03_metrics")])
def test_a_failed_probe_stops_grading_saying_where_and_how_to_fix(release, monkeypatch,
                                                                   index, where):
    monkeypatch.setattr(preflight, "_run", lambda *args: (index, "ModuleNotFoundError",
                                                          "No module named 'course'"))
    with pytest.raises(GradingError) as error:
        preflight.preflight(release, "03_metrics", sandbox.Limits(), timeout=600)
    message = str(error.value)
    assert "nothing was graded" in message and where in message
    assert "ModuleNotFoundError: No module named 'course'" in message
    assert "Fix: " in message and "pip install -e ." in message


def test_preflight_restores_the_grading_process_signal_handlers():
    def handler(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        saved = preflight._signal_handlers()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as nbclient leaves it
        preflight._restore(saved)
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- sandbox: the command line and the cgroups --------------------------------------------


@pytest.fixture
def fake_bwrap(monkeypatch, tmp_path):
    """A sandbox whose bwrap and read-only paths are given, not probed."""
    monkeypatch.setattr(sandbox, "bwrap", lambda: "/usr/bin/bwrap")
    shown = tmp_path / "python"
    shown.mkdir()
    monkeypatch.setattr(sandbox, "readonly_paths", lambda: (shown,))
    for name in sandbox.PASSED_ENV:
        monkeypatch.delenv(name, raising=False)
    return shown


def _after(args: list[str], option: str, value: str | None = None) -> list[list[str]]:
    """Return the arguments that follow each ``option`` (with ``value``, if given)."""
    return [args[i + 1:i + 3] for i, a in enumerate(args)
            if a == option and (value is None or args[i + 1] == value)]


def test_command_runs_the_kernel_in_a_closed_sandbox(fake_bwrap, tmp_path):
    run, cwd = tmp_path / "cgk-1", tmp_path / "student"
    cmd = sandbox.command(["python", "-m", "ipykernel"], run, cwd, cwd, disk_mb=64)
    assert cmd[0] == "/usr/bin/bwrap"
    for flag in ("--unshare-all", "--die-with-parent", "--clearenv", "--new-session"):
        assert flag in cmd
    assert ["--cap-drop", "ALL"] == cmd[cmd.index("--cap-drop"):cmd.index("--cap-drop") + 2]
    assert [str(fake_bwrap), str(fake_bwrap)] in _after(cmd, "--ro-bind")
    assert [str(run), str(run)] in _after(cmd, "--bind")
    assert [str(cwd), sandbox.STAGE] in _after(cmd, "--ro-bind")  # the submission: read only
    assert cmd[-3:] == ["python", "-m", "ipykernel"]
    assert cmd[cmd.index("--") + 1:cmd.index("--") + 3] == ["/bin/sh", "-c"]


def test_tmp_and_the_working_copy_are_size_limited(fake_bwrap, tmp_path):
    cwd = tmp_path / "student"
    cmd = sandbox.command(["k"], tmp_path / "run", cwd, cwd, disk_mb=64)
    sizes = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--size"]
    mounts = [cmd[i + 3] for i, a in enumerate(cmd) if a == "--size"]
    assert sizes == [str(64 * 2**20)] * 2 and mounts == ["/tmp", str(cwd)]
    assert cmd.index("/tmp") < cmd.index("/usr")  # /tmp before any bind that may be in it


def test_no_disk_limit_means_plain_tmpfs():
    assert sandbox._tmpfs("/tmp", 0) == ["--tmpfs", "/tmp"]


def test_only_listed_variables_enter_the_sandbox(fake_bwrap, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")
    monkeypatch.setenv("COURSE_DATASETS", "relative/data")
    cmd = sandbox.command(["k"], tmp_path / "run", tmp_path, tmp_path)
    assert ["OMP_NUM_THREADS", "2"] in _after(cmd, "--setenv")
    assert "hunter2" not in " ".join(cmd)
    datasets = _after(cmd, "--setenv", "COURSE_DATASETS")[0][1]
    assert Path(datasets).is_absolute() and datasets.endswith("relative/data")


def test_hidden_arguments_go_through_a_pipe(fake_bwrap, tmp_path):
    cmd = sandbox.command(["python", "-m", "ipykernel"], tmp_path / "run", tmp_path, tmp_path)
    hidden, fd = sandbox.hide_arguments(cmd)
    try:
        assert hidden[:3] == ["/usr/bin/bwrap", "--args", str(fd)]
        assert str(tmp_path) not in " ".join(hidden[:hidden.index("--")])
        data = os.read(fd, 1 << 20)
    finally:
        os.close(fd)
    assert data.split(b"\0")[:-1] == [a.encode() for a in cmd[1:cmd.index("--")]]
    assert hidden[hidden.index("--"):] == cmd[cmd.index("--"):]


def test_too_many_arguments_for_a_pipe_stay_on_the_command_line():
    cmd = ["bwrap", *(["--ro-bind", "/" + "x" * 1000, "/y"] * 80), "--", "k"]
    assert sandbox.hide_arguments(cmd) == (cmd, None)


def test_without_bwrap_grading_says_how_to_install_it(monkeypatch):
    sandbox.bwrap.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    try:
        with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
            sandbox.bwrap()
    finally:
        sandbox.bwrap.cache_clear()


def test_a_bwrap_that_cannot_sandbox_is_refused_with_the_reason(monkeypatch):
    import subprocess

    sandbox.bwrap.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: "/usr/bin/bwrap")
    monkeypatch.setattr(sandbox.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 1, "", "bwrap: No permissions to creating new namespace\n"))
    try:
        with pytest.raises(sandbox.SandboxUnavailable) as error:
            sandbox.bwrap()
    finally:
        sandbox.bwrap.cache_clear()
    assert "No permissions to creating new namespace" in str(error.value)
    assert "unprivileged_userns_clone" in str(error.value)
    assert "--unsafe-no-sandbox" in str(error.value)


def test_run_folders_are_tracked_and_removed(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "_LIVE", {})
    removed = []

    class FakeCgroup:
        def remove(self):
            removed.append(True)

    first, second = sandbox.make_run_dir(), sandbox.make_run_dir()
    assert first.name.startswith(sandbox.RUN_PREFIX) and first.is_dir()
    sandbox.track(second, FakeCgroup())
    sandbox.release(first)
    assert not first.exists() and list(sandbox._LIVE) == [second]
    sandbox.clean_up()
    assert not second.exists() and removed == [True] and sandbox._LIVE == {}


def test_cgroup_v2_sets_memory_swap_and_process_limits(monkeypatch, tmp_path):
    (tmp_path / "cgroup.subtree_control").write_text("memory pids\n")
    monkeypatch.setattr(sandbox, "_own_cgroup_v1", lambda controller: None)
    monkeypatch.setattr(sandbox, "_v2_root", lambda: tmp_path)
    made = sandbox.Cgroup.create(sandbox.Limits(memory_mb=100, processes=7))
    assert made is not None and made.memory
    folder = made.folders[0]
    assert folder.parent == tmp_path and folder.name.startswith("course-grading-")
    assert (folder / "memory.max").read_text() == str(100 * 2**20)
    assert (folder / "memory.swap.max").read_text() == "0"
    assert (folder / "pids.max").read_text() == "7"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "memory pids\n"  # not rewritten


def test_cgroup_v2_enables_the_memory_controller_when_off(monkeypatch, tmp_path):
    (tmp_path / "cgroup.subtree_control").write_text("cpu\n")
    monkeypatch.setattr(sandbox, "_own_cgroup_v1", lambda controller: None)
    monkeypatch.setattr(sandbox, "_v2_root", lambda: tmp_path)
    sandbox.Cgroup.create(sandbox.Limits())
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids"


def test_no_cgroup_where_none_can_be_made(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "_own_cgroup_v1", lambda controller: None)
    monkeypatch.setattr(sandbox, "_v2_root", lambda: None)
    assert sandbox.Cgroup.create(sandbox.Limits()) is None
    monkeypatch.setattr(sandbox, "_v2_root", lambda: tmp_path / "missing")  # unreadable
    assert sandbox.Cgroup.create(sandbox.Limits()) is None


def test_cgroup_v1_without_memory_files_is_not_a_memory_limit(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: "/usr/bin/prlimit")
    parents = {"memory": tmp_path / "memory", "pids": tmp_path / "pids"}
    for folder in parents.values():
        folder.mkdir()
    monkeypatch.setattr(sandbox, "_own_cgroup_v1", parents.get)
    made = sandbox.Cgroup.create(sandbox.Limits())
    assert made is not None and len(made.folders) == 2 and not made.memory
    assert sandbox.limit_each_process(1024, made)[0] == "prlimit"  # the fallback
    made.remove()
    assert not any(f.exists() for f in made.folders)


def test_memory_events_are_read_from_the_cgroup(tmp_path):
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\n")
    cgroup = sandbox.Cgroup([tmp_path], [tmp_path / "cgroup.procs"], memory=True)
    assert cgroup.oom_kills() == 2 and cgroup.limit_hits() == 12
    assert sandbox.Cgroup([tmp_path / "gone"], []).oom_kills() == 0


def test_entering_the_cgroups_writes_the_pid_to_each_then_runs_the_command(tmp_path):
    import subprocess

    procs = [tmp_path / "a.procs", tmp_path / "b.procs"]
    cgroup = sandbox.Cgroup([tmp_path], procs)
    done = subprocess.run([*cgroup.enter(), "echo", "kernel"], capture_output=True, text=True,
                          check=True, timeout=30)
    assert done.stdout == "kernel\n"
    assert procs[0].read_text().strip().isdigit()
    assert procs[0].read_text() == procs[1].read_text()


def test_per_process_limit_only_when_no_cgroup_limits_memory(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: "/usr/bin/prlimit")
    size = 512 * 2**20
    assert sandbox.limit_each_process(512) == ["prlimit", f"--as={size}:{size}", "--"]
    assert sandbox.limit_each_process(0) == []
    limited = sandbox.Cgroup([], [], memory=True)
    assert sandbox.limit_each_process(512, limited) == []
    assert sandbox.limit_each_process(512, sandbox.Cgroup([], []))[0] == "prlimit"


# --- execute: test cells judged in the grader, values read from the kernel ----------------

TEST_CELL = ('check("bad_risk_share", bad_risk_share)\n### BEGIN HIDDEN TESTS\n'
             'checks.grade("share", "bad_risk_share", bad_risk_share, "0.300")\n'
             '### END HIDDEN TESTS')


def _ok(value) -> dict:
    from course.grading.run import evidence

    return {"status": "ok", "data": {"text/plain": repr(evidence.encode(value))}}


class FakeKernelClient:
    """Answers a user-expressions request with ``replies`` (other messages first, if any)."""

    def __init__(self, values: dict | None = None, foreign: int = 0, silent: bool = False):
        self.values, self.foreign, self.asked = values or {}, foreign, []
        self.silent = silent

    def execute(self, code, silent, store_history, user_expressions):
        self.asked.append(user_expressions)
        return "mine"

    async def _async_get_shell_msg(self, timeout):
        if self.foreign:
            self.foreign -= 1
            return {"parent_header": {"msg_id": "other"}}
        if self.silent:
            raise TimeoutError  # as queue.Empty after the deadline
        return {"parent_header": {"msg_id": "mine"},
                "content": {"user_expressions": self.values}}


def _executor(kc=None, budget: float | None = None, stopped: str = ""):

    executor = execute.SandboxedExecute()
    executor._module, executor._stopped = "00_welcome", stopped
    executor._deadline = None if budget is None else time.monotonic() + budget
    executor._out_of_time, executor._answered, executor._setup_error = False, False, ""
    executor.kc = kc
    return executor


def _judged(executor, source: str = TEST_CELL) -> nbformat.NotebookNode:
    import asyncio

    cell = nbformat.v4.new_code_cell(source, execution_count=3)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 1,
                                 "grade_id": "bad_risk_share_test"}
    return asyncio.run(executor.async_execute_cell(cell, 4))


def test_a_right_value_from_the_kernel_is_judged_right_in_the_grader():
    kc = FakeKernelClient({"v0": _ok(0.3)})
    cell = _judged(_executor(kc))
    assert cell.metadata["course"]["verdict"]["status"] == "right"
    assert not [o for o in cell.outputs if o.output_type == "error"]
    assert "evidence" in kc.asked[0]["v0"]  # the kernel was asked for data, not to run a check
    assert cell.execution_count is None


def test_a_wrong_value_gets_the_learners_message_and_an_error():
    cell = _judged(_executor(FakeKernelClient({"v0": _ok(0.5)})))
    assert cell.metadata["course"]["verdict"]["status"] == "wrong"
    assert cell.outputs[-1].output_type == "error"  # what makes nbgrader score it zero


def test_an_error_in_the_kernel_is_named_in_the_verdict():
    reply = {"status": "error", "ename": "NameError", "evalue": "name 'x' is not defined"}
    cell = _judged(_executor(FakeKernelClient({"v0": reply})))
    assert cell.outputs[-1].ename == "NameError"
    assert "NameError: name 'x' is not defined" in cell.metadata["course"]["verdict"]["says"]


def test_a_silent_kernel_fails_the_test_within_the_deadline():
    cell = _judged(_executor(FakeKernelClient(silent=True)))
    assert cell.outputs[-1].ename == "KernelError"
    assert "did not answer" in cell.outputs[-1].evalue


def test_a_kernel_flooding_other_replies_cannot_hold_the_grader():
    limit = execute.MAX_FOREIGN
    cell = _judged(_executor(FakeKernelClient({"v0": _ok(0.3)}, foreign=limit + 1)))
    assert f"more than {limit} replies" in cell.outputs[-1].evalue
    skipped = _judged(_executor(FakeKernelClient({"v0": _ok(0.3)}, foreign=3)))
    assert skipped.metadata["course"]["verdict"]["status"] == "right"


def test_a_test_cell_the_grader_cannot_read_scores_zero_with_the_reason():
    cell = _judged(_executor(FakeKernelClient()), "print('no check here')")
    assert "this test cell cannot be graded" in cell.outputs[-1].evalue
    assert cell.metadata["course"]["verdict"]["status"] == "invalid"


def test_an_answer_stopped_by_the_time_limit_is_not_graded_not_wrong():
    executor = _executor(FakeKernelClient({"v0": _ok(None)}),
                         stopped="cell 3 (q1) ran out of time and was stopped")
    cell = _judged(executor)
    assert cell.outputs[-1].ename == "NotRun"
    assert "not graded: cell 3 (q1) ran out of time" in cell.outputs[-1].evalue
    assert cell.metadata["course"]["verdict"]["exercise"] == "bad_risk_share"


def test_no_values_are_asked_once_the_submissions_time_is_spent():
    kc = FakeKernelClient({"v0": _ok(0.3)})
    cell = _judged(_executor(kc, budget=-1))
    assert kc.asked == [] and cell.outputs[-1].ename == "NotRun"


@pytest.mark.parametrize(("reply", "message"), [
    (None, "sent no value"),
    ({"status": "ok", "data": {"text/plain": "12"}}, "not the grader's data"),
    ({"status": "ok", "data": {"text/plain": "'" + "x" * 5_000_000 + "'"}}, "too large"),
    ({"status": "ok", "data": {"text/plain": "'{not json'"}}, "could not be read"),
])
def test_a_value_the_grader_cannot_trust_is_refused(reply, message):
    with pytest.raises(execute.KernelValueError, match=message):
        execute._value(reply)


def test_cells_get_the_shorter_of_their_limit_and_the_time_left():
    executor = _executor(budget=None)
    executor.timeout = 30
    assert executor._cell_timeout(None) == 30
    executor = _executor(budget=1000)
    executor.timeout = 30
    assert executor._cell_timeout(None) == 30
    executor = _executor(budget=-5)
    executor.timeout = None
    assert executor._cell_timeout(None) == 1  # never 0 (nbclient: no limit)


def test_after_the_time_is_spent_the_reason_is_given_once_then_not_run():
    executor = _executor(budget=-1)
    executor.submission_timeout = 60
    first, second = executor._out_of_time_error(), executor._out_of_time_error()
    assert first.ename == "SubmissionTimeout" and "60 s were spent" in first.evalue
    assert second.ename == "NotRun"


def _errored(source: str, ename: str, answer: bool = False) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if answer:
        cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "q1"}
    if ename:
        cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue="no  module\nx",
                                               traceback=[])]
    return cell


def test_a_course_cell_failing_before_any_answer_is_the_setup_failing():
    executor = _executor()
    executor._note_setup_error(_errored("import sklearn", "ModuleNotFoundError"), 1)
    assert executor._setup_error == "cell 2: ModuleNotFoundError: no module x"


def test_after_an_answer_only_import_and_data_errors_are_the_setup():
    executor = _executor()
    executor._note_setup_error(_errored("x = None", "", answer=True), 3)
    executor._note_setup_error(_errored("plot(x)", "TypeError"), 4)
    assert executor._setup_error == ""  # the learner's answer broke it
    executor._note_setup_error(_errored("load()", "DatasetError"), 5)
    assert executor._setup_error.startswith("cell 6: DatasetError")


def test_a_stopped_cell_is_not_a_setup_error():
    executor = _executor()
    executor._note_setup_error(_errored("slow()", "CellTimeoutError"), 0)
    assert executor._setup_error == ""


# --- evidence: values carried out of the kernel as data -----------------------------------


def _round_trip(value):
    from course.grading.run import evidence

    return evidence.decode(evidence.encode(value))


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, "précis", [1, [2, "x"]], (1, 2), {"a": 1, 2: [None]}, ...,
    {(1, 2): "tuple key"},
])
def test_plain_values_come_back_equal_and_of_the_same_type(value):
    back = _round_trip(value)
    assert back == value and type(back) is type(value)


def test_non_finite_numbers_survive_json():
    import math

    back = _round_trip([float("nan"), float("inf"), -float("inf")])
    assert math.isnan(back[0]) and back[1:] == [float("inf"), -float("inf")]


def test_numpy_and_pandas_values_come_back_as_themselves():
    import numpy as np
    import pandas as pd

    array = np.array([[1.5, np.nan], [3.0, 4.0]], dtype="float32")
    back = _round_trip(array)
    assert back.dtype == array.dtype and back.shape == (2, 2)
    assert np.array_equal(back, array, equal_nan=True)
    assert _round_trip(np.int64(7)) == 7 and _round_trip(np.int64(7)).dtype == np.int64
    assert list(_round_trip(np.array(["a", None], dtype=object))) == ["a", None]
    series = pd.Series([0.1, 0.2], index=["p", "r"], name="scores")
    pd.testing.assert_series_equal(_round_trip(series), series)
    frame = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}, index=[10, 20])
    pd.testing.assert_frame_equal(_round_trip(frame), frame)


def test_an_unknown_object_is_described_never_rebuilt():
    class Secret:
        def __repr__(self):
            return "<secret " + "x" * 500 + ">"

    back = _round_trip(Secret())
    assert type(back).__name__ == "Secret" and len(repr(back)) == 200


def test_a_model_is_carried_as_its_score_on_the_declared_data():
    from course.grading.run import evidence

    class Fitted:
        def predict(self, X):
            return X

        def score(self, X, y):
            return 0.75

    class Broken(Fitted):
        def score(self, X, y):
            raise ValueError("X has 3 features, but the model expects 4")

    model = evidence.decode(evidence.encode_model(Fitted(), ([1], [1])))
    assert model.score() == 0.75 and hasattr(model, "predict")
    broken = evidence.decode(evidence.encode_model(Broken(), ([1], [1])))
    with pytest.raises(Exception, match="expects 4") as raised:
        broken.score()
    assert type(raised.value).__name__ == "ValueError"
    assert evidence.decode(evidence.encode_model(None, ())) is None  # not answered yet


def test_a_value_too_large_is_refused_in_the_kernel_with_a_reason():
    from course.grading.run import evidence

    with pytest.raises(evidence.EvidenceError, match="too large"):
        evidence.decode(evidence.encode(list(range(evidence.MAX_ITEMS + 1))))
    nested: list = []
    for _ in range(evidence.MAX_DEPTH + 2):
        nested = [nested]
    with pytest.raises(evidence.EvidenceError, match="too large"):
        evidence.decode(evidence.encode(nested))


@pytest.mark.parametrize(("data", "message"), [
    ('[1, 2]', "not an object"),
    ('{"nothing": 1}', "holds no value"),
    ('{"value": {"__float__": "1e999x"}}', "unknown number"),
    ('{"value": {"__code__": "import os"}}', "unknown kind of value"),
    ('{"value": {"__ndarray__": [1, 2, 3], "dtype": "<i8", "shape": [2]}}',
     "do not match its shape"),
    ('{"value": {"__ndarray__": [1], "dtype": "|V8", "shape": [1]}}', "are not accepted"),
    ('{"value": {"__ndarray__": ["2026"], "dtype": "<M8[D]", "shape": [1]}}',
     "are not accepted"),
    ('{"value": {"__ndarray__": [1], "dtype": "|O", "shape": [1]}}', "are not accepted"),
    ('{"value": {"__ndarray__": ["a", "b", "c"], "dtype": "<U100000000", "shape": [3]}}',
     "too large"),
    ('{"value": {"__dict__": [[[1], 2]]}}', "must be hashable"),
    ('{"value": {"__dict__": [[1, 2, 3]]}}', "must be pairs"),
    ('{"value": {"__scalar__": 1, "dtype": "O"}}', "are not accepted"),
    ('{"value": {"__frame__": {"columns": ["a", "b"], "data": [[1]], "index": [0]}}}',
     "columns do not match"),
])
def test_decode_refuses_what_encode_never_writes(data, message):
    from course.grading.run import evidence

    with pytest.raises(evidence.EvidenceError, match=message):
        evidence.decode(data)


def test_decode_refuses_data_nested_deeper_than_encode_writes():
    from course.grading.run import evidence

    deep = "[" * (evidence.MAX_DEPTH + 5) + "]" * (evidence.MAX_DEPTH + 5)
    with pytest.raises(evidence.EvidenceError, match="nested too deeply"):
        evidence.decode(f'{{"value": {deep}}}')


def test_decode_refuses_text_over_its_size_and_not_json():
    from course.grading.run import evidence

    with pytest.raises(evidence.EvidenceError, match="too large"):
        evidence.decode(" " * (evidence.MAX_CHARS + 1))
    with pytest.raises(evidence.EvidenceError, match="not JSON"):
        evidence.decode("{oops")
    with pytest.raises(evidence.EvidenceError, match="the value is too large to grade"):
        evidence.decode('{"error": "the value is too large to grade"}')


# --- execute: a whole submission through SandboxedExecute, with a fake kernel ------------


@pytest.fixture
def fake_kernel(monkeypatch):
    """nbgrader's Execute replaced: each cell's outputs come from ``metadata.fake``.

    ``metadata.fake = {"ename": ..., "spend": True}``: the cell fails with that
    error; ``spend`` uses up the submission's time while it runs.
    """
    ran: list[str] = []

    async def run_cell(self, cell, index, execution_count=None, store_history=True):
        ran.append(cell.source)
        fake = cell.metadata.get("fake", {})
        if fake.get("spend"):
            self._deadline = time.monotonic() - 1
        if fake.get("ename"):
            cell.outputs = [nbformat.v4.new_output("error", ename=fake["ename"],
                                                   evalue=fake.get("evalue", ""),
                                                   traceback=[])]
        return cell

    def preprocess(self, nb, resources=None, km=None):
        self.kc = FakeKernelClient({"v0": _ok(0.3)})
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                nb.cells[index] = self.execute_cell(cell, index)
        if nb.metadata.get("fake_crash"):
            raise RuntimeError("Kernel died")
        return nb, resources

    monkeypatch.setattr(execute.Execute, "async_execute_cell", run_cell)
    monkeypatch.setattr(execute.Execute, "preprocess", preprocess)
    return ran


def _submission(*cells: tuple[str, dict]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for source, fake in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["fake"] = fake
        if source.startswith("check("):
            cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 1,
                                         "grade_id": "bad_risk_share_test"}
        nb.cells.append(cell)
    return nb


def _grade(nb, executor=None, manager=None):
    executor = executor or execute.SandboxedExecute()
    executor._manager = manager
    resources = {"nbgrader": {"assignment": "00_welcome"}}
    return executor.preprocess(nb, resources)[0]


def test_a_submission_out_of_time_stops_its_later_cells_unrun(fake_kernel):
    nb = _grade(_submission(("x = 1", {}),
                            ("while True: pass", {"ename": "CellTimeoutError", "spend": True}),
                            ("y = 2", {}),
                            (TEST_CELL, {})))
    assert fake_kernel == ["x = 1", "while True: pass"]  # never sent after the time is spent
    assert nb.cells[1].outputs[-1].ename == "SubmissionTimeout"
    assert all(o.ename != "CellTimeoutError" for o in nb.cells[1].outputs)
    assert nb.cells[2].outputs[-1].ename == "NotRun"  # the reason once, then "not run"
    assert "time was spent" in nb.cells[2].outputs[-1].evalue
    assert nb.cells[3].outputs[-1].ename == "NotRun"
    assert "ran out of time" in nb.cells[3].outputs[-1].evalue


def test_a_right_answer_after_the_course_ran_is_graded(fake_kernel):
    nb = _grade(_submission(("bad_risk_share = 0.3", {}), (TEST_CELL, {})))
    assert nb.cells[1].metadata["course"]["verdict"]["status"] == "right"
    assert "course" not in nb.metadata  # nothing to report


def test_disk_setup_and_memory_problems_are_written_for_the_report(fake_kernel):
    class Manager:
        oom_kills, limit_hits = 2, 5

    nb = _grade(_submission(("import sklearn", {"ename": "ModuleNotFoundError",
                                                "evalue": "No module named 'sklearn'"}),
                            ("open('big','w').write('x' * 10**9)",
                             {"ename": "OSError", "evalue": "[Errno 28] No space left on device"}),
                            ("more()", {"ename": "OSError", "evalue": "No space left on device"})),
                manager=Manager())
    course = nb.metadata["course"]
    assert course["setup_error"] == "cell 1: ModuleNotFoundError: No module named 'sklearn'"
    assert course["disk_full"] == {"cell": 2, "limit_mb": sandbox.DEFAULT_DISK_MB}  # the first
    assert course["memory_limit_kills"] == 2 and "memory_limit_hits" not in course


def test_a_limit_reached_without_a_kill_is_recorded_as_hits(fake_kernel):
    class Manager:
        oom_kills, limit_hits = 0, 5

    nb = _grade(_submission(("x = 1", {})), manager=Manager())
    assert nb.metadata["course"] == {"memory_limit_hits": 5}


def test_a_failed_submission_that_reached_its_memory_limit_says_so_in_the_log(fake_kernel):
    from course.outcomes import MEMORY_LIMIT_HIT

    class Manager:
        oom_kills, limit_hits = 1, 3

    logged = []
    executor = execute.SandboxedExecute()
    executor.log.error = lambda text, *args: logged.append(text % args)
    nb = _submission(("x = 1", {}))
    nb.metadata["fake_crash"] = True
    with pytest.raises(RuntimeError, match="Kernel died"):
        _grade(nb, executor, Manager())
    assert logged == [f"{MEMORY_LIMIT_HIT} (1 processes killed, 3 times at the limit)"]


def test_the_kernel_manager_gets_this_runs_limits():
    executor = execute.SandboxedExecute(memory_mb=300, disk_mb=20, sandbox=False,
                                        kernel_name="python3")
    executor.nb = nbformat.v4.new_notebook()
    manager = executor.create_kernel_manager()
    assert isinstance(manager, execute.SandboxedKernelManager)
    assert manager.sandboxed is False
    assert manager.limits == sandbox.Limits(memory_mb=300, disk_mb=20)


def test_a_worker_starts_in_its_own_copy_of_the_template(tmp_path, monkeypatch):
    from course.grading import coursedir
    from course.grading.run import settings as run_settings

    template = tmp_path / "template"
    (template / "source").mkdir(parents=True)
    (template / "gradebook.db").write_text("db")
    for name in worker.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    monkeypatch.setattr(worker, "_die_with_parent", lambda: None)
    monkeypatch.setattr(worker, "_quiet", lambda folder: None)  # would take pytest's stdout
    monkeypatch.setattr(worker, "_STATE", {})
    asked = []

    def config(root, *args):
        asked.append((root, *args))
        return Config(CourseDirectory={"db_url": f"sqlite:///{root / 'gradebook.db'}"})

    monkeypatch.setattr(run_settings, "grading_config", config)
    monkeypatch.setattr(coursedir, "make_api", lambda config: "api")
    worker.start(str(template), Settings(timeout=5, memory_mb=100, threads=2, disk_mb=9))
    scratch = worker._STATE["scratch"]
    assert scratch.parent == tmp_path and scratch != template
    assert (scratch / "gradebook.db").read_text() == "db"  # its own copy, never shared
    assert asked == [(scratch, 5, 100, True, 0, 9)]
    assert worker._STATE["db_url"] == f"sqlite:///{scratch / 'gradebook.db'}"
    assert os.environ["OMP_NUM_THREADS"] == "2"
