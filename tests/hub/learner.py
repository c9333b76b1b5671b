"""A learner on the hub in Chromium: log in, Assignment List, fetch, Validate, submit, feedback.

The page is nbgrader's own Assignment List (Nbgrader → Assignment List); its
buttons are the ones a learner clicks. Screenshots go to test-artifacts/hub/.
"""

from __future__ import annotations

import re
from pathlib import Path

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


def fetch(page) -> None:
    page.wait_for_selector(f"{RELEASED} button:has-text('Fetch')", timeout=60_000)
    screenshot(page, "assignment-list-released")
    click_in(page, RELEASED, "Fetch", f"{FETCHED} button:has-text('Submit')")


def validate(page, timeout_ms: int = 240_000) -> str:
    """Expand the fetched assignment, press its notebook's Validate; return the dialog's text."""
    page.locator(f"{FETCHED} a.assignment-notebooks-link").first.click()
    page.locator(f"{FETCHED} .nested_list_item button", has_text="Validate").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "() => !/please wait/i.test(document.querySelector('.jp-Dialog').innerText)",
        timeout=timeout_ms)
    text = dialog.inner_text()
    screenshot(page, "validate-result")
    dialog.locator("button", has_text=re.compile("OK|Ok")).first.click()
    return text


def submit(page) -> None:
    click_in(page, FETCHED, "Submit", SUBMITTED)
    screenshot(page, "assignment-list-submitted")


def fetch_feedback(page) -> None:
    page.locator("#refresh_assignments_list").click()
    page.wait_for_selector(f"{SUBMITTED} button:has-text('Fetch Feedback')", timeout=60_000)
    click_in(page, SUBMITTED, "Fetch Feedback", f"{SUBMITTED} a:has-text('view feedback')")
    screenshot(page, "assignment-list-feedback")
