"""A cohort on a real JupyterHub, end to end, on loopback.

``python -m course hub`` creates an instructor and three learners as system
accounts and starts JupyterHub 6 with the course's configuration
(deploy/jupyterhub/). The instructor releases 03_metrics through formgrader's API
on their own server. Each learner works in Chromium, in a browser context of their
own: logs in, opens the Assignment List, fetches, opens the notebook and types the
answers (all of them, half of them, or none), runs it all and saves, presses Validate
and submits. The instructor collects through formgrader, grades with
``python -m course grade 03_metrics submitted`` run as their own account, and releases
feedback; every learner fetches it and opens it in JupyterLab. Last, one learner runs
the heaviest module, to measure a server at its busiest.

Needs root (accounts), what ``.ci/hub-setup`` installs (the pinned proxy, the
users' course environment) and Chromium. Skips without them on a developer's
machine, and fails in CI (CI is set) instead.
"""

from __future__ import annotations

import csv
import html
import json
import os
import pwd
import re
import secrets
import shutil
import tempfile
import threading
import time
import tomllib
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from browser.lab import cells, is_error_output, run_all, save
from hub.answers import answered, answers_to_type
from hub.learner import (
    ARTIFACTS,
    fetch,
    fetch_feedback,
    log_in,
    open_assignment_list,
    open_notebook,
    read_feedback,
    submit,
    type_answers,
    validate,
)
from hub.server import (
    HUB_PYTHON,
    as_user,
    memory_mb,
    processes,
    refresh_course,
    remove_users,
    start_hub,
)
from nbtools import ROOT, is_answer_cell, read, release_path

from course import hub as course_hub
from course.errors import InstructorError

MODULE = "03_metrics"
COURSE_ID = "mlpm-hub-test"
DEPLOY = ROOT / "deploy" / "jupyterhub"


def _need(ok: bool, reason: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"the hub test cannot run in CI: {reason}")
        pytest.skip(reason)


# --- the pins and the command's input checks (fast, no hub) ----------------------------

def test_jupyterhub_and_its_proxy_are_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pins = {extra: [r for r in extras[extra] if r.startswith("jupyterhub")]
            for extra in ("hub", "test")}
    assert pins["hub"] == pins["test"] == ["jupyterhub==6.1.1"], pins
    package = json.loads((DEPLOY / "package.json").read_text())
    assert package["dependencies"] == {"configurable-http-proxy": "5.3.0"}
    lock = json.loads((DEPLOY / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/configurable-http-proxy"]["version"] == "5.3.0"
    from importlib.metadata import version
    assert version("jupyterhub") == "6.1.1"


def _roster(tmp_path: Path, *ids: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("id\n" + "".join(f"{i}\n" for i in ids))
    return path


@pytest.mark.parametrize("bad", ["Ada", "1ada", "a" * 33, "d@acme.io"])
def test_names_a_system_account_cannot_have_are_refused(tmp_path, bad):
    with pytest.raises(InstructorError, match="cannot be a hub account"):
        course_hub.account_names(_roster(tmp_path, "ada", bad), ["teach"])


def test_an_id_the_exchange_refuses_is_refused_when_the_roster_is_read(tmp_path):
    with pytest.raises(InstructorError, match="'eve\\+pm' contains '\\+', which nbgrader's "
                                              "exchange refuses"):
        course_hub.account_names(_roster(tmp_path, "ada", "eve+pm"), ["teach"])


def test_an_instructor_on_the_roster_is_refused(tmp_path):
    with pytest.raises(InstructorError, match="both an instructor and on the roster"):
        course_hub.account_names(_roster(tmp_path, "ada", "teach"), ["teach"])
    assert course_hub.account_names(_roster(tmp_path, "ada", "b.lee"), ["teach"]) == [
        "ada", "b.lee"]


def test_the_command_says_what_it_needs(tmp_path, monkeypatch):
    cohort = course_hub.Cohort(["teach"], ["ada"], "c", tmp_path / "x", tmp_path / "state")
    monkeypatch.setattr(course_hub.os, "geteuid", lambda: 1000)
    with pytest.raises(InstructorError, match="must run as root"):
        course_hub.prepare(ROOT, cohort, tmp_path / "roster.csv")
    monkeypatch.setattr(course_hub.os, "geteuid", lambda: 0)
    with pytest.raises(InstructorError, match="proxy is not installed: run `npm ci"):
        course_hub.prepare(tmp_path, cohort, tmp_path / "roster.csv")
    assert not (tmp_path / "state").exists()  # nothing made before the checks pass


def test_learners_servers_switch_the_instructor_tools_off():
    from traitlets.config.loader import PyFileConfigLoader

    def extensions(role: str) -> dict:
        config = PyFileConfigLoader("jupyter_server_config.py", path=str(DEPLOY / role))
        return config.load_config().ServerApp.jpserver_extensions.get_value({})

    learner, instructor = extensions("learner"), extensions("instructor")
    assert learner["nbgrader.server_extensions.formgrader"] is False
    assert learner["nbgrader.server_extensions.course_list"] is False
    assert learner["nbgrader.server_extensions.assignment_list"] is True
    assert learner["nbgrader.server_extensions.validate_assignment"] is True
    assert all(instructor.values()) and len(instructor) == 4
    page = json.loads((DEPLOY / "learner" / "labconfig" / "page_config.json").read_text())
    assert set(page["disabledExtensions"]) == set(page["lockedExtensions"]) == {
        "@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
        "@jupyter/nbgrader:course-list"}


# --- the cohort, once for the tests below ----------------------------------------------

#: The three learners: the share of the exercises each one answers.
SHARES = {"right": 1.0, "partly": 0.5, "blank": 0.0}
#: The notebook whose kernel peaks highest (`python -m course bench`; the instructor guide's
#: sizing table): one learner also runs it, answered, to measure a server at its busiest.
HEAVIEST = "06_monitoring"


def _chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "Playwright is not installed (a test extra: `python3 run.py test`)")
    from browser.lab import CHROMIUM_FLAGS, find_chromium
    executable = find_chromium()
    _need(executable is not None, "Chromium is not installed: `apt-get install chromium`")
    return sync_playwright, executable, CHROMIUM_FLAGS


class Peak(threading.Thread):
    """Sample a user's resident memory every half second until stopped."""

    def __init__(self, user: str):
        super().__init__(daemon=True)
        self.user, self.peak, self.done = user, 0.0, threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, memory_mb(self.user))
            self.done.wait(0.5)

    def __enter__(self) -> Peak:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.join()


def _prerequisites():
    """Skip (or fail in CI) unless this machine can run a hub; return Chromium's launcher."""
    _need(hasattr(os, "geteuid") and os.geteuid() == 0,
          "the hub test creates system accounts: run it as root")
    _need(all(course_hub.system_tool(t) for t in ("useradd", "userdel", "runuser", "chpasswd")),
          "useradd, userdel, runuser and chpasswd are needed (looked on PATH and in /usr/sbin)")
    _need((ROOT / course_hub.PROXY).exists() and HUB_PYTHON.exists(),
          f"the pinned proxy or the users' course environment ({HUB_PYTHON}) is not "
          "installed: run .ci/hub-setup as root")
    return _chromium()


def _cohort_folder(names: dict[str, str]) -> tuple[Path, Path]:
    """A folder every account can enter (the exchange goes in it) and the roster."""
    base = Path(tempfile.mkdtemp(prefix="mlpm-hub-"))
    base.chmod(0o755)
    roster = base / "roster.csv"
    roster.write_text("id\n" + "".join(f"{names[role]}\n" for role in SHARES))
    roster.chmod(0o644)
    return base, roster


@pytest.fixture(scope="module")
def cohort():
    """The whole round trip; return what each step produced, for the tests to check."""
    chromium = _prerequisites()
    refresh_course()
    tag = secrets.token_hex(2)
    names = {role: f"mlpm-{role}-{tag}" for role in ("teach", *SHARES)}
    base, roster = _cohort_folder(names)
    out: dict = {"names": names, "memory_mb": {}, "solved": {}, "ticks": {}, "typed": {},
                 "menu": {}, "validate": {}, "feedback": {}, "feedback_shown": {}, "memos": {}}
    hub = None
    try:
        hub = start_hub(base, roster, names["teach"])
        out["hub"] = hub
        _round_trip(hub, names, chromium, out)
        out["isolation"] = _isolation(hub, names["teach"], names["right"], names["partly"])
        _record(hub, out)
        yield out
    finally:
        if hub is not None:
            hub.stop()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(hub.log, ARTIFACTS / "hub.log")
        remove_users(list(names.values()))
        shutil.rmtree(base, ignore_errors=True)


def _round_trip(hub, names: dict[str, str], chromium, out: dict) -> None:
    """Release, three learners in the browser, grading, feedback: the steps of the guide."""
    sync_playwright, executable, flags = chromium
    started = time.monotonic() - hub.timings["hub start (accounts, exchange, course, hub up)"]
    teach = names["teach"]
    hub.start_server(teach)
    hub.wait_ready(teach)
    status, released = hub.api("POST", f"user/{teach}/formgrader/api/assignment/{MODULE}"
                                       "/release")
    assert status == 200 and released["success"], released
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=flags,
                                             headless=True)
        pages = {}
        for role, share in SHARES.items():  # each learner in a browser of their own
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            pages[role] = context.new_page()
            _learner_works(hub, pages[role], role, names[role], share, out)
        _instructor_grades(hub, teach, names["partly"], out)
        for role, page in pages.items():
            fetch_feedback(page, role)
        hub.timings["round trip, hub start to feedback fetched"] = time.monotonic() - started
        for role, page in pages.items():
            _feedback(page, role, names[role], out)
        out["formgrader"] = _formgrader(hub, pages["partly"], names["partly"], teach)
        _run_heaviest(hub, pages["right"], names["right"], out)
        browser.close()


def _hub_up_seconds(log: str) -> float:
    """From JupyterHub's first line to "JupyterHub is now running", read from its log."""
    stamps = [datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f") for m in re.finditer(
        r"^\[I (\S+ \S+) JupyterHub .*(?:Running JupyterHub version|is now running)",
        log, re.M)]
    assert len(stamps) == 2, "JupyterHub's log has no start and end of its start-up"
    return (stamps[1] - stamps[0]).total_seconds()


def _record(hub, out: dict) -> None:
    """Memory at the end and every timing, printed and saved to test-artifacts/hub/."""
    hub.timings["JupyterHub itself (its log: start to running)"] = _hub_up_seconds(
        hub.log.read_text(errors="replace"))
    for user in out["names"].values():
        out["memory_mb"][f"{user} at the end"] = round(memory_mb(user))
    figures = {"seconds": {k: round(v, 1) for k, v in hub.timings.items()},
               "memory_mb": out["memory_mb"],
               "a learner opening formgrader (HTTP status)": out["formgrader"],
               "a learner reading another's work": out["isolation"],
               "right's processes": {k: out[k] for k in ("processes before the heaviest",
                                                        "processes after the heaviest")}}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def _learner_works(hub, page, role: str, user: str, share: float, out: dict) -> None:
    """Log in, Assignment List, fetch, answer and run in the notebook, Validate, submit."""
    t = time.monotonic()
    log_in(page, hub.base, user, hub.passwords()[user])
    hub.timings[f"{role}: log in and server start"] = time.monotonic() - t
    out["memory_mb"][f"{role}: server at rest"] = round(memory_mb(user))
    out["menu"][role] = open_assignment_list(page)
    fetch(page, role)
    _answer_in_the_notebook(hub, page, role, user, share, out)
    t = time.monotonic()
    with Peak(user) as peak:
        out["validate"][role] = validate(page, role)
    out["memory_mb"][f"{role}: validating {MODULE} (peak)"] = round(peak.peak)
    hub.timings[f"{role}: Validate {MODULE}"] = time.monotonic() - t
    submit(page, role)


def _contents(hub, user: str, path: str) -> dict:
    status, model = hub.api("GET", f"user/{user}/api/contents/{path}")
    assert status == 200, f"{user} has no {path}: {status} {model}"
    return model["content"]


def _answer_in_the_notebook(hub, page, role: str, user: str, share: float, out: dict) -> None:
    """Open the fetched notebook, type the answers, Run All, save; back to the list.

    A learner who answers nothing does not open it."""
    path = f"{MODULE}/{MODULE}.ipynb"
    fetched = nbformat.from_dict(_contents(hub, user, path))
    answers = answers_to_type(fetched, MODULE, share)
    out["solved"][user] = sum(map(is_answer_cell, (fetched.cells[i] for i in answers)))
    out["memos"][user] = len(answers) - out["solved"][user]
    if not answers:
        return
    open_notebook(page, hub.base, user, path)
    type_answers(page, answers)
    t = time.monotonic()
    with Peak(user) as peak:
        run_all(page)
    out["memory_mb"][f"{role}: running {MODULE} (peak)"] = round(peak.peak)
    hub.timings[f"{role}: Run All {MODULE}"] = time.monotonic() - t
    out["ticks"][user] = sum("✔" in o["text"] for c in cells(page) for o in c["outputs"])
    save(page)
    saved = nbformat.from_dict(_contents(hub, user, path))
    out["typed"][user] = all(saved.cells[i].source.rstrip() == source.rstrip()
                             for i, source in answers.items())
    open_assignment_list(page)


def _formgrader_autograde(hub, teach: str, course: Path, learner: str) -> list[str]:
    """Formgrader's Autograde button for one learner; return its test cells' verdicts.

    The button runs nbgrader's autograde in the instructor's server with the course's
    config: the sandbox, test cells judged in the grader (verdicts in the metadata)."""
    status, body = hub.api("POST", f"user/{teach}/formgrader/api/submission/{MODULE}/"
                                   f"{learner}/autograde")
    assert status == 200 and body["success"], f"{status}: {body.get('error', body)}"
    graded = read(course / "autograded" / learner / MODULE / f"{MODULE}.ipynb")
    return [c.metadata["course"]["verdict"]["status"] for c in graded.cells
            if "verdict" in c.metadata.get("course", {})]


def _instructor_grades(hub, teach: str, learner: str, out: dict) -> None:
    """Collect (formgrader); Autograde one ``learner`` with formgrader's button; grade all
    (the course's command, as the instructor); release feedback."""
    formgrader = f"user/{teach}/formgrader/api/assignment/{MODULE}"
    status, body = hub.api("POST", f"{formgrader}/collect")
    assert status == 200 and body["success"], body
    course = Path(pwd.getpwnam(teach).pw_dir) / "course"
    t = time.monotonic()
    out["formgrader_autograde"] = _formgrader_autograde(hub, teach, course, learner)
    hub.timings["instructor: formgrader's Autograde (1 submission)"] = time.monotonic() - t
    t = time.monotonic()
    graded = as_user(teach, "python", "-m", "course", "grade", MODULE, "submitted",
                     cwd=course)
    hub.timings["instructor: python -m course grade (3 submissions)"] = time.monotonic() - t
    assert graded.returncode == 0, graded.stdout + graded.stderr
    out["grades"] = {row["student_id"]: row
                     for row in csv.DictReader((course / "grades.csv").open())}
    out["grade_output"] = graded.stdout
    status, body = hub.api("POST", f"{formgrader}/release_feedback")
    assert status == 200 and body["success"], body


def _feedback(page, role: str, user: str, out: dict) -> None:
    """The fetched feedback file, and what the learner reads when opening it in JupyterLab."""
    files = sorted((Path(pwd.getpwnam(user).pw_dir) / MODULE / "feedback").glob(
        f"*/{MODULE}.html"))
    assert files, f"{user} has no fetched feedback"
    out["feedback"][user] = files[-1].read_text()
    out["feedback_shown"][user] = read_feedback(page, role, f"{MODULE}.html")


def _formgrader(hub, page, learner: str, teach: str) -> dict[str, int]:
    """The HTTP status a learner's browser gets for formgrader, theirs and the instructor's."""
    return {
        "own server": page.goto(f"{hub.base}/user/{learner}/formgrader").status,
        "own server API": page.goto(
            f"{hub.base}/user/{learner}/formgrader/api/assignments").status,
        "instructor's server": page.goto(f"{hub.base}/user/{teach}/formgrader").status,
    }


def _run_heaviest(hub, page, user: str, out: dict) -> None:
    """The learner closes their kernels, saves the heaviest module, answered, in their home
    and runs it all: the server's peak with the one notebook the sizing assumes."""
    status, sessions = hub.api("GET", f"user/{user}/api/sessions")
    assert status == 200, sessions
    for session in sessions:
        status, body = hub.api("DELETE", f"user/{user}/api/sessions/{session['id']}")
        assert status == 204, body
    out["processes before the heaviest"] = processes(user)
    path = f"{HEAVIEST}.ipynb"
    notebook = answered(read(release_path(HEAVIEST)), HEAVIEST, 1.0)
    status, saved = hub.api("PUT", f"user/{user}/api/contents/{path}",
                            {"type": "notebook", "format": "json", "content": notebook})
    assert status in (200, 201), saved
    open_notebook(page, hub.base, user, path)
    t = time.monotonic()
    with Peak(user) as peak:
        run_all(page)
    out["memory_mb"][f"right: running {HEAVIEST}, answered (peak)"] = round(peak.peak)
    hub.timings[f"right: Run All {HEAVIEST}"] = time.monotonic() - t
    out["processes after the heaviest"] = processes(user)
    out["heaviest_errors"] = [o["text"][:300] for c in cells(page) for o in c["outputs"]
                              if is_error_output(o)]


PROBE = """import os, sys
for path in sys.argv[1:]:
    try:
        os.listdir(path) if os.path.isdir(path) else open(path).read()
        print("read", path)
    except PermissionError:
        print("denied", path)
    except FileNotFoundError:
        print("missing", path)
"""


def _isolation(hub, teach: str, reader: str, owner: str) -> dict[str, str]:
    """What learner ``reader`` gets when reading ``owner``'s work and the instructor's."""
    exchange = Path(json.loads((hub.state / "private" / "hub.json").read_text())["exchange"])
    inbound = exchange / COURSE_ID / "inbound"
    theirs = next(p for p in inbound.iterdir() if p.name.startswith(f"{owner}+"))
    owner_home = Path(pwd.getpwnam(owner).pw_dir)
    course = Path(pwd.getpwnam(teach).pw_dir) / "course"
    paths = {"the other learner's home": owner_home,
             "the other learner's notebook": owner_home / MODULE / f"{MODULE}.ipynb",
             "the exchange's inbound folder (list)": inbound,
             "the instructor's course": course,
             "the instructor's solutions": course / "solutions" / MODULE / f"{MODULE}.ipynb",
             "the instructor's collected submissions": course / "submitted" / owner,
             # nbgrader's exchange hides a submission by an unguessable name only, in an
             # unlistable folder; the hub's PrivateSubmit gives it an ACL on top
             # (course/private_submit.py), so knowing the name is not enough.
             "the other learner's submission folder, name known": theirs,
             "the other learner's submission, name known": theirs / f"{MODULE}.ipynb"}
    result = as_user(reader, "python", "-c", PROBE, *map(str, paths.values()))
    verdict = dict(line.split(" ", 1)[::-1] for line in result.stdout.splitlines())
    return {name: verdict.get(str(path), result.stderr[-300:]) for name, path in paths.items()}


# --- the tests ---------------------------------------------------------------------------

slow = pytest.mark.slow


def _auto_points() -> float:
    notebook = read(release_path(MODULE))
    return sum(c.metadata["nbgrader"].get("points", 0) for c in notebook.cells
               if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")


@slow
def test_grades_are_full_partial_and_zero(cohort):
    names, grades = cohort["names"], cohort["grades"]
    scores = {role: float(grades[names[role]]["score"]) for role in SHARES}
    assert scores["right"] == _auto_points(), cohort["grade_output"]
    assert 0 < scores["partly"] < scores["right"], cohort["grade_output"]
    assert scores["blank"] == 0, cohort["grade_output"]
    # The right learner's memo waits for the formgrader; a memo left as released is
    # worth 0 with nothing to mark. None "needs review", none "missing".
    statuses = {role: grades[names[role]]["status"] for role in SHARES}
    assert statuses == {"right": "grade by hand", "partly": "graded", "blank": "graded"}, grades


@slow
def test_what_learners_typed_was_saved_and_each_answer_shows_a_tick(cohort):
    names, exercises = cohort["names"], sum(map(is_answer_cell, read(release_path(MODULE)).cells))
    solved = {role: cohort["solved"][names[role]] for role in SHARES}
    assert solved == {role: round(exercises * share) for role, share in SHARES.items()}
    assert cohort["memos"][names["right"]] == 1  # and the written answer, 03's decision memo
    for role in ("right", "partly"):
        user = names[role]
        assert cohort["typed"][user], f"{role}: the saved notebook is not what was typed"
        assert cohort["ticks"][user] == solved[role], (role, cohort["ticks"])


@slow
def test_formgraders_autograde_button_judges_in_the_grader_too(cohort):
    verdicts = cohort["formgrader_autograde"]
    solved = cohort["solved"][cohort["names"]["partly"]]
    assert len(verdicts) == sum(map(is_answer_cell, read(release_path(MODULE)).cells))
    assert verdicts[:solved] == ["right"] * solved, verdicts
    assert "right" not in verdicts[solved:], verdicts


@slow
def test_fetched_feedback_shows_the_score_and_no_hidden_test(cohort):
    grades = cohort["grades"]
    for user, page in cohort["feedback"].items():
        score = float(grades[user]["score"])
        for text in (html.unescape(re.sub(r"<[^>]+>", " ", page)),  # the file
                     cohort["feedback_shown"][user]):  # what JupyterLab shows of it
            assert re.search(rf"Score:\s*{score:g}(\.0)?\s*/", text), (user, text[:500])
            assert "BEGIN HIDDEN TESTS" not in text and "checks.grade(" not in text, user


@slow
def test_validate_in_the_browser_passes_or_lists_failures_without_a_traceback(cohort):
    shown = cohort["validate"]
    assert "passes all the tests" in shown["right"], shown["right"][:1000]
    for role in ("partly", "blank"):
        assert "The following cell failed" in shown[role], shown[role][:1000]
    for text in shown.values():
        assert "Traceback" not in text and "checks.py" not in text, text[:2000]


@slow
def test_the_heaviest_module_runs_answered_on_a_learners_server(cohort):
    assert cohort["heaviest_errors"] == []
    assert f"right: running {HEAVIEST}, answered (peak)" in cohort["memory_mb"]


@slow
def test_learners_cannot_read_each_other_or_the_instructor(cohort):
    seen = cohort["isolation"]
    assert set(seen.values()) == {"denied"}, seen


@slow
def test_a_learner_has_no_formgrader(cohort):
    assert set(map(tuple, cohort["menu"].values())) == {("Assignment List",)}, cohort["menu"]
    assert cohort["formgrader"]["own server"] == 404
    assert cohort["formgrader"]["own server API"] == 404
    assert cohort["formgrader"]["instructor's server"] in (403, 404), cohort["formgrader"]


@slow
def test_screenshots_of_each_learners_view(cohort):
    for role in SHARES:
        for name in ("assignment-list-released", "validate-result",
                     "assignment-list-submitted", "assignment-list-feedback", "feedback"):
            assert (ARTIFACTS / f"{role}-{name}.png").stat().st_size > 10_000, (role, name)
