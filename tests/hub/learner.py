"""A learner on the hub in Chromium: log in, Assignment List, fetch, answer, Validate, submit,
fetch and read the feedback.

The page is nbgrader's own Assignment List (Nbgrader → Assignment List) and JupyterLab's
notebook editor; the clicks and keys are the ones a learner uses. Screenshots go to
test-artifacts/hub/, named after the learner (``who``).
"""

from __future__ import annotations

import re
from pathlib import Path

from browser.lab import PANEL, open_notebook_url
from nbtools import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "hub"
LIST = "#assignments"
RELEASED = "#released_assignments_list .list_item"
FETCHED = "#fetched_assignments_list .list_item"
SUBMITTED = "#submitted_assignments_list .list_item"


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def log_in(page, base: str, user: str, password: str, timeout_ms: int = 120_000) -> None:
    """The hub's login form; the hub starts the learner's server and opens JupyterLab."""
    page.goto(f"{base}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    page.wait_for_url(re.compile(rf".*/user/{re.escape(user)}/lab.*"), timeout=timeout_ms)
    page.wait_for_selector(".lm-MenuBar-item", timeout=timeout_ms)


def nbgrader_menu(page) -> list[str]:
    """Open the Nbgrader menu; return its items."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Nbgrader$")).click()
    items = page.locator(".lm-Menu:visible .lm-Menu-item:visible .lm-Menu-itemLabel")
    items.first.wait_for()
    return [text.strip() for text in items.all_inner_texts()]


def open_assignment_list(page) -> list[str]:
    """Nbgrader → Assignment List; return the items the Nbgrader menu offered."""
    items = nbgrader_menu(page)
    page.locator(".lm-Menu:visible .lm-Menu-item", has_text="Assignment List").click()
    page.wait_for_selector(f"{LIST} #course_list_default", timeout=60_000)
    return items


def click_in(page, row: str, button: str, then: str, timeout_ms: int = 120_000) -> None:
    """Click ``button`` in the first ``row`` of the list, wait for ``then`` to appear."""
    page.locator(row).locator("button", has_text=button).first.click()
    page.wait_for_selector(then, timeout=timeout_ms)


def fetch(page, who: str) -> None:
    page.wait_for_selector(f"{RELEASED} button:has-text('Fetch')", timeout=60_000)
    screenshot(page, f"{who}-assignment-list-released")
    click_in(page, RELEASED, "Fetch", f"{FETCHED} button:has-text('Submit')")


def open_notebook(page, base: str, user: str, path: str, timeout_ms: int = 120_000) -> None:
    """Open ``path`` (relative to the learner's home) alone in a fresh workspace; wait for an
    idle Python kernel."""
    workspace = re.sub(r"\W", "-", Path(path).stem)
    open_notebook_url(page, f"{base}/user/{user}/lab/workspaces/{workspace}/tree/{path}?reset",
                      timeout_ms)


def type_answers(page, answers: dict[int, str]) -> None:
    """Replace each answer cell (by its index in the notebook) as a learner does: click
    into the cell (double-click a written answer, to edit it), select all, type."""
    cells = page.locator(f"{PANEL} .jp-Notebook .jp-Cell")
    for index, source in answers.items():
        cell = cells.nth(index)
        if "jp-MarkdownCell" in (cell.get_attribute("class") or ""):
            cell.locator(".jp-MarkdownOutput").dblclick()
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(source)
    page.keyboard.press("Escape")


def validate(page, who: str, timeout_ms: int = 240_000) -> str:
    """Expand the fetched assignment, press its notebook's Validate; return the dialog's text."""
    page.locator(f"{FETCHED} a.assignment-notebooks-link").first.click()
    page.locator(f"{FETCHED} .nested_list_item button", has_text="Validate").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "() => !/please wait/i.test(document.querySelector('.jp-Dialog').innerText)",
        timeout=timeout_ms)
    text = dialog.inner_text()
    screenshot(page, f"{who}-validate-result")
    dialog.locator("button", has_text=re.compile("OK|Ok")).first.click()
    return text


def submit(page, who: str) -> None:
    click_in(page, FETCHED, "Submit", SUBMITTED)
    screenshot(page, f"{who}-assignment-list-submitted")


def fetch_feedback(page, who: str) -> None:
    page.locator("#refresh_assignments_list").click()
    page.wait_for_selector(f"{SUBMITTED} button:has-text('Fetch Feedback')", timeout=60_000)
    click_in(page, SUBMITTED, "Fetch Feedback", f"{SUBMITTED} a:has-text('view feedback')")
    screenshot(page, f"{who}-assignment-list-feedback")


def read_feedback(page, who: str, name: str, timeout_ms: int = 60_000) -> str:
    """Press "(view feedback)", open ``name`` from the file browser; return the text shown."""
    page.locator(SUBMITTED).locator("a", has_text="view feedback").first.click()
    item = page.locator(".jp-DirListing-item", has_text=name).first
    item.wait_for(timeout=timeout_ms)
    item.dblclick()
    frame = page.frame_locator(".jp-HTMLViewer:not(.lm-mod-hidden) iframe")
    body = frame.locator("body")
    body.locator("text=Score").first.wait_for(timeout=timeout_ms)
    screenshot(page, f"{who}-feedback")
    return body.inner_text()
