"""Unit tests of the grading run's decisions and its reports, in process, no kernel.

``python -m course grade``, ``bench-grading`` and ``formgrader`` are run for
real by the slow tests; these check, with fakes where a kernel or nbgrader
would run, what an instructor relies on: a clear error for impossible options,
the status and reasons each student gets, what ``grades.log`` and the summary
say, and that the reports are written whole or not at all.
"""

from __future__ import annotations

import io
import os
import signal
import socket
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from course.grading import bench, formgrader
from course.grading import grade as grading
from course.grading.coursedir import GradingError
from course.grading.intake.collect import Collection, Stray
from course.grading.intake.roster import Student
from course.grading.records import gradebook, ledger
from course.grading.results import report
from course.grading.run import sandbox
from course.grading.run.worker import WorkerResult

# --- grade: options, the sandbox check, signals ------------------------------------------


def _options(tmp_path: Path, **changes) -> grading.GradeOptions:
    submissions = tmp_path / "submissions"
    submissions.mkdir(exist_ok=True)
    return grading.GradeOptions("00_welcome", submissions, **changes)


@pytest.mark.parametrize(("changes", "message"), [
    ({"workers": -1}, "--workers must be 1 or more"),
    ({"timeout": 0}, "--timeout must be a positive number"),
    ({"memory_mb": -5}, "--memory-mb and --disk-mb"),
    ({"disk_mb": -1}, "--memory-mb and --disk-mb"),
    ({"submission_timeout": -1}, "--submission-timeout must be 0"),
])
def test_impossible_numbers_are_refused_by_name(tmp_path, changes, message):
    with pytest.raises(GradingError, match=message):
        grading.check_options(_options(tmp_path, **changes))


def test_sensible_options_pass(tmp_path):
    grading.check_options(_options(tmp_path, workers=0, timeout=60, memory_mb=0, disk_mb=0,
                                   submission_timeout=0))


def test_missing_submissions_say_what_to_give(tmp_path):
    options = grading.GradeOptions("00_welcome", tmp_path / "nowhere")
    with pytest.raises(GradingError, match="do not exist: give a folder of notebooks or a .zip"):
        grading.check_options(options)


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    fake = tmp_path / "cohort.zip"
    fake.write_text("not a zip")
    with pytest.raises(GradingError, match="neither a folder nor a valid zip file"):
        grading.check_options(grading.GradeOptions("00_welcome", fake))


def test_grading_without_a_sandbox_warns_and_never_probes_it(tmp_path, monkeypatch, capsys):
    def probe():
        raise AssertionError("bwrap probed although --unsafe-no-sandbox")

    monkeypatch.setattr(sandbox, "bwrap", probe)
    grading.check_sandbox(_options(tmp_path, unsafe_no_sandbox=True))
    assert "WITHOUT a sandbox" in capsys.readouterr().err


def test_no_cgroup_is_said_before_grading(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "bwrap", lambda: "/usr/bin/bwrap")
    monkeypatch.setattr(sandbox.Cgroup, "create", classmethod(lambda cls, limits: None))
    grading.check_sandbox(_options(tmp_path))
    assert "memory limit applies to each process" in capsys.readouterr().err


def test_an_unusable_sandbox_stops_grading(tmp_path, monkeypatch):
    def probe():
        raise sandbox.SandboxUnavailable("bubblewrap (bwrap) is not installed")

    monkeypatch.setattr(sandbox, "bwrap", probe)
    with pytest.raises(sandbox.SandboxUnavailable):
        grading.check_sandbox(_options(tmp_path))


def test_sigterm_while_grading_stops_like_ctrl_c():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), grading.stop_on_sigterm():
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


# --- grade: one run's state and reports ---------------------------------------------------


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A grading run over a fake gradebook: no nbgrader, no kernel."""
    monkeypatch.setattr(gradebook, "hold_for_review", lambda *args: held.append(args[2]))
    held: list[str] = []
    config = Config()
    config.CourseDirectory.root = str(tmp_path / "course")
    config.CourseDirectory.db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    made = grading.Run(tmp_path / "course", config, _options(tmp_path),
                       tmp_path / "release" / "00_welcome.ipynb", tmp_path / "scratch",
                       stamp="2026-12-08T00:00:00+00:00")
    made.held = held
    return made


def test_a_failed_worker_holds_the_student_for_review(run):
    result = WorkerResult("ada", False, log="", error="nbclient.DeadKernelError: Kernel died")
    outcome = grading.absorb(run, result, report.Outcome("ada"), withhold=False)
    assert outcome.status == report.REVIEW
    assert "the kernel died" in outcome.reasons[0]
    assert run.held == ["ada"]
    assert run.log[-1].startswith("===== ada: 0.0 s")


def test_the_ledger_keeps_each_students_own_log_entry(run):
    run.log = ["===== ada: 1.0 s\nfirst", "===== bob: 2.0 s\nbob's", "===== ada: 3.0 s\nagain"]
    run.points = {"q1": 2.0}
    outcome = report.Outcome("ada", report.REVIEW, ["a reason", "not on the roster"])
    run.pending = {"ada", "bob"}
    run.record("ada", outcome)
    record = run.records["ada"]
    assert record.log == "===== ada: 3.0 s\nagain"  # the latest of this student's
    assert record.reasons == ["a reason"]  # "not on the roster" is worked out again each time
    assert record.points == {"q1": 2.0} and record.graded_at == run.stamp
    assert run.pending == {"bob"}


def test_the_roster_comes_first_then_submitters_not_on_it(run):
    roster = [Student("b"), Student("a")]
    people = grading.roster_and_others(run, roster, ["a", "z"])
    assert [s.id for s in people] == ["b", "a", "z"]


def test_a_student_not_finished_says_so(run):
    outcome = grading.pending_outcome(run, "ada")
    assert outcome.status == report.REVIEW
    assert "not graded yet" in outcome.reasons[0] and run.stamp in outcome.reasons[0]


def test_strays_are_not_graded_and_earlier_ones_are_kept_until_acted_on():
    collection = Collection(strays=[Stray("x_00.ipynb", "x", "not on the roster")])
    records = {"old": ledger.Record(report.NOT_GRADED, ["old_00.ipynb: not on the roster"]),
               "listed": ledger.Record(report.NOT_GRADED, ["listed_00.ipynb: bad id"]),
               "graded": ledger.Record(report.GRADED)}
    rows = {o.student: o for o in grading.stray_outcomes(collection, records, {"listed"})}
    assert set(rows) == {"x", "old"}
    assert rows["x"].status == report.NOT_GRADED
    assert rows["x"].reasons == ["x_00.ipynb: not on the roster"]
    assert rows["old"].reasons[-1] == grading.STRAY_KEPT


def test_strays_are_recorded_unless_the_id_is_on_the_list(run):
    run.collection = Collection(strays=[Stray("x.ipynb", "x", "bad id"),
                                        Stray("a.ipynb", "a", "duplicate")])
    run.everyone = [Student("a")]
    grading.record_strays(run)
    assert list(run.records) == ["x"]
    assert run.records["x"].status == report.NOT_GRADED and run.records["x"].log == ""


def test_checksum_warnings_are_left_out_of_the_log_and_counted(run):
    noise = f"[AutogradeApp | WARNING] {grading.CHECKSUM_NOISE} 'q1_test' has changed!"
    assert grading.quiet(f"start\n{noise}\n{noise}\nend") == ("start\nend", 2)
    run.collection = Collection(submitted={"ada": Path("a")}, skipped=[("notes.txt", "not "
                                                                       "a notebook")],
                                strays=[Stray("x\x1b[2J.ipynb", "x", "bad id")])
    run.everyone = [Student("ada")]
    run.records = {"ada": ledger.Record(report.GRADED, log=f"===== ada\n{noise}\nok")}
    text = grading.log_text(run)
    assert text.startswith(f"grading run {run.stamp}: 00_welcome, 1 notebook(s)")
    assert "skipped notes.txt: not a notebook" in text
    assert "not graded x\\x1b[2J.ipynb" in text  # a terminal escape shown, not run
    assert "(1 nbgrader warnings" in text and grading.CHECKSUM_NOISE not in text
    assert text.endswith("===== ada\nok\n")


def _test_cell(ename: str | None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("check('q1')", execution_count=1)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "q1_test"}
    if ename:
        cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue="…", traceback=[])]
    return cell


@pytest.mark.parametrize(("enames", "blank"), [
    (["NotAttempted", "NotAttempted"], True),
    (["NotAttempted", None], False),
    (["NotAttempted", "CheckFailed"], False),
    ([], False),
])
def test_blank_only_when_every_check_says_not_attempted(tmp_path, enames, blank):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), *map(_test_cell, enames)]
    nbformat.write(nb, tmp_path / "00_welcome.ipynb")
    assert grading.blank_submission(tmp_path) is blank


def test_the_run_stops_when_the_first_setups_fail_the_same_way(run):
    error = "cell 2: ModuleNotFoundError: No module named 'course'"
    grading.stop_if_the_course_cannot_run(run, [error], 10)  # one so far: go on
    grading.stop_if_the_course_cannot_run(run, [error, "", error], 10)  # not all the same
    with pytest.raises(GradingError) as stopped:
        grading.stop_if_the_course_cannot_run(run, [error] * grading.SAME_SETUP_ERROR, 10)
    assert "7 other(s) were not graded" in str(stopped.value)
    assert "pip install -e ." in str(stopped.value)


# --- report: reasons, rows, the summary -------------------------------------------------


@pytest.mark.parametrize(("log", "reason"), [
    ("nbclient.exceptions.DeadKernelError: Kernel died", "the kernel died"),
    ("raise DeadKernelError(msg)\nDeadKernelError", "the kernel died"),
    ("the kernel became unresponsive", "stopped responding"),
    ("Timeout waiting for IOPub output", "a cell's output never ended"),
    ("Traceback\nKeyError: 'x'\nnbformat.ValidationError: bad cell\n",
     "nbgrader could not grade it (nbformat.ValidationError: bad cell)"),
    ("something odd", "nbgrader could not grade it (see the grading log)"),
])
def test_failure_reasons_say_what_happened(log, reason):
    assert reason in report.failure_reason({"log": log, "error": ""})


def test_escape_shows_control_and_direction_characters():
    assert report.escape("ada\r\x1b[31m") == "ada\\r\\x1b[31m"
    assert report.escape("evil\u202etxt.ipynb") == "evil\\u202etxt.ipynb"
    assert report.escape("Zoë") == "Zoë"


def test_review_keeps_each_reason_once():
    outcome = report.Outcome("ada")
    outcome.review("late")
    outcome.review("late")
    assert outcome.status == report.REVIEW and outcome.reasons == ["late"]


def test_a_row_is_final_only_when_graded(tmp_path):
    graded = report.Outcome("ada", report.GRADED, [], 7.5, 10.0, "t")
    held = report.Outcome("=cmd()", report.REVIEW, ["a", "b"])
    rows = [report.outcome_row(graded, "m", Student("ada", "Ada", None, "a@x")),
            report.outcome_row(held, "m", None)]
    assert rows[0]["final"] == "yes" and rows[0]["score"] == "7.5" and rows[0]["email"] == "a@x"
    assert rows[1]["final"] == "no" and rows[1]["reasons"] == "a; b" and rows[1]["score"] == ""
    text = report.csv_text(rows)
    assert text.splitlines()[0] == ",".join(report.COLUMNS)
    assert "'=cmd()" in text  # a formula is written as text


@pytest.mark.parametrize(("outcome", "standing", "status", "reason"), [
    (report.Outcome("a"), gradebook.Standing(False), report.MISSING, "no notebook submitted"),
    (report.Outcome("a", report.REVIEW, ["x"]), gradebook.Standing(True, 1, 2),
     report.GRADED, "reviewed by hand"),
    (report.Outcome("a"), gradebook.Standing(True, 1, 2, True, by_hand=["memo"]),
     report.BY_HAND, "written answers for the formgrader: memo"),
    (report.Outcome("a"), gradebook.Standing(True, 1, 2, True),
     report.REVIEW, "items marked for manual grading"),
])
def test_settle_reads_what_a_human_did_since(outcome, standing, status, reason):
    settled = report.settle(outcome, standing)
    assert settled.status == status and reason in "; ".join(settled.reasons)


def test_points_changed_since_grading_ask_for_a_regrade():
    standing = gradebook.Standing(True, 1, 3, points={"q1": 1.0, "q2": 2.0})
    settled = report.settle(report.Outcome("a"), standing, {"q1": 1.0, "q2": 1.0})
    assert settled.status == report.REVIEW and "q2 1 -> 2" in settled.reasons[0]


def test_a_held_submission_without_its_record_stays_held():
    standing = gradebook.Standing(True, 0, 2, needs_manual_grade=True, held=True)
    settled = report.settle(report.Outcome("a"), standing, None, recorded=False)
    assert settled.status == report.REVIEW
    assert "held for review by an earlier grading run" in settled.reasons[0]


def test_summary_counts_finals_without_the_strays():
    out = io.StringIO()
    report.summary([report.Outcome("ada", report.GRADED, [], 3, 4),
                    report.Outcome("bob", report.REVIEW, ["late"]),
                    report.Outcome("x", report.NOT_GRADED, ["bad id"])], out,
                   skipped=[("notes.txt", "not a notebook")])
    text = out.getvalue()
    assert "ada" in text and "3/4" in text
    assert "skipped notes.txt: not a notebook" in text
    assert "!! 1 notebook(s) NOT GRADED because of their student id: x" in text
    assert text.rstrip().endswith("1 graded, 1 needs review, 0 missing, 1 not graded; 1 of 2 "
                                  "final (the 1 not graded are not counted)")


def test_progress_without_a_terminal_is_one_line_per_student():
    out = io.StringIO()
    bar = report.ProgressBar(2, "grading m", out)
    bar.step("ada", report.GRADED)
    bar.step("bob", report.REVIEW)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("grading m [" + "#" * 30 + "] 2/2")
    assert lines[1].endswith("bob: needs review")


def _autograded(tmp_path: Path, metadata: dict, outputs: list) -> Path:
    nb = nbformat.v4.new_notebook(metadata={"course": metadata})
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"grade_id": "q1", "solution": True, "grade": False}
    cell.outputs = outputs
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "m.ipynb")
    return tmp_path


def test_kernel_problems_read_from_the_graded_notebook(tmp_path):
    timeout = nbformat.v4.new_output("error", ename="CellTimeoutError", evalue="", traceback=[])
    folder = _autograded(tmp_path, {"setup_error": "cell 1: ImportError: x",
                                    "disk_full": {"cell": 3, "limit_mb": 64},
                                    "memory_limit_kills": 2}, [timeout, timeout])
    problems = report.kernel_problems(folder, 30)
    text = "\n".join(problems)
    assert "the notebook's setup failed (cell 1: ImportError: x)" in text
    assert "cell 3 wrote more than the submission's disk limit (64 MB" in text
    assert "2 of its processes were stopped" in text
    assert sum("1 (q1)" in p for p in problems) == 1  # the same problem once
    assert report.setup_error(folder) == "cell 1: ImportError: x"


def test_reaching_the_memory_limit_is_said_when_nothing_was_killed(tmp_path):
    folder = _autograded(tmp_path, {"memory_limit_hits": 4}, [])
    assert report.kernel_problems(folder, None) == [
        "the submission reached its memory limit (all its processes together); what failed "
        "after it was slowed or stopped by that"]
    assert report.setup_error(folder) == ""


# --- ledger: kept across runs, written whole ----------------------------------------------


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "grades.csv"
    ledger.write_atomic(path, "old\n")

    def broken(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        ledger.write_atomic(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


def test_a_lone_surrogate_in_a_reason_does_not_stop_the_write(tmp_path):
    path = tmp_path / "grades.log"
    ledger.write_atomic(path, "message \udcff\n")
    assert path.read_text(encoding="utf-8") == "message \\udcff\n"


def test_the_ledger_keeps_other_assignments(tmp_path):
    output = tmp_path / "grades.csv"
    ledger.save(output, "01", {"ada": ledger.Record(report.GRADED, ["r"], "log", "t", {"q": 1})})
    ledger.save(output, "02", {"bob": ledger.Record(report.REVIEW)})
    assert ledger.load(output, "01")["ada"].points == {"q": 1}
    assert list(ledger.load(output, "02")) == ["bob"]
    assert ledger.load(output, "03") == {}


def test_an_unreadable_ledger_counts_as_none(tmp_path):
    output = tmp_path / "grades.csv"
    ledger.ledger_path(output).parent.mkdir()
    ledger.ledger_path(output).write_text("{ half a file")
    assert ledger.load(output, "01") == {}
    ledger.save(output, "01", {})
    assert ledger.load(output, "01") == {}


def test_each_runs_report_is_kept_under_its_time(tmp_path):
    output = tmp_path / "grades.csv"
    output.write_text("csv")
    output.with_suffix(".log").write_text("log")
    kept = ledger.keep_copy(output, "2026-12-08T01:02:03+00:00")
    assert [p.name for p in kept] == ["2026-12-08T010203Z-grades.csv",  # no ":" in a name
                                      "2026-12-08T010203Z-grades.log"]
    assert kept[0].parent == tmp_path / ledger.HISTORY and kept[1].read_text() == "log"


# --- bench-grading, formgrader -------------------------------------------------------------


def test_bench_batch_alternates_right_and_blank(tmp_path, monkeypatch):
    for folder in ("source", "release"):
        path = tmp_path / folder / "m" / "m.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(folder)
    monkeypatch.setattr(bench, "load_config", lambda root: Config())
    monkeypatch.setattr(bench, "source_dir", lambda config: "source")
    monkeypatch.setattr(bench, "release_dir", lambda config: "release")
    ids = bench.make_batch(tmp_path, "m", tmp_path / "batch", 3)
    assert ids == ["s01", "s02", "s03"]
    texts = [(tmp_path / "batch" / f"{s}_m.ipynb").read_text() for s in ids]
    assert texts == ["source", "release", "source"]


@pytest.mark.parametrize(("second", "verdict"), [([1.0, 0.0], "yes"), ([1.0, 1.0], "NO")])
def test_bench_says_whether_the_three_ways_agree(tmp_path, monkeypatch, capsys, second,
                                                 verdict):
    monkeypatch.setattr(bench, "put_venv_on_path", lambda: None)
    monkeypatch.setattr(bench, "course_root", lambda path: tmp_path)
    monkeypatch.setattr(bench, "load_config", lambda root: Config())
    monkeypatch.setattr(bench, "check_assignment", lambda *args: None)
    monkeypatch.setattr(bench, "make_batch", lambda root, module, folder, n: ["s01", "s02"])
    monkeypatch.setattr(bench, "nbgrader_loop", lambda *args: "nbgrader")
    monkeypatch.setattr(bench, "course_grade", lambda root, m, b, tmp, workers: workers)
    found = {"nbgrader": [1.0, 0.0], 1: [1.0, 0.0], 3: second}
    monkeypatch.setattr(bench, "scores", lambda course, module, ids: found[course])
    bench.bench_grading("m", tmp_path, students=2, workers=3)
    out = capsys.readouterr().out
    assert "python -m course grade --workers 3" in out
    assert out.rstrip().endswith(f"scores identical in all three: {verdict}")


def test_a_taken_port_moves_to_a_free_one():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert formgrader.free_port("127.0.0.1", port, tries=5) != port
        with pytest.raises(GradingError, match=f"no free port from {port} to {port}"):
            formgrader.free_port("127.0.0.1", port, tries=1)


def test_the_formgrader_command_keeps_its_port():
    options = formgrader.ServerOptions(9000, "0.0.0.0", no_browser=True, allow_root=False)
    command = formgrader.formgrader_command(9001, options)
    assert "--port=9001" in command and "--ServerApp.port_retries=0" in command
    assert "--LabApp.default_url=/formgrader" in command
    assert "--ip=0.0.0.0" in command and "--no-browser" in command
    assert "--allow-root" not in command
    assert not any(a.startswith("--ip") for a in formgrader.formgrader_command(9001))


def test_a_dry_run_prints_the_address_and_starts_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(formgrader, "course_root", lambda path: tmp_path)
    monkeypatch.setattr(formgrader, "free_port", lambda ip, first: first + 1)

    def never(*args, **kwargs):
        raise AssertionError("a dry run started the server")

    monkeypatch.setattr(formgrader.subprocess, "run", never)
    assert formgrader.open_formgrader(tmp_path, 8888, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "http://localhost:8889/formgrader (port 8888 is taken)" in out


# --- the command line ---------------------------------------------------------------------


def test_grade_passes_every_option_on(tmp_path, monkeypatch):
    from course.cli import main

    given = []
    monkeypatch.setattr(grading, "grade", given.append)
    status = main(["grade", "00_welcome", str(tmp_path), "--workers", "3", "--timeout", "20",
                   "--memory-mb", "512", "--disk-mb", "64", "--submission-timeout", "60",
                   "--unsafe-no-sandbox", "--allow-unlisted", "--course-dir", str(tmp_path),
                   "--output", str(tmp_path / "out.csv"), "--pattern", "(?P<student_id>x)"])
    assert status == 0
    options = given[0]
    assert (options.workers, options.timeout, options.memory_mb, options.disk_mb,
            options.submission_timeout) == (3, 20, 512, 64, 60)
    assert options.unsafe_no_sandbox and options.allow_unlisted and options.roster is None
    assert options.output == tmp_path / "out.csv"


def test_an_instructor_error_is_one_line_and_status_2(tmp_path, monkeypatch, capsys):
    from course.cli import main

    def refuse(options):
        raise GradingError("--workers must be 1 or more")

    monkeypatch.setattr(grading, "grade", refuse)
    assert main(["grade", "00_welcome", str(tmp_path), "--course-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: --workers must be 1 or more\n"


# --- export and feedback: the steps after grading -----------------------------------------


@pytest.fixture
def exporting(tmp_path, monkeypatch):
    """``export`` over a fake course: two gradebook students, one graded, one held."""
    from course.grading.results import export

    monkeypatch.setattr(export, "put_venv_on_path", lambda: None)
    monkeypatch.setattr(export, "course_root", lambda path: tmp_path)
    monkeypatch.setattr(export, "load_config", lambda root: Config(
        CourseDirectory={"db_url": f"sqlite:///{tmp_path / 'gradebook.db'}"}))
    monkeypatch.setattr(export, "check_assignment", lambda *args: None)
    monkeypatch.setattr(gradebook, "students", lambda db: [Student("bob"), Student("ada")])

    def outcomes_now(db, assignment, people, records, on_roster):
        status = {"ada": report.GRADED, "bob": report.REVIEW}
        return [report.Outcome(s.id, status.get(s.id, report.MISSING),
                               ["not on the roster"] if on_roster and s.id not in on_roster
                               else [], 1.0, 2.0) for s in people]

    monkeypatch.setattr(export, "outcomes_now", outcomes_now)
    return export


def test_export_refuses_before_any_grading(exporting, tmp_path):
    with pytest.raises(GradingError, match="there is no gradebook .* grade 00_welcome first"):
        exporting.export("00_welcome", tmp_path)
    assert not (tmp_path / "final_grades.csv").exists()


def test_export_writes_every_student_and_says_how_many_are_final(exporting, tmp_path, capsys):
    (tmp_path / "gradebook.db").write_text("")
    exporting.export("00_welcome", tmp_path)
    rows = (tmp_path / "final_grades.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["bob", "ada"]
    assert "1 final, 1 not final" in capsys.readouterr().out


def test_export_follows_the_roster_order(exporting, tmp_path):
    (tmp_path / "gradebook.db").write_text("")
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,first_name\nada,Ada\ncyd,Cyd\n")
    exporting.export("00_welcome", tmp_path, to=tmp_path / "out.csv", roster=roster)
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert [r.split(",")[:2] for r in rows[1:]] == [["ada", "Ada"], ["cyd", "Cyd"]]


@pytest.fixture
def refreshing(tmp_path, monkeypatch):
    """``refresh_feedback`` with a fake nbgrader API; returns its replies per student."""
    from course.grading.results import refresh
    from course.grading.run import settings

    for student in ("ada", "bob", "cyd"):
        (tmp_path / "autograded" / student / "m").mkdir(parents=True)
    replies = {"ada": {"success": True},
               "bob": {"success": False, "error": "Traceback\nKeyError: 'memo'\n"},
               "cyd": {"success": False}}

    class Api:
        def generate_feedback(self, assignment, student, force):
            return replies[student]

    monkeypatch.setattr(refresh, "put_venv_on_path", lambda: None)
    monkeypatch.setattr(settings, "grading_config", lambda root: Config())
    monkeypatch.setattr(refresh, "make_api", lambda config: Api())
    return refresh


def test_feedback_failures_give_the_last_line_of_nbgraders_reason(refreshing, tmp_path):
    done = refreshing.refresh_feedback(tmp_path, "m")
    assert done.written == ["ada"]
    assert done.failed == {"bob": "KeyError: 'memo'", "cyd": "nbgrader gave no reason"}


def test_feedback_for_a_student_never_graded_is_refused(refreshing, tmp_path):
    with pytest.raises(GradingError, match="no autograded notebook for zed in autograded/\\*/m"):
        refreshing.refresh_feedback(tmp_path, "m", ["ada", "zed"])


def test_the_ungraded_message_names_students_items_and_the_way_out():
    from course.grading.results.refresh import ungraded_message

    text = ungraded_message({"ada": ["memo", "q2"]}, "03_metrics")
    assert "1 student(s)" in text and "ada (memo, q2)" in text
    assert "accept 03_metrics STUDENT" in text and "--allow-ungraded" in text


# --- grade: the whole run stopped, a graded student merged -------------------------------


def test_an_interrupted_run_says_what_to_do_and_cleans_up(tmp_path, monkeypatch):
    root = tmp_path / "course"
    monkeypatch.setattr(grading, "put_venv_on_path", lambda: None)
    monkeypatch.setattr(grading, "course_root", lambda path: root)
    monkeypatch.setattr(grading, "load_config", lambda root: Config())
    monkeypatch.setattr(grading, "check_assignment", lambda *args: None)
    monkeypatch.setattr(grading, "check_sandbox", lambda options: None)
    monkeypatch.setattr(grading, "default_pattern", lambda config: r"(?P<student_id>\w+)")
    cleaned, scratch = [], []
    monkeypatch.setattr(sandbox, "clean_up", lambda: cleaned.append(True))

    def interrupted(base, *args):
        scratch.append(base)
        raise KeyboardInterrupt

    monkeypatch.setattr(grading, "_grade_in", interrupted)
    with pytest.raises(GradingError, match="stopped before it finished .* run grade again"):
        grading.grade(_options(tmp_path))
    assert cleaned == [True] and not scratch[0].exists()


def test_a_graded_student_is_merged_with_each_reason(run, monkeypatch, tmp_path):
    autograded = tmp_path / "worker" / "autograded"
    autograded.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(metadata={"course": {"memory_limit_hits": 1}})
    nbformat.write(nb, autograded / "00_welcome.ipynb")
    monkeypatch.setattr(grading.Run, "folder", lambda self, step, student: tmp_path / step)
    merged = []

    def merge(db, assignment, student, scores, hold, points):
        merged.append(hold)
        return ["written answers for the formgrader: memo"]

    monkeypatch.setattr(gradebook, "merge_scores", merge)
    result = WorkerResult("ada", True, scores={"q1": {"auto_score": 1.0}},
                          autograded=str(autograded), feedback_error="template broke")
    outcome = grading.absorb(run, result, report.Outcome("ada"), withhold=True)
    assert (tmp_path / "autograded" / "00_welcome.ipynb").is_file()  # copied from the worker
    assert outcome.status == report.REVIEW
    text = "; ".join(outcome.reasons)
    assert "reached its memory limit" in text
    assert "feedback could not be written" in text
    assert "points withheld until reviewed" in text
    assert "written answers for the formgrader: memo" in text
    assert merged == [gradebook.Hold.WITHHOLD]


def test_a_pending_student_keeps_pending_but_shows_the_score_now(run):
    people = [Student("ada"), Student("bob")]
    standings = {"ada": gradebook.Standing(True, 3, 4), "bob": gradebook.Standing(False)}
    pending = {"ada": grading.pending_outcome(run, "ada")}
    records = {"bob": ledger.Record(report.REVIEW, ["late"])}
    settled = grading.outcomes_now("", "m", people, records, {"ada"}, pending, standings)
    assert settled[0].status == report.REVIEW and settled[0].score == 3
    assert "not graded yet" in settled[0].reasons[0]
    assert settled[1].status == report.MISSING
    assert "not on the roster" in settled[1].reasons


# --- intake: what the integrity scan flags, and what it leaves alone ---------------------


@pytest.mark.parametrize(("code", "kind"), [
    ("for checks in [1]: pass", "check helpers"),
    ("with open_it() as checks: pass", "check helpers"),
    ("(checks := 1)", "check helpers"),
    ("checks.close_enough += 1", "check helpers"),
    ("checks.tolerance: float = 1.0", "check helpers"),
    ("del checks.grade", "check helpers"),
    ("import numpy as checks", "check helpers"),
    ("from mine import checks", "check helpers"),
    ("def checks(): pass", "check helpers"),
    ("class checks: pass", "check helpers"),
    ("setattr(math, 'isclose', lambda *a, **k: True)", "check helpers"),
    ("import sys\nsys.modules['course.checks'] = None", "check helpers"),
    ("Always = type('Always', (float,), {})", "number subclass"),
    ("class Yes:\n    def __eq__(self, other): return True", "number subclass"),
    ("get_ipython().ast_transformers.append(t)", "IPython hooks"),
    ("%load_ext mine", "IPython hooks"),
    ("!cat ../solutions/03_metrics.ipynb", "file access"),
    ("data = 'gradebook.db'", "file access"),
    ("eval('1 + 1')", "dynamic code"),
    ("checks = (1,\n", "check helpers"),  # does not parse: the fallback still sees it
])
def test_tampering_is_flagged_with_its_line(code, kind):
    from course.grading.intake import integrity

    flags = integrity.scan_code(code, "cell 4 (q1)")
    assert kind in {f.kind for f in flags}
    assert all("in cell 4 (q1)" in f.detail for f in flags)


@pytest.mark.parametrize("code", [
    "from course import checks", "for i in range(3): total += i", "x: int = 1",
    "with context() as handle: pass", "del results[0]", "answer = round(0.512, 3)",
    "print('the share of bad credits / all credits')",
])
def test_ordinary_answers_are_not_flagged(code):
    from course.grading.intake import integrity

    assert integrity.scan_code(code, "cell 1") == []


def test_changing_the_reference_data_of_a_locked_cell_is_flagged():
    from course.grading.intake import integrity

    release = nbformat.v4.new_notebook()
    locked = nbformat.v4.new_code_cell("batch: list = load()\ncosts, rates = 1, 2")
    locked.metadata["nbgrader"] = {"locked": True, "grade_id": "data", "grade": False,
                                   "solution": False}
    release.cells = [locked]
    assert integrity.reference_names(release) == {"batch", "costs", "rates"}
    submitted = nbformat.v4.new_notebook()
    submitted.cells = [nbformat.v4.new_code_cell("costs = 0")]
    kinds = [f.kind for f in integrity.scan(submitted, release)]
    assert kinds == ["reference data", "reference data"]  # deleted, and reassigned
    details = " ".join(str(f) for f in integrity.scan(submitted, release))
    assert "locked cell data was deleted" in details and "`costs = 0` in cell 1" in details


# --- the command line of the steps after grading -----------------------------------------


def test_feedback_refuses_while_items_wait_for_a_human(tmp_path, monkeypatch, capsys):
    from course.cli import main
    from course.grading import coursedir
    from course.grading.results import refresh

    monkeypatch.setattr(coursedir, "course_root", lambda path: tmp_path)
    monkeypatch.setattr(coursedir, "load_config", lambda root: Config())
    monkeypatch.setattr(coursedir, "check_assignment", lambda *args: None)
    monkeypatch.setattr(refresh, "ungraded", lambda root, a, s: {"ada": ["memo"]})
    written = []
    monkeypatch.setattr(refresh, "refresh_feedback", lambda root, a, s: written.append(s)
                        or refresh.Refreshed(["ada"], {}))
    argv = ["feedback", "00_welcome", "--course-dir", str(tmp_path)]
    assert main(argv) == 2
    assert "error: feedback not written: 1 student(s)" in capsys.readouterr().err
    assert written == []
    assert main([*argv, "--allow-ungraded"]) == 0
    assert "WARNING: --allow-ungraded" in capsys.readouterr().err and written == [None]


def test_bench_grading_passes_its_options_on(tmp_path, monkeypatch):
    from course.cli import main

    given = []
    monkeypatch.setattr(bench, "bench_grading", lambda *args: given.append(args))
    assert main(["bench-grading", "00_welcome", "--students", "4", "--workers", "2",
                 "--course-dir", str(tmp_path)]) == 0
    assert given == [("00_welcome", tmp_path, 4, 2)]
