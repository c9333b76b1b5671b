"""A learner's first hour, in a real browser (issue 28): what `python3 run.py lab` opens.

A fresh clone of the course (tests/browser/fresh_clone.py: its .venv already installed)
runs `python3 run.py lab` exactly as the README says, as whichever user runs the suite
(root on CI), with only a port and a token added. The URL it prints must open the
learner's welcome notebook, not JupyterLab's Launcher; its file browser shows what a
learner uses; the Validate dialog on a half-done module says what is unanswered, what is
wrong and what is graded by hand, in lines that fit the dialog. Screenshots go to
test-artifacts/browser/first-hour-*.png.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import tomllib

import nbformat
import pytest
from browser.fresh_clone import Clone, fresh_clone
from browser.lab import PANEL, Lab, free_port, open_notebook, open_notebook_url, screenshot
from nbtools import grading, is_answer_cell
from test_browser import browser  # noqa: F401 (the fixture: one headless Chromium)

pytestmark = pytest.mark.slow

WELCOME = "my-work/00_welcome.ipynb"
#: What the learner's file browser shows at the root (learner-config hides the rest).
LEARNER_ROOT = {"my-work", "notebooks", "solutions", "datasets", "README.md"}


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Clone:
    return fresh_clone(tmp_path_factory.mktemp("first-hour"))


@pytest.fixture(scope="module")
def served(clone):
    """`python3 run.py lab` in the clone; yield the server and the URL it printed.

    Only the address is chosen (a free port, no browser); Jupyter makes the token and
    prints the URL with it, as a learner sees it.
    """
    port = free_port()
    log = clone.root.parent / "run-py-lab.log"
    command = [clone.python3(), "run.py", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=clone.root, env=clone.env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    printed = re.compile(rf"http://127\.0\.0\.1:{port}/\S*\?token=([0-9a-f]+)")
    deadline = time.monotonic() + 300
    try:
        while not (found := printed.search(log.read_text(errors="replace"))):
            assert process.poll() is None, f"run.py lab exited:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"no URL printed:\n{log.read_text()[-4000:]}"
            time.sleep(0.5)
        yield Lab(process, port, found.group(1), clone.root, log), found.group(0)
    finally:  # run.py and the Jupyter it started share the process group made above
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def page(browser, served):  # noqa: F811 (browser is the imported fixture)
    tab = browser.new_page()
    yield tab
    tab.close()
    lab = served[0]
    status, sessions = lab.api("GET", "api/sessions")
    for session in sessions if status == 200 else []:
        lab.api("DELETE", f"api/sessions/{session['id']}")


def current_tab(page) -> str:
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    return tab.first.inner_text().strip()


def test_the_url_run_py_lab_prints_opens_the_welcome_notebook(page, served):
    lab, url = served
    log = lab.log.read_text(errors="replace")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        assert "You are root" in log and "--allow-root" in log, log[-2000:]
    open_notebook_url(page, url)
    assert current_tab(page) == "00_welcome.ipynb"
    assert page.locator(".jp-Launcher:visible").count() == 0, "the Launcher is shown"
    status, sessions = lab.api("GET", "api/sessions")
    assert status == 200 and [s["path"] for s in sessions] == [WELCOME], sessions
    screenshot(page, "first-hour-first-screen")
    # The server's root URL leads to the same notebook.
    page.goto(f"{lab.base}/?token={lab.token}")
    page.wait_for_selector(f"{PANEL} .jp-Notebook .jp-Cell", timeout=90_000)
    assert current_tab(page) == "00_welcome.ipynb"
    assert WELCOME in page.url, page.url


def test_the_file_browser_root_shows_what_a_learner_uses(page, served):
    lab, _ = served
    status, root = lab.api("GET", "api/contents/")
    assert status == 200
    assert {item["name"] for item in root["content"]} == LEARNER_ROOT
    # Hidden from the listing, still there by path (README links, datacards...).
    assert lab.api("GET", "api/contents/pyproject.toml")[0] == 200
    page.goto(lab.url("lab/workspaces/first-hour-root", reset=""))
    listing = page.locator(".jp-DirListing-content .jp-DirListing-itemText")
    listing.first.wait_for(timeout=90_000)
    page.wait_for_timeout(1000)
    assert {n.strip() for n in listing.all_inner_texts()} == LEARNER_ROOT
    screenshot(page, "first-hour-file-browser")


HALF_DONE = "03_metrics"
#: Each failed cell's one-line heading in the learner's Validate report.
STATES = ("NOT ANSWERED YET", "WRONG", "GRADED BY HAND")
#: Elements of the dialog wider than the dialog shows (a line cut at the right edge).
OVERFLOWING = """() => [...document.querySelectorAll('.jp-Dialog-body, .jp-Dialog-body *')]
    .filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
    .map(e => `${e.tagName} ${e.scrollWidth}px in ${e.clientWidth}px:`
              + ` ${(e.textContent || '').slice(0, 80)}`)"""


def half_done(root) -> str:
    """A learner's copy of HALF_DONE: the first half of its answers from the solution, the
    first of them replaced by a plausible wrong answer from exercises.toml; the rest and the
    memo left as released. Return its path."""
    solution = nbformat.read(root / f"solutions/{HALF_DONE}/{HALF_DONE}.ipynb", as_version=4)
    answers = {grading(c)["grade_id"]: c.source for c in solution.cells if is_answer_cell(c)}
    done = list(answers)[: len(answers) // 2]
    spec = tomllib.loads((root / f"solutions/{HALF_DONE}/exercises.toml").read_text())
    notebook = nbformat.read(root / f"my-work/{HALF_DONE}.ipynb", as_version=4)
    wrong_one = None
    for cell in notebook.cells:
        grade_id = grading(cell).get("grade_id") if is_answer_cell(cell) else None
        if grade_id in done:
            cell.source = "\n".join(line for line in answers[grade_id].splitlines()
                                    if "### " not in line)
            variable = cell.source.split("=")[0].strip()
            if wrong_one is None and spec.get(variable, {}).get("wrong"):
                wrong_one = variable
                cell.source = spec[variable]["wrong"][0]["code"]
    assert wrong_one, "no answered exercise has a wrong answer in exercises.toml"
    path = f"my-work/{HALF_DONE}-half-done.ipynb"
    nbformat.write(notebook, root / path)
    return path


def test_validate_says_unanswered_wrong_and_graded_by_hand_within_the_dialog(page, served):
    lab, _ = served
    path = half_done(lab.root)
    open_notebook(page, lab, path, "first-hour-validate")
    page.locator(f"{PANEL} .validate-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=180_000)
    text = dialog.inner_text()
    screenshot(page, "first-hour-validate")
    assert "Validation Results" in text, text
    missing = [state for state in STATES if state not in text]
    assert not missing, f"the report never says {missing}:\n{text[:3000]}"
    assert "Traceback" not in text and "[0;31m" not in text, text[:3000]
    assert "solutions/03_metrics/03_metrics.ipynb" in text, text[:3000]
    overflowing = page.evaluate(OVERFLOWING)
    assert not overflowing, f"text cut at the dialog's right edge: {overflowing}"
    dialog.locator("button", has_text="Ok").click()
