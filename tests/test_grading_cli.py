"""`python -m course grade` and `progress` end to end, through nbgrader, on 00_welcome.

One cohort (a zip from a learning platform, a roster with a student who sent
nothing) holds a submission of every bad kind: an endless loop, a crashed
kernel, a memory bomb, invalid JSON, and each way of cheating (monkey-patched
or rebound checks, an input transformer, a float subclass, reading the
solutions, deleted test cells). Each is reported, the batch goes on, and none
gains points it did not earn. A second, sequential run must agree with the
parallel one. Fast tests cover bad command-line input, collection, the
integrity scan and the feedback filter without running nbgrader.
"""

import csv
import hashlib
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from attacks import ATTACKS, EXTRA_CELLS, attack_code
from nbgrader.api import Gradebook
from nbtools import (
    HIDDEN,
    ROOT,
    course_env,
    grading,
    is_answer_cell,
    is_test_cell,
    load_spec,
    make_course,
    module_ids,
    read,
    release_path,
    require_sandbox,
    solution_path,
)

from course.cli import main
from course.grading.coursedir import GradingError
from course.grading.intake import integrity
from course.grading.intake.collect import collect
from course.grading.intake.roster import read_roster
from course.grading.results.feedback import HideHiddenTests
from course.grading.run.sandbox import Cgroup, Limits
from course.layout import run_nbgrader
from course.notebook import is_hand_graded

MODULE = "00_welcome"
TIMEOUT = "10"
SUBMISSION_TIMEOUT = "25"
#: What the cohort fixture saw around the grading run (network, protected files, time).
COHORT: dict = {}

# Answer cells by grade id; anything not given keeps the release placeholder.
RIGHT = {"bad_risk_share_answer": "bad_risk_share = 0.3", "answer_q1_answer": "answer_q1 = 'B'"}
WRONG = {"bad_risk_share_answer": "bad_risk_share = 0.9", "answer_q1_answer": "answer_q1 = 'A'"}
CHEATS = {
    "patches-checks": "checks.grade = lambda *a, **k: None\n"
                      "checks.share = checks.key_of = checks.grade\n"
                      "bad_risk_share = 0.9",
    "rebinds-checks": "class Lenient:\n    def __getattr__(self, name):\n"
                      "        return lambda *a, **k: None\n\n"
                      "checks = Lenient()\nbad_risk_share = 0.9",
    "input-transformer": "get_ipython().input_transformers_cleanup.append(\n"
                         "    lambda lines: ['pass\\n'] if any('checks.' in l for l in lines)"
                         " else lines)\nbad_risk_share = 0.9",
    "float-subclass": "class Always(float):\n    def __eq__(self, other):\n        return True\n"
                      "    __hash__ = float.__hash__\n\nbad_risk_share = Always(0.9)",
    "reads-solutions": "import pathlib, re, course\n"
                       "root = pathlib.Path(course.__file__).resolve().parents[1]\n"
                       "text = (root / 'solutions/00_welcome/00_welcome.ipynb').read_text()\n"
                       "bad_risk_share = float(re.search(r'bad_risk_share, \\\\\"([0-9.]+)',"
                       " text).group(1))",
    "reads-gradebook": "import sqlite3, pathlib, course\n"
                       "root = pathlib.Path(course.__file__).resolve().parents[1]\n"
                       "db = sqlite3.connect(str(root / 'gradebook.db'))\n"
                       "rows = db.execute('select name from sqlite_master').fetchall()\n"
                       "bad_risk_share = 0.9",
}
KINDS = {"patches-checks": "check helpers", "rebinds-checks": "check helpers",
         "input-transformer": "IPython hooks", "float-subclass": "number subclass",
         "reads-solutions": "file access", "reads-gradebook": "file access"}


def _answers(answers):
    nb = read(release_path(MODULE))
    for cell in nb.cells:
        grade_id = grading(cell).get("grade_id")
        if is_answer_cell(cell) and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def _text(nb):
    return nbformat.writes(nb) if not isinstance(nb, str) else nb


def _attack(name, course, port):
    nb = _answers({**WRONG, "bad_risk_share_answer": attack_code(name, str(course), port)})
    at = next(i for i, c in enumerate(nb.cells) if grading(c).get("grade_id")
              == "bad_risk_share_answer")
    nb.cells[at + 1:at + 1] = [nbformat.v4.new_code_cell(code)
                               for code in EXTRA_CELLS.get(name, [])]
    return nb


def _cohort(course="", port=0):
    """``{student: notebook text}``: one submission of every kind, and every attack."""
    deleted = _answers(RIGHT)
    deleted.cells = [c for c in deleted.cells if not is_test_cell(c)]
    edited = _answers(WRONG)
    for cell in edited.cells:
        if is_test_cell(cell):
            cell.source = "print('all good')"
    cohort = {
        "a-right": _answers(RIGHT),
        "b-nearly": _answers({**RIGHT, "bad_risk_share_answer": "bad_risk_share = 0.304"}),
        "c-wrong": _answers(WRONG),
        "d-loops": _answers({**RIGHT, "bad_risk_share_answer": "while True:\n    pass"}),
        "e-crashes": _answers({"bad_risk_share_answer": "import os\nos._exit(1)"}),
        "f-memory-bomb": _answers({**RIGHT, "bad_risk_share_answer":
                                   "hog = b'x' * (3 * 1024**3)\nbad_risk_share = 0.3"}),
        "g-invalid-json": "{ this is not a notebook",
        "h-deletes-tests": deleted,
        "i-edits-tests": edited,
    }
    for name, code in CHEATS.items():
        cohort[name] = _answers({**WRONG, "bad_risk_share_answer": code})
    for name in ATTACKS:
        cohort[f"x-{name}"] = _attack(name, course, port)
    return {student: _text(nb) for student, nb in cohort.items()}


class Listener:
    """A TCP server on loopback that records whether anything connected."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _protected(course):
    """Files no submission may change: the installed course package and the course's own."""
    import course as package

    files = [*Path(package.__file__).parent.rglob("*.py"), *(course / "solutions").rglob("*"),
             course / "nbgrader_config.py"]
    return {str(p): _digest(p) for p in files if p.is_file()}


def _course(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    return make_course(course, [MODULE])


def _grade(course, *args):
    require_sandbox()
    cmd = [sys.executable, "-m", "course", "grade", *args]
    result = subprocess.run(cmd, cwd=course, env=course_env(), capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _rows(path):
    return {row["student_id"]: row for row in csv.DictReader(path.open())}


def _gradebook(course, student):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(MODULE, student)
        return {g.name: (g.auto_score, g.needs_manual_grade) for nb in sub.notebooks
                for g in nb.grades}, sub.score


def _visible(path):
    """The text a reader sees in an HTML file (tags and escapes removed)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def _hidden_lines():
    lines = []
    for cell in read(solution_path(MODULE)).cells:
        for block in HIDDEN.findall(cell.source):
            lines += [ln.strip() for ln in block.splitlines() if "HIDDEN TESTS" not in ln]
    return [ln for ln in lines if ln]


# --- one parallel run of the whole cohort -------------------------------------------------


@pytest.fixture(scope="module")
def cohort_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cohort")
    course = _course(tmp)
    listener = Listener()
    before = _protected(course)
    archive = tmp / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for student, text in _cohort(course, listener.port).items():
            zf.writestr(f"submissions/{student}_{MODULE}.ipynb", text)
        zf.writestr("submissions/readme.txt", "not a notebook")
        zf.writestr("__MACOSX/submissions/._a-right_00_welcome.ipynb", "junk")
    roster = tmp / "roster.csv"
    students = [*_cohort(), "z-absent"]
    roster.write_text("student_id,first_name,last_name,email\n"
                      + "".join(f"{s},First,Last,{s}@example.org\n" for s in students))
    began = time.monotonic()
    result = _grade(course, MODULE, str(archive), "--roster", str(roster), "--workers", "2",
                    "--timeout", TIMEOUT, "--submission-timeout", SUBMISSION_TIMEOUT)
    seconds = time.monotonic() - began
    time.sleep(3)  # a daemon left behind would write within a second or two
    COHORT.update(listener=listener, before=before, after=_protected(course), seconds=seconds)
    return course, _rows(course / "grades.csv"), result


@pytest.mark.slow
def test_one_row_per_roster_student_missing_included(cohort_run):
    course, rows, result = cohort_run
    assert set(rows) == {*_cohort(), "z-absent"}
    assert rows["z-absent"]["status"] == "missing"
    assert rows["z-absent"]["score"] == "" and "no notebook" in rows["z-absent"]["reasons"]
    assert rows["a-right"]["email"] == "a-right@example.org"
    assert "skipped submissions/readme.txt: not a notebook" in result.stdout, result.stdout
    assert "z-absent" in result.stdout and "1 missing" in result.stdout, result.stdout


@pytest.mark.slow
def test_the_terminal_shows_the_report_not_a_kernels_banner(cohort_run):
    """The preflight's kernel and the workers' kernels print to logs, not to the instructor."""
    _, _, result = cohort_run
    for banner in ("Ctrl-C will not work", "To connect another client", "--existing"):
        assert banner not in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.mark.slow
def test_right_and_wrong_scores_and_export_matches_gradebook(cohort_run):
    course, rows, _ = cohort_run
    assert (rows["a-right"]["status"], rows["a-right"]["score"]) == ("graded", "3")
    assert (rows["c-wrong"]["status"], rows["c-wrong"]["score"]) == ("graded", "0")
    assert rows["b-nearly"]["score"] == "1", "0.304 passes the visible check, not the hidden one"
    for student, row in rows.items():
        if row["score"]:
            assert float(row["score"]) == _gradebook(course, student)[1], student


def _one_memory_limit() -> bool:
    """Return True if submissions here get one memory limit for all their processes."""
    probe = Cgroup.create(Limits())
    if probe is None:
        return False
    probe.remove()
    return True


@pytest.mark.slow
def test_crash_timeout_memory_and_invalid_json_need_review(cohort_run):
    course, rows, _ = cohort_run
    expected = {"d-loops": "ran longer than the 10 s limit",
                "e-crashes": "the kernel died",
                "f-memory-bomb": "ran out of memory",
                "g-invalid-json": "invalid JSON"}
    for student, reason in expected.items():
        assert rows[student]["status"] == "needs review", rows[student]
        if student == "f-memory-bomb" and _one_memory_limit():
            # one memory limit for all its processes: the cgroup kills the kernel, or holds it
            # at the limit until something else gives out; either way the reason says memory
            reason = "memory limit"
        assert reason in rows[student]["reasons"], rows[student]
    # The loop cost its own item only; the crash left its items ungraded, not zero.
    assert rows["d-loops"]["score"] == "1"
    feedback = _visible(course / "feedback" / "d-loops" / MODULE / f"{MODULE}.html")
    assert "ran out of time and was stopped" in feedback
    nb = read(course / "autograded" / "d-loops" / MODULE / f"{MODULE}.ipynb")
    said = [c.metadata["course"]["verdict"]["says"] for c in nb.cells if is_test_cell(c)]
    assert "ran out of time" in said[0] and "not answered yet" not in said[0], said
    grades, _ = _gradebook(course, "e-crashes")
    assert all(score is None and manual for score, manual in grades.values()), grades
    grades, _ = _gradebook(course, "g-invalid-json")
    assert all(manual for _, manual in grades.values()), "invalid JSON lost from the gradebook"


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(CHEATS))
def test_each_cheat_is_flagged_and_earns_nothing(cohort_run, student):
    course, rows, _ = cohort_run
    row = rows[student]
    assert row["status"] == "needs review", row
    assert f"suspicious: {KINDS[student]}" in row["reasons"], row
    assert row["score"] == "0", row
    grades, _ = _gradebook(course, student)
    assert all(manual for _, manual in grades.values()), grades
    # The sandbox and the judge, not only the hold, defeated the cheat: the autograder gave
    # nothing (reading the solutions once gave 2 points: they are not in the sandbox now).
    assert "the autograder gave 0)" in row["reasons"], row


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_each_attack_earns_nothing(cohort_run, name):
    """Issue 17's attacks, each with wrong answers: the autograder gives them nothing."""
    course, rows, _ = cohort_run
    row = rows[f"x-{name}"]
    assert row["score"] in ("0", ""), row
    grades, _ = _gradebook(course, f"x-{name}")
    assert grades and all(not score for score, _ in grades.values()), (grades, row)


@pytest.mark.slow
def test_attacks_touch_no_one_else(cohort_run):
    """No file outside the scratch area changed, nothing reached the network, and the
    honest students' grades are what they earned, also after a daemon had time to act."""
    course, rows, _ = cohort_run
    assert COHORT["listener"].connections == 0
    changed = [p for p, digest in COHORT["before"].items() if COHORT["after"].get(p) != digest]
    assert not changed
    assert (rows["a-right"]["score"], rows["c-wrong"]["score"]) == ("3", "0")
    assert not any(line.startswith("PWNED") for line in (course / "grades.csv").open())
    feedback = course / "feedback" / "c-wrong" / MODULE / f"{MODULE}.html"
    assert "PWNED" not in feedback.read_text()
    assert _gradebook(course, "c-wrong")[1] == 0
    leftover = [cwd for cwd in map(_cwd, Path("/proc").glob("[0-9]*"))
                if "/autograded/x-" in cwd and f"/{MODULE}" in cwd]
    assert not leftover, f"sandboxed processes outlived their submission: {leftover}"


def _cwd(process):
    """A process's working directory (a sandboxed kernel's is its student's folder)."""
    try:
        return os.readlink(process / "cwd")
    except OSError:
        return ""


@pytest.mark.slow
def test_memory_limit_covers_a_submissions_child_processes(cohort_run):
    """Three children of 900 MB each stay under the per-process limit, not the total."""
    _, rows, _ = cohort_run
    if not _one_memory_limit():
        pytest.skip("no writable cgroup on this machine: the limit is per process")
    assert "went over its memory limit" in rows["x-children-hog-memory"]["reasons"]


@pytest.mark.slow
def test_a_whole_submission_has_one_time_limit(cohort_run):
    course, rows, _ = cohort_run
    row = rows["x-many-slow-cells"]
    assert "time limit ran out" in row["reasons"], row
    log = (course / "grades.log").read_text()
    seconds = float(re.search(r"===== x-many-slow-cells: ([0-9.]+) s", log).group(1))
    assert seconds < 2 * int(SUBMISSION_TIMEOUT), "30 cells of 4.5 s ran unchecked"


@pytest.mark.slow
def test_student_html_and_scripts_are_escaped(cohort_run):
    course, _, _ = cohort_run
    nb = read(course / "autograded" / "x-script-in-output" / MODULE / f"{MODULE}.ipynb")
    outputs = json.dumps([o for c in nb.cells for o in c.get("outputs", [])])
    assert "<script" not in outputs and "document.title" not in outputs
    assert "<b>memo</b>" in outputs, "the harmless part of the output is kept"
    feedback = (course / "feedback" / "x-script-in-output" / MODULE / f"{MODULE}.html")
    assert not re.search(r"<script[^>]*>[^<]*(fetch|document\.title)", feedback.read_text())


@pytest.mark.slow
def test_plain_nbgrader_feedback_hides_hidden_tests(cohort_run):
    """`nbgrader generate_feedback` (and formgrader's button) use the course's filter too."""
    course, _, _ = cohort_run
    result = run_nbgrader(["generate_feedback", MODULE, "--student", "x-print-hidden-tests",
                           "--force"], cwd=course)
    assert result.returncode == 0, result.stderr
    text = _visible(course / "feedback" / "x-print-hidden-tests" / MODULE / f"{MODULE}.html")
    leaked = [line for line in _hidden_lines() if line in text]
    assert not leaked and "BEGIN HIDDEN" not in text


@pytest.mark.slow
def test_plain_nbgrader_autograde_runs_in_the_sandbox_too(cohort_run, tmp_path):
    """`nbgrader autograde` (and formgrader's Autograde button) use the course's sandbox.

    On a copy of the graded cohort: without the sandbox, reading the solutions earns 2 of
    3 points (the attack table in course/INSTRUCTORS.md)."""
    course, _, _ = cohort_run
    copy = tmp_path / "course"
    shutil.copytree(course, copy, symlinks=True)
    scores, verdicts = {}, {}
    for student in ("a-right", "x-read-solutions"):
        result = run_nbgrader(["autograde", MODULE, "--student", student, "--force"],
                              cwd=copy)
        assert result.returncode == 0, result.stderr[-3000:]
        with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gradebook:
            scores[student] = gradebook.find_submission(MODULE, student).score
        graded = read(copy / "autograded" / student / MODULE / f"{MODULE}.ipynb")
        verdicts[student] = [c.metadata["course"]["verdict"]["status"] for c in graded.cells
                             if "verdict" in c.metadata.get("course", {})]
    assert scores == {"a-right": 3, "x-read-solutions": 0}, scores
    assert verdicts["a-right"] == ["right", "right"], verdicts  # judged in the grader


@pytest.mark.slow
def test_deleted_test_cells_are_flagged_but_earned_points_kept(cohort_run):
    _, rows, _ = cohort_run
    row = rows["h-deletes-tests"]
    assert row["status"] == "needs review" and "was deleted" in row["reasons"], row
    assert row["score"] == "3", row
    # Edited test cells are graded as the original: the wrong answers still earn nothing.
    row = rows["i-edits-tests"]
    assert "was edited" in row["reasons"] and row["score"] == "0", row


@pytest.mark.slow
def test_feedback_has_no_hidden_tests(cohort_run):
    course, _, _ = cohort_run
    hidden = _hidden_lines()
    assert hidden, "00_welcome has hidden tests"
    autograded = read(course / "autograded" / "a-right" / MODULE / f"{MODULE}.ipynb")
    sources = "\n".join(c.source for c in autograded.cells)
    assert all(line in sources for line in hidden), "nbgrader's input has the hidden tests"
    files = sorted((course / "feedback").glob(f"*/{MODULE}/{MODULE}.html"))
    assert len(files) >= 10
    for path in files:
        text = _visible(path)
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{path}: {leaked}"
    right = _visible(course / "feedback" / "a-right" / MODULE / f"{MODULE}.html")
    nearly = _visible(course / "feedback" / "b-nearly" / MODULE / f"{MODULE}.html")
    assert "# hidden tests: passed" in right
    # 0.304 is outside the precision rule: the visible check says so, and the hidden test
    # agrees (a ✔ means the points)
    assert "# hidden tests: failed" in nearly


# --- sequential run, folder input with a custom pattern ------------------------------------


@pytest.mark.slow
def test_sequential_equals_parallel_with_a_custom_pattern(cohort_run, tmp_path):
    _, parallel_rows, _ = cohort_run
    students = ["a-right", "e-crashes", "patches-checks"]
    folder = tmp_path / "lms"
    cohort = _cohort()
    for student in students:
        (folder / student).mkdir(parents=True)
        (folder / student / "submission.ipynb").write_text(cohort[student])
    course = _course(tmp_path)
    _grade(course, MODULE, str(folder), "--pattern", r"(?P<student_id>[^/]+)/submission",
           "--workers", "1", "--timeout", TIMEOUT, "--course-dir", str(course),
           "--output", str(tmp_path / "sequential.csv"))
    rows = _rows(tmp_path / "sequential.csv")
    assert set(rows) == set(students)
    for student in students:
        assert (rows[student]["status"], rows[student]["score"]) == (
            parallel_rows[student]["status"], parallel_rows[student]["score"]), student


@pytest.mark.slow
def test_a_course_package_beside_the_notebook_changes_nothing(tmp_path):
    """Attack 16: graded in place (a hub's submitted/), nbgrader copies the student's folder,
    and a `course` package in it shadows the installed one in the kernel. The checks that
    count run in the grader, so the wrong answers still earn nothing."""
    course = _course(tmp_path)
    folder = course / "submitted" / "shadow" / MODULE
    (folder / "course").mkdir(parents=True)
    (folder / f"{MODULE}.ipynb").write_text(_text(_answers(WRONG)))
    (folder / "course" / "__init__.py").write_text("")
    (folder / "course" / "checks.py").write_text(
        "def exercises(module):\n    return lambda *a, **k: print('ok')\n"
        "def grade(*a, **k):\n    return None\n")
    _grade(course, MODULE, "submitted", "--workers", "1", "--timeout", TIMEOUT,
           "--course-dir", str(course))
    row = _rows(course / "grades.csv")["shadow"]
    assert row["score"] == "0", row
    nb = read(course / "autograded" / "shadow" / MODULE / f"{MODULE}.ipynb")
    verdicts = [c.metadata["course"]["verdict"] for c in nb.cells if is_test_cell(c)]
    assert len(verdicts) == 2 and all(v["status"] != "right" for v in verdicts), verdicts


# --- learner progress ---------------------------------------------------------------------


@pytest.mark.slow
def test_progress_runs_a_copy_and_never_modifies_the_learners_file(tmp_path, capsys):
    notebook = tmp_path / MODULE / f"{MODULE}.ipynb"
    notebook.parent.mkdir()
    nbformat.write(_answers({**RIGHT, "answer_q1_answer": "answer_q1 = 'A'"}), notebook)
    before, stamp = notebook.read_bytes(), notebook.stat().st_mtime_ns
    assert main(["progress", str(notebook)]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"{MODULE}\s+1/2\s+2/2\s+2/3", out), out
    assert "answer_q1: ✘" in out, out
    assert notebook.read_bytes() == before and notebook.stat().st_mtime_ns == stamp
    assert sorted(os.listdir(notebook.parent)) == [f"{MODULE}.ipynb"]


def test_progress_saved_tells_unrun_from_unanswered_and_names_hand_graded_points(
        tmp_path, capsys):
    """A filled-in notebook that was never run is "not run", not "not attempted"; the memo
    points that progress cannot count are named (issue 20, item 12)."""
    notebook = tmp_path / "03_metrics.ipynb"
    nbformat.write(read(solution_path("03_metrics")), notebook)  # answers, no outputs
    assert main(["progress", "--saved", str(notebook)]) == 0
    out = capsys.readouterr().out
    assert "not run: the saved notebook has no results" in out, out
    assert "not attempted yet" not in out, out
    memos = sum(grading(c).get("points", 0) for c in read(notebook).cells
                if is_hand_graded(c))
    assert memos > 0 and f"Written answers (the memos, {memos:g} points)" in out, out
    assert "solutions/<module>/<module>.ipynb" in out and "--self-assess" in out, out


def test_progress_reports_missing_and_invalid_notebooks(tmp_path, capsys):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    assert main(["progress", "--saved", str(tmp_path / "nope.ipynb"), str(broken)]) == 1
    err = capsys.readouterr().err
    assert "nope.ipynb does not exist" in err
    assert "broken.ipynb is not a valid notebook" in err and "Nothing was changed" in err
    assert broken.read_text() == "{ not json"


# --- bad command-line input: clear errors before any grading -------------------------------


@pytest.fixture
def course(tmp_path):
    folder = _course(tmp_path)
    (tmp_path / "subs").mkdir()
    nbformat.write(_answers(RIGHT), tmp_path / "subs" / f"alice_{MODULE}.ipynb")
    return folder


@pytest.mark.parametrize("args, message", [
    (["00_welcome", "{tmp}/no-such-folder"], "do not exist"),
    (["99_nothing", "{tmp}/subs"], "'99_nothing' is not one module of the course"),
    (["00_welcome", "{tmp}/subs", "--roster", "{tmp}/none.csv"], "roster"),
    (["00_welcome", "{tmp}/subs", "--roster", "{tmp}/noid.csv"], "no student id column"),
    (["00_welcome", "{tmp}/subs", "--roster", "{tmp}/twice.csv"], "listed twice"),
    (["00_welcome", "{tmp}/subs", "--pattern", "(unclosed"], "not a valid regular expression"),
    (["00_welcome", "{tmp}/subs", "--pattern", r"(?P<who>\w+)"], "student_id"),
    (["00_welcome", "{tmp}/subs", "--workers", "-1"], "--workers"),
    (["00_welcome", "{tmp}/subs", "--course-dir", "{tmp}/subs"], "not a course directory"),
])
def test_bad_input_gives_a_clear_error(course, tmp_path, capsys, args, message):
    (tmp_path / "noid.csv").write_text("name,email\nAlice,a@x.org\n")
    (tmp_path / "twice.csv").write_text("student_id\nalice\nalice\n")
    argv = ["grade", *(a.format(tmp=tmp_path) for a in args)]
    if "--course-dir" not in argv:
        argv += ["--course-dir", str(course)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err
    assert not (course / "submitted").exists(), "nothing is collected after an input error"


def test_bad_zip_is_a_clear_error(course, tmp_path, capsys):
    fake = tmp_path / "export.zip"
    fake.write_text("not a zip")
    assert main(["grade", MODULE, str(fake), "--course-dir", str(course)]) == 2
    assert "neither a folder nor a valid zip" in capsys.readouterr().err


# --- collection, roster, integrity and feedback, without nbgrader -------------------------


def test_collect_from_zip_with_pattern_duplicates_and_junk(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Alice Smith_123_assignsubmission_file_/welcome.ipynb", "{}")
        zf.writestr("Bob Jones_456_assignsubmission_file_/old.ipynb", "{}")
        zf.writestr("Bob Jones_456_assignsubmission_file_/new.ipynb", "{}")
        zf.writestr("Eve_789_assignsubmission_file_/notes.txt", "text")
        zf.writestr("../../escape_999_assignsubmission_file_/x.ipynb", "{}")
    collection = collect(archive, tmp_path / "course", MODULE,
                         r"_(?P<student_id>\d+)_assignsubmission")
    assert collection.students == ["123", "456"]
    assert "2 notebooks submitted" in collection.notes["456"][0]
    skipped = dict(collection.skipped)
    assert "unsafe path" in skipped["../../escape_999_assignsubmission_file_/x.ipynb"]
    assert "not a notebook" in skipped["Eve_789_assignsubmission_file_/notes.txt"]
    assert (tmp_path / "course" / "submitted" / "456" / MODULE / f"{MODULE}.ipynb").exists()
    assert not any(p.name == "x.ipynb" for p in tmp_path.rglob("*.ipynb"))
    assert "invalid JSON" in collection.invalid["123"] or "no list of cells" in \
        collection.invalid["123"]


def test_default_pattern_takes_the_name_before_the_first_underscore(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("alice.ipynb", f"bob_{MODULE}.ipynb"):
        nbformat.write(_answers(RIGHT), subs / name)
    collection = collect(subs, tmp_path / "course", MODULE)
    assert collection.students == ["alice", "bob"] and not collection.invalid


def test_roster_accepts_id_column_and_rejects_bad_ids(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("id,first_name\nalice,Alice\nbob,\n")
    assert [s.id for s in read_roster(good)] == ["alice", "bob"]
    bad = tmp_path / "bad.csv"
    bad.write_text("student_id\n../etc\n")
    with pytest.raises(GradingError, match="not a valid student id"):
        read_roster(bad)


@pytest.mark.parametrize("student", sorted(CHEATS))
def test_integrity_scan_flags_each_cheat(student):
    submitted = nbformat.reads(_cohort()[student], as_version=4)
    flags = integrity.scan(submitted, read(release_path(MODULE)))
    assert KINDS[student] in {f.kind for f in flags}, flags


def test_integrity_scan_flags_deleted_and_edited_test_cells():
    release = read(release_path(MODULE))
    deleted = _answers(RIGHT)
    deleted.cells = [c for c in deleted.cells if not is_test_cell(c)]
    edited = _answers(WRONG)
    for cell in edited.cells:
        if is_test_cell(cell):
            cell.source = "print('all good')"
    edited = _answers(RIGHT)
    next(c for c in edited.cells if is_test_cell(c)).source = "print('fine')"
    assert [f.kind for f in integrity.scan(deleted, release)] == ["test cells"] * 2
    assert "was edited" in str(integrity.scan(edited, release)[0])
    assert not integrity.scan(read(solution_path(MODULE)), release, read(solution_path(MODULE)))


@pytest.mark.parametrize("module", module_ids())
def test_integrity_scan_does_not_flag_honest_answers(module):
    """Every right and wrong answer listed for every module is honest code."""
    for name, exercise in load_spec(ROOT, module).items():
        for code in exercise.right + exercise.also + tuple(w.code for w in exercise.wrong):
            assert not integrity.scan_code(code, name), (module, code)


@pytest.mark.parametrize("module", module_ids())
def test_integrity_scan_does_not_flag_the_solutions(module):
    """The worked solutions are what honest answers look like: no flag."""
    solution = read(solution_path(module))
    assert not integrity.scan(solution, read(release_path(module)), solution)


def test_feedback_filter_hides_hidden_tests_and_tracebacks():
    cell = nbformat.v4.new_code_cell(
        "checks.share('x', x)\n### BEGIN HIDDEN TESTS\nassert abs(x - 0.712) < 1e-3\n"
        "### END HIDDEN TESTS\nchecks.correct('x')")
    cell.metadata.nbgrader = {"grade": True, "solution": False, "grade_id": "x_test",
                              "points": 1}
    cell.outputs = [nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="x: 0.5 != 0.712",
        traceback=["\x1b[31mCell In[3], line 3\x1b[0m", "assert abs(x - 0.712) < 1e-3"])]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    shown = cell.source + json.dumps(cell.outputs)
    assert "0.712" not in shown and "# hidden tests: failed" in cell.source
    assert cell.outputs[0].traceback == ["AssertionError: a hidden test failed"]


@pytest.mark.parametrize("shown, verdict", [
    ("✔ `x` is correct.\n", "# hidden tests: failed"),
    ("", "# hidden tests: not run (the check above it failed first)"),
])
def test_feedback_verdict_without_a_traceback(shown, verdict):
    """Checks render as their message alone, so the verdict comes from the ✔ line."""
    cell = nbformat.v4.new_code_cell(
        "check('x', x)\n### BEGIN HIDDEN TESTS\nchecks.grade('share', 'x', x, '0.712')\n"
        "### END HIDDEN TESTS")
    cell.metadata.nbgrader = {"grade": True, "solution": False, "grade_id": "x_test",
                              "points": 1}
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=shown)] if shown else []
    cell.outputs = outputs + [nbformat.v4.new_output(
        "error", ename="CheckFailed", evalue="✘ `x` is not right.",
        traceback=["✘ `x` is not right."])]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert verdict in cell.source and "0.712" not in cell.source
