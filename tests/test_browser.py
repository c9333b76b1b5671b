"""The learner's JupyterLab, in a real browser: Playwright driving Debian's Chromium headless.

JupyterLab runs as on Binder: in a prefix set up by the repository's ``postBuild``,
started through its ``start`` script (which gives it the learner configuration,
learner-config/, as `python3 run.py lab` does), on a free local port with a token. It
serves a copy of the repository's current files with the learner's my-work/ made by
`course start` (running and validating save the notebook, and the committed notebooks
must stay without outputs). Screenshots of what the learner sees go to
test-artifacts/browser/.

Skipped, with the reason, only where Playwright or Chromium is missing or Chromium
cannot start; `.ci/run` installs Debian's chromium where it can.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from browser.lab import (
    ARTIFACTS,
    CHROMIUM_FLAGS,
    PANEL,
    cells,
    figure_names,
    heading_problems,
    is_error_output,
    open_notebook,
    require_chromium,
    run_all,
    save,
    screenshot,
    shut_down_kernels,
    start_lab,
    uncaptioned_figures,
)
from browser.learner_env import copy_repository, make_learner_env
from nbtools import ROOT, grading, is_answer_cell, is_test_cell, module_ids, release_path

from course.notebook import is_hand_graded

pytestmark = pytest.mark.slow

# Every module, released and solved.
MODULES = [m for m in module_ids() if release_path(m).exists()]
VALIDATED = "00_welcome"
DRAWS = re.compile(r"\bplt\.|matplotlib|\.plot\(|\bplots\.|Display\.from_")


# --- fixtures --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One Chromium for the whole file, with a fresh user-data directory."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        try:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path_factory.mktemp("chromium-profile")), executable_path=executable,
                args=CHROMIUM_FLAGS, headless=True, viewport={"width": 1366, "height": 900})
        except Exception as error:  # noqa: BLE001 (any launch failure means: cannot test here)
            pytest.skip(f"Chromium ({executable}) cannot be launched here: "
                        f"{str(error).strip().splitlines()[0]}")
        yield context
        context.close()


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """JupyterLab as a Binder learner gets it, serving a copy of the repository."""
    tmp = tmp_path_factory.mktemp("learner")
    learner = make_learner_env(tmp)
    assert learner.postbuild.returncode == 0, learner.postbuild.stderr
    root = copy_repository(tmp / "course")
    # The learner's own copies, as `python3 run.py lab` makes them.
    subprocess.run([sys.executable, "-m", "course", "start", "--course-dir", str(root)],
                   cwd=ROOT, check=True, capture_output=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = start_lab(learner, root, ARTIFACTS / "jupyterlab.log")
    yield server
    server.stop()


@pytest.fixture
def page(browser, lab):
    """A new tab; JavaScript errors that nothing caught fail the test."""
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    tab.close()
    shut_down_kernels(lab)
    assert not errors, f"uncaught JavaScript errors in JupyterLab: {errors}"


# --- checks shared by released and solution notebooks ----------------------------------

def session_kernels(lab, path: str, wait: float = 30.0) -> tuple[int, list, list[dict]]:
    """Return the sessions API's status, its sessions, and the kernels of ``path``'s session.

    JupyterLab first creates a notebook's session under a temporary name
    (``<folder>/<uuid>``) and renames it once the kernel is up, so the session
    is looked for again, for at most ``wait`` seconds, until it has its path.
    """
    deadline = time.monotonic() + wait
    while True:
        status, sessions = lab.api("GET", "api/sessions")
        kernels = [s["kernel"] for s in sessions if s["path"] == path]
        if kernels or status != 200 or time.monotonic() > deadline:
            return status, sessions, kernels
        time.sleep(0.5)


def run_in_browser(page, lab, path: str, workspace: str) -> tuple[list[dict], float]:
    """Open, check that the kernel started, Run All, save; return the cells as shown."""
    started = time.monotonic()
    open_notebook(page, lab, path, workspace)
    panel = page.locator(PANEL)
    assert panel.locator(".jp-KernelName").inner_text().strip() == "Python 3 (ipykernel)"
    status, sessions, kernels = session_kernels(lab, path)
    assert status == 200 and len(kernels) == 1, f"no kernel session for {path}: {sessions}"
    assert kernels[0]["name"] == "python3"
    assert kernels[0]["execution_state"] in ("idle", "starting", "busy")
    run_all(page)
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
    status, kernel = lab.api("GET", f"api/kernels/{kernels[0]['id']}")
    assert status == 200, f"the kernel of {path} is gone (it died or restarted): {kernel}"
    records = cells(page)
    save(page)
    return records, time.monotonic() - started


def check_common(records: list[dict], path: str, lab) -> tuple[list[int], nbformat.NotebookNode]:
    """What every notebook must show after Run All; return the test cells' indices."""
    source = nbformat.read(lab.root / path, as_version=4)
    assert len(records) == len(source.cells), "the page does not show every cell"
    assert [r["type"] for r in records] == [c.cell_type for c in source.cells]
    tests = [i for i, c in enumerate(source.cells) if is_test_cell(c)]

    # Run All reached the last cell, in order, in one kernel (the checks failing or not).
    code = [i for i, r in enumerate(records) if r["type"] == "code"]
    counts = [records[i]["prompt"] for i in code]
    assert counts == [f"[{n}]:" for n in range(1, len(code) + 1)], (
        f"not every code cell ran once, in order: {counts}")

    # No error outside the graded test cells, as shown and as saved.
    shown = {i for i, r in enumerate(records) if any(map(is_error_output, r["outputs"]))}
    saved = {i for i, c in enumerate(source.cells)
             if any(o.get("output_type") == "error" for o in c.get("outputs", []))}
    assert shown == saved, f"errors shown in cells {sorted(shown)}, saved in {sorted(saved)}"
    outside = {i: next(o["text"] for o in records[i]["outputs"] if is_error_output(o))[-600:]
               for i in sorted(shown - set(tests))}
    assert not outside, f"errors outside the graded test cells: {outside}"

    # Maths renders only where the source writes it ($$...$$): no amount of money as maths.
    unintended = [i for i, (r, c) in enumerate(zip(records, source.cells, strict=True))
                  if r["maths"] and "$$" not in c.source]
    assert not unintended, f"markdown cells {unintended} render maths their source does not hold"

    # Figures render: every image output decoded with a size, as many as were saved.
    images = [img for r in records for img in r["images"]]
    assert all(img["width"] > 0 and img["height"] > 0 for img in images), images
    saved_images = sum(1 for c in source.cells for o in c.get("outputs", [])
                       if any(k.startswith("image/") for k in o.get("data", {})))
    assert len(images) == saved_images, f"{len(images)} images shown, {saved_images} saved"
    if any(c.cell_type == "code" and DRAWS.search(c.source) for c in source.cells):
        assert images, f"{path} draws figures, but none is shown"

    # Accessibility a browser can check.
    assert uncaptioned_figures(records) == [], (
        "figures with neither alt text nor a caption sentence in the markdown cell under "
        f"them, in cells {uncaptioned_figures(records)}")
    assert heading_problems(records) == []
    return tests, source


def check_figures_named(page, records: list[dict]) -> None:
    """Every figure has a text alternative in the browser's accessibility tree (a sentence,
    set by course.plots.show), not only a caption a screen reader reaches later."""
    names = figure_names(page)
    images = sum(len(r["images"]) for r in records)
    assert len(names) == images, f"{len(names)} images in the accessibility tree, {images} shown"
    unnamed = [name for name in names if len(name.split()) < 5]
    assert not unnamed, f"figures without a text alternative: {unnamed} of {names}"


def screenshot_first_figure(page, name: str) -> None:
    figures = page.locator(f"{PANEL} .jp-OutputArea-output img")
    if figures.count():
        screenshot(page, f"{name}-figure", figures.first)


def error_text(record: dict) -> str:
    return "\n".join(o["text"] for o in record["outputs"] if is_error_output(o))


# --- tests -----------------------------------------------------------------------------

@pytest.mark.parametrize("module", MODULES)
def test_released_notebook_runs_to_the_end_and_its_checks_say_not_answered(page, lab, module):
    path = f"notebooks/{module}/{module}.ipynb"
    records, seconds = run_in_browser(page, lab, path, f"released-{module}")
    tests, _ = check_common(records, path, lab)
    check_figures_named(page, records)
    assert tests, f"{path} has no graded test cells"
    for i in tests:
        message = error_text(records[i])
        assert "is not answered yet" in message, (
            f"test cell {i} of {path} should fail with its 'not answered yet' message; "
            f"it shows: {message[-600:] or records[i]['outputs']}")
        assert len(message.strip().splitlines()) <= 3, (
            f"test cell {i} of {path}: a failing check should show its message alone, "
            f"not a traceback; it shows {len(message.splitlines())} lines")
    first = page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(tests[0])
    screenshot(page, f"released-{module}", first.locator(".jp-OutputArea-output").last)
    screenshot_first_figure(page, f"released-{module}")
    print(f"{path}: opened, ran and checked in the browser in {seconds:.1f} s")


#: Solutions shown in the browser (release --check runs every solution; these check what a
#: ✔ looks like, and keep the suite within its time budget).
SHOWN_SOLUTIONS = [m for m in ("00_welcome", "03_metrics") if m in MODULES]


@pytest.mark.parametrize("module", SHOWN_SOLUTIONS)
def test_solution_notebook_passes_every_check(page, lab, module):
    path = f"solutions/{module}/{module}.ipynb"
    records, seconds = run_in_browser(page, lab, path, f"solution-{module}")
    tests, _ = check_common(records, path, lab)
    check_figures_named(page, records)
    failing = {i: error_text(records[i])[-400:] for i in tests if error_text(records[i])}
    assert not failing, f"checks that fail on the solution: {failing}"
    for i in tests:
        shown = "".join(o["text"] for o in records[i]["outputs"])
        assert "✔" in shown and "is correct" in shown, f"test cell {i} shows {shown!r}"
    first = page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(tests[0])
    screenshot(page, f"solution-{module}", first)
    screenshot_first_figure(page, f"solution-{module}")
    print(f"{path}: opened, ran and checked in the browser in {seconds:.1f} s")


INSTRUCTOR_WORDS = re.compile(r"nbgrader|formgrader|assignment|course list", re.I)
NEWS = "get notified about official Jupyter news"


def palette_items(page, query: str) -> list[str]:
    """What the command palette lists for ``query`` (Ctrl+Shift+C), then close it."""
    page.keyboard.press("Control+Shift+c")
    box = page.locator(".lm-CommandPalette-input:visible")
    box.fill(query)
    page.wait_for_timeout(300)
    items = page.locator(".lm-CommandPalette-item:visible .lm-CommandPalette-itemLabel")
    found = [text.strip() for text in items.all_inner_texts()]
    page.keyboard.press("Escape")
    return found


def test_learners_get_validate_and_no_instructor_tool(page, lab):
    path = f"notebooks/{VALIDATED}/{VALIDATED}.ipynb"
    open_notebook(page, lab, path, "nbgrader-menu")
    assert page.locator(f"{PANEL} .validate-button").inner_text().strip() == "Validate"
    menus = [m.strip() for m in page.locator(".lm-MenuBar-item").all_inner_texts()]
    assert "Run" in menus and not [m for m in menus if INSTRUCTOR_WORDS.search(m)], menus
    screenshot(page, "learner-menus")
    sidebars = page.locator(".jp-SideBar .lm-TabBar-tab")
    titles = [(sidebars.nth(i).get_attribute("title") or "") + sidebars.nth(i).inner_text()
              for i in range(sidebars.count())]
    assert titles and not [t for t in titles if INSTRUCTOR_WORDS.search(t)], titles
    # The command palette finds ordinary commands (the test of this check) and no nbgrader.
    assert "Run All Cells" in palette_items(page, "Run All")
    for word in ("nbgrader", "Formgrader", "Assignment", "Course"):
        found = [item for item in palette_items(page, word) if INSTRUCTOR_WORDS.search(item)]
        assert not found, f"the command palette offers {found} for {word!r}"
    page.keyboard.press("Control+Shift+c")
    page.locator(".lm-CommandPalette-input:visible").fill("assignment")
    screenshot(page, "command-palette-assignment")
    page.keyboard.press("Escape")
    # The instructor and assignment-list server extensions are off; Validate's is on.
    for route in ("formgrader", "formgraders", "assignments", "courses"):
        assert lab.api("GET", route)[0] == 404, route
    status, version = lab.api("GET", "nbgrader_version?version=0.9.6")
    assert status == 200 and version == {"success": True}
    assert not list(lab.root.glob("gradebook.db*")), "opening the course created a gradebook"


def test_lab_root_shows_the_whole_course(page, lab):
    page.goto(lab.url("lab/workspaces/lab-root", reset=""))
    listing = page.locator(".jp-DirListing-content .jp-DirListing-itemText")
    listing.first.wait_for(timeout=60_000)
    names = {name.strip() for name in listing.all_inner_texts()}
    assert {"my-work", "notebooks", "solutions", "datasets"} <= names, names
    screenshot(page, "lab-root")
    status, folder = lab.api("GET", "api/contents/my-work")
    assert status == 200 and {"00_welcome.ipynb"} <= {f["name"] for f in folder["content"]}
    assert lab.api("GET", "api/contents/solutions")[0] == 200


def notification_texts(page, wait_ms: int = 4000) -> list[str]:
    """The toasts JupyterLab shows after the page has settled for ``wait_ms``."""
    page.wait_for_timeout(wait_ms)
    return [t.strip() for t in page.locator(".Toastify__toast").all_inner_texts()]


def test_no_news_pop_up_and_the_check_can_see_one(page, lab):
    setting = "lab/api/settings/@jupyterlab/apputils-extension:notification"
    status, plugin = lab.api("GET", setting)
    assert status == 200 and plugin["schema"]["properties"]["fetchNews"]["default"] == "false"
    open_notebook(page, lab, f"notebooks/{VALIDATED}/{VALIDATED}.ipynb", "no-news")
    assert not [t for t in notification_texts(page) if NEWS in t]
    screenshot(page, "no-news-pop-up")
    # The test of the test: a learner who resets the setting to "ask" gets the question.
    assert lab.api("PUT", setting, {"raw": '{"fetchNews": "none"}'})[0] == 204
    try:
        page.reload()
        page.wait_for_selector(f"{PANEL} .jp-Notebook .jp-Cell", timeout=60_000)
        assert [t for t in notification_texts(page) if NEWS in t], "the check sees no pop-up"
    finally:
        assert lab.api("PUT", setting, {"raw": "{}"})[0] == 204


HALF_DONE = "03_metrics"


def half_done(lab) -> tuple[str, int]:
    """A learner's copy of HALF_DONE with the first half of its answers filled in from the
    solution (in the served copy only); return its path and the number of answers left."""
    solution = nbformat.read(lab.root / f"solutions/{HALF_DONE}/{HALF_DONE}.ipynb", as_version=4)
    answers = {grading(c)["grade_id"]: c.source for c in solution.cells if is_answer_cell(c)}
    done = set(list(answers)[: len(answers) // 2])
    notebook = nbformat.read(release_path(HALF_DONE), as_version=4)
    for cell in notebook.cells:
        if is_answer_cell(cell) and grading(cell)["grade_id"] in done:
            cell.source = "\n".join(line for line in answers[grading(cell)["grade_id"]]
                                    .splitlines() if "### " not in line)
    path = f"my-work/{HALF_DONE}-half-done.ipynb"
    nbformat.write(notebook, lab.root / path)
    return path, len(answers) - len(done)


@pytest.mark.parametrize("kind", ["notebooks", "solutions", "half-done"])
def test_validate_button_validates_the_notebook(page, lab, kind):
    path, left = (half_done(lab) if kind == "half-done"
                  else (f"{kind}/{VALIDATED}/{VALIDATED}.ipynb", None))
    source = nbformat.read(lab.root / path, as_version=4)
    open_notebook(page, lab, path, f"validate-{kind}")
    page.locator(f"{PANEL} .validate-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=120_000)
    text = dialog.inner_text()
    assert "Validation Results" in text, text
    failed = text.count("The following cell failed")
    if kind == "solutions":
        assert "Success! Your notebook passes all the tests." in text, text
    else:
        tests = sum(1 for c in source.cells if is_test_cell(c))
        written = sum(1 for c in source.cells  # a written answer left blank fails too
                      if is_hand_graded(c))
        expected = tests if left is None else left + written
        assert failed == expected, f"{failed} failing cells shown, {expected} expected:\n{text}"
        assert text.count("is not answered yet") >= expected - written, text
        assert "Traceback" not in text and "checks.py" not in text, text[:2000]
        # Short: the cell's code and the check's message, not a traceback per failure.
        assert len(text) <= 400 + 600 * failed, f"{len(text):,} characters for {failed} cells"
    print(f"Validate dialog on {path}: {len(text):,} characters, {failed} failing cells")
    screenshot(page, f"validate-{kind}-{Path(path).stem}")
    dialog.locator("button", has_text="Ok").click()


def run_scratch(page, lab, notebook, name, label):
    """Write a test's own notebook under scratch/ in the lab, open it and run it all."""
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    path = f"scratch/{name}.ipynb"
    (lab.root / "scratch").mkdir(exist_ok=True)
    nbformat.write(notebook, lab.root / path)
    open_notebook(page, lab, path, label)
    run_all(page)


def test_accessibility_checks_catch_a_missing_caption_and_a_skipped_heading(page, lab):
    """The test of the test: a scratch notebook (in the served copy only) with one figure
    captioned, one not, and an h1 followed by an h3."""
    draw = ("import matplotlib.pyplot as plt\n"
            "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([0, 1], [0, 1])\nplt.show()")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Scratch"),
        nbformat.v4.new_code_cell(draw),
        nbformat.v4.new_markdown_cell("### Skipped a level"),
        nbformat.v4.new_code_cell(draw),
        nbformat.v4.new_markdown_cell("Figure 2: a straight line, drawn to test captions."),
    ])
    run_scratch(page, lab, notebook, "accessibility", "scratch")
    records = cells(page)
    assert [len(r["images"]) for r in records] == [0, 1, 0, 1, 0]
    assert all(r["images"][0]["width"] > 0 for r in records if r["images"])
    assert uncaptioned_figures(records) == [1]
    assert heading_problems(records) == ["h1 'Scratch' is followed by h3 'Skipped a level'"]


def test_the_figure_check_tells_a_figure_with_a_text_alternative_from_one_without(page, lab):
    """The test of check_figures_named: plt.show() gives an image with no accessible name,
    course.plots.show(fig, alt) one named by ``alt``."""
    draw = ("import matplotlib.pyplot as plt\nfrom course import plots\n"
            "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([0, 1], [0, 1])\n")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(draw + "plt.show()"),
        nbformat.v4.new_code_cell(draw + 'plots.show(fig, "A straight line from zero to one.")'),
    ])
    run_scratch(page, lab, notebook, "figure-names", "scratch-figures")
    records = cells(page)
    assert [len(r["images"]) for r in records] == [1, 1]
    assert figure_names(page) == ["", "A straight line from zero to one."]
    with pytest.raises(AssertionError, match="without a text alternative"):
        check_figures_named(page, records)


def test_maths_check_catches_dollar_amounts(page, lab):
    """The test of the maths check: two amounts in one paragraph render as maths, even
    escaped; written as USD they do not, and $$...$$ still does."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("It costs $9,000 per retraining and $10 per error."),
        nbformat.v4.new_markdown_cell("It costs \\$9,000 per retraining and \\$10 per error."),
        nbformat.v4.new_markdown_cell("It costs USD 9,000 per retraining and USD 10 per error."),
        nbformat.v4.new_markdown_cell("$$p > \\frac{1}{6}$$"),
        nbformat.v4.new_code_cell("1 + 1"),  # open_notebook waits for a kernel and a prompt
    ])
    run_scratch(page, lab, notebook, "maths", "scratch-maths")
    page.wait_for_selector(f"{PANEL} mjx-container, {PANEL} .MathJax", timeout=30_000)
    maths = [r["maths"] > 0 for r in cells(page)]
    screenshot(page, "maths-check")
    assert maths == [True, True, False, True, False], maths


def test_opening_and_running_the_course_created_no_gradebook(lab):
    """Last in this file: every notebook above was opened, run, saved and validated."""
    assert not list(lab.root.glob("**/gradebook.db*")), "a gradebook.db appeared"
