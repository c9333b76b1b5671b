"""JupyterLab in a subprocess and Debian's Chromium driven by Playwright, as a learner uses them."""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .learner_env import ROOT, LearnerEnv

ARTIFACTS = ROOT / "test-artifacts" / "browser"

# Chromium on a machine with no screen and a closed network (see the machine notes):
# no GPU, no sandbox as root, and none of Chromium's own background connections.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "chromium", "chromium-browser"]

def find_chromium() -> str | None:
    """The Chromium to drive: $COURSE_CHROMIUM, else Debian's."""
    for candidate in [os.environ.get("COURSE_CHROMIUM", ""), *CHROMIUM_CANDIDATES]:
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


def call_api(url: str, token: str, method: str, body: object = None,
             timeout: float = 30) -> tuple[int, object]:
    """Call a Jupyter REST API with a token; return the status and the JSON (or text)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


@functools.cache
def chromium_runs() -> bool:
    """True if Playwright is installed and the Chromium it would drive starts headless here.

    Then tests/test_browser.py runs (it skips, saying why, exactly when this is False).
    """
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    executable = find_chromium()
    if executable is None:
        return False
    try:
        probe = subprocess.run([executable, *CHROMIUM_FLAGS, "--dump-dom", "about:blank"],
                               capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0 and "<body" in probe.stdout


def require_chromium() -> str:
    """Return the Chromium to drive, or skip saying how to install it (and Playwright)."""
    import pytest

    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright is not installed (it is a test extra: `python3 run.py test`)")
    executable = find_chromium()
    if executable is None:
        pytest.skip("Chromium is not installed: `apt-get install chromium` (Debian), "
                    "or set COURSE_CHROMIUM to a Chromium or Chrome executable")
    return executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab server."""

    process: subprocess.Popen
    port: int
    token: str
    root: Path
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query: str) -> str:
        query = {"token": self.token, **query}
        return f"{self.base}/{path.lstrip('/')}?" + "&".join(f"{k}={v}" for k, v in query.items())

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        """Call the server's REST API; return the status and the decoded JSON (or text)."""
        return call_api(f"{self.base}/{path.lstrip('/')}", self.token, method, body)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_lab(learner: LearnerEnv, root: Path, log: Path, timeout: float = 90) -> Lab:
    """Start JupyterLab through the repository's ``start`` script, as Binder does.

    Free local port, a random token, ``root`` as the root directory; return once the
    server answers its status API.
    """
    port, token = free_port(), secrets.token_hex(16)
    command = [str(ROOT / "start"), "jupyter-lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--ServerApp.open_browser=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=root, env=learner.env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(process, port, token, root, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{lab.log_tail()}")
        try:
            status, _ = lab.api("GET", "api/status")
            if status == 200:
                return lab
        except OSError:
            pass
        time.sleep(0.5)
    lab.stop()
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{lab.log_tail()}")


# --- In the page --------------------------------------------------------------------

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

KERNEL_READY = """(panel) => {
    const p = document.querySelector(panel);
    if (!p) return false;
    const name = p.querySelector('.jp-KernelName');
    const state = p.querySelector('.jp-Notebook-ExecutionIndicator');
    return !!name && name.textContent.includes('Python')
        && !!state && state.getAttribute('data-status') === 'idle';
}"""

ALL_RAN = """(panel) => {
    const p = document.querySelector(panel);
    const state = p.querySelector('.jp-Notebook-ExecutionIndicator');
    const prompts = [...p.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
    return state.getAttribute('data-status') === 'idle' && prompts.length > 0
        && prompts.every(q => /\\[\\d+\\]/.test(q.textContent));
}"""

# One record per cell, in notebook order: what the learner sees.
CELLS = """async (panel) => {
    const p = document.querySelector(panel);
    const out = [];
    for (const c of p.querySelectorAll('.jp-Notebook .jp-Cell')) {
        const images = [];
        for (const img of c.querySelectorAll('.jp-OutputArea-output img')) {
            img.scrollIntoView();
            try { await img.decode(); } catch (e) {}
            images.push({alt: (img.getAttribute('alt') || '').trim(),
                         width: img.naturalWidth, height: img.naturalHeight});
        }
        const md = c.classList.contains('jp-MarkdownCell')
            ? c.querySelector('.jp-MarkdownOutput') : null;
        let firstBlock = null;
        if (md) {
            const first = [...md.children].find(e => e.textContent.trim() !== '');
            if (first) {
                firstBlock = {tag: first.tagName.toLowerCase(), text: first.textContent.trim()};
            }
        }
        out.push({
            type: c.classList.contains('jp-CodeCell') ? 'code'
                : c.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
            prompt: (c.querySelector('.jp-InputArea-prompt') || {textContent: ''})
                .textContent.trim(),
            outputs: [...c.querySelectorAll('.jp-OutputArea-output')].map(o => ({
                mime: o.getAttribute('data-mime-type') || '',
                text: o.textContent,
            })),
            images,
            headings: md ? [...md.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => ({
                level: Number(h.tagName[1]), text: h.textContent.replace(/\\u00b6$/, '').trim(),
            })) : [],
            firstBlock,
            maths: md ? md.querySelectorAll('mjx-container, .MathJax').length : 0,
        });
    }
    return out;
}"""

# A traceback, or a check's message: checks render as their message alone (✘ wrong, … not
# answered yet), which JupyterLab shows as an error output.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w+(Error|Exception|Failed)\b"
                       r"|^(✘|…) `", re.M)


def is_error_output(output: dict) -> bool:
    """An error (a traceback) rather than an ordinary stream or result."""
    return output["mime"] == "application/vnd.jupyter.stderr" and bool(
        TRACEBACK.search(output["text"]))


def open_notebook(page, lab: Lab, path: str, workspace: str, timeout_ms: int = 90_000) -> None:
    """Open ``path`` in its own JupyterLab workspace and wait for an idle Python kernel."""
    open_notebook_url(page, lab.url(f"lab/workspaces/{workspace}/tree/{path}", reset=""),
                      timeout_ms)


def open_notebook_url(page, url: str, timeout_ms: int = 90_000) -> None:
    """Go to ``url``, a JupyterLab notebook address; wait for an idle Python kernel."""
    page.goto(url)
    page.wait_for_selector(f"{PANEL} .jp-Notebook .jp-Cell", timeout=timeout_ms)
    page.wait_for_function(KERNEL_READY, arg=PANEL, timeout=timeout_ms)


def run_all(page, timeout_ms: int = 150_000) -> None:
    """Run → Run All Cells from the menu bar; wait until every code cell has run."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has=page.locator(".lm-Menu-itemLabel",
                 has_text=re.compile(r"^Run All Cells$"))).click()
    page.wait_for_function(ALL_RAN, arg=PANEL, timeout=timeout_ms)


def save(page) -> None:
    """File → Save Notebook (Ctrl+S), and wait until the tab is no longer dirty."""
    page.locator(f"{PANEL} .jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.jp-mod-current.jp-mod-dirty, "
        ".lm-TabBar-tab.lm-mod-current.jp-mod-dirty')", timeout=30_000)


def cells(page) -> list[dict]:
    return page.evaluate(CELLS, PANEL)


def screenshot(page, name: str, scroll_to=None) -> Path:
    """Save what the learner sees to test-artifacts/browser/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if scroll_to is not None:
        scroll_to.scroll_into_view_if_needed()
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def shut_down_kernels(lab: Lab) -> None:
    """Close every session, so each notebook starts with a fresh kernel and memory."""
    status, sessions = lab.api("GET", "api/sessions")
    for session in sessions if status == 200 else []:
        lab.api("DELETE", f"api/sessions/{session['id']}")


# --- Accessibility checks on the cell records -------------------------------------

ARIA_IMG = re.compile(r'^img(?: "(?P<name>.*)")?$', re.S)


def aria_img_name(snapshot: str) -> str | None:
    """The name in an ARIA snapshot of one image (``- img "name"``, YAML that quotes the
    whole item when the name holds ": "); None if it is not an image."""
    import yaml

    first = snapshot.strip().splitlines()[0] if snapshot.strip() else ""
    plain = ARIA_IMG.match(first.removeprefix("- ").removesuffix(":"))
    if plain:
        return plain.group("name") or ""
    items = yaml.safe_load(snapshot) or [None]
    item = items[0]
    if isinstance(item, dict):  # "- img "name":" followed by children
        item = next(iter(item))
    match = ARIA_IMG.match(item.strip()) if isinstance(item, str) else None
    return (match.group("name") or "") if match else None


def figure_names(page) -> list[str]:
    """The accessible name of every image in the notebook's outputs, as the browser's
    accessibility tree has it (Playwright's ARIA snapshot); "" for an image without one.

    Each is scrolled into view first: JupyterLab lays out off-screen cells lazily
    (``content-visibility: auto``), and Chromium leaves their names out until then.
    """
    figures = page.locator(f"{PANEL} .jp-OutputArea-output").get_by_role("img")
    names = []
    for index in range(figures.count()):
        figures.nth(index).scroll_into_view_if_needed()
        names.append(aria_img_name(figures.nth(index).aria_snapshot()) or "")
    return names


SENTENCE = re.compile(r"\w.*\w.*[.!?][*_)\"”’]*$", re.S)


def uncaptioned_figures(records: list[dict]) -> list[int]:
    """Cells with a figure that has neither alt text nor a caption sentence under it.

    A caption is the first block of the next cell, a markdown paragraph of at least
    four words that ends as a sentence does.
    """
    missing = []
    for index, cell in enumerate(records):
        if not cell["images"] or all(img["alt"] for img in cell["images"]):
            continue
        after = records[index + 1] if index + 1 < len(records) else None
        block = after and after["type"] == "markdown" and after["firstBlock"]
        if not (block and block["tag"] == "p" and len(block["text"].split()) >= 4
                and SENTENCE.search(block["text"])):
            missing.append(index)
    return missing


def heading_problems(records: list[dict]) -> list[str]:
    """Headings out of order: the first is not an h1, or a level is skipped going down."""
    headings = [h for cell in records for h in cell["headings"]]
    problems = []
    if headings and headings[0]["level"] != 1:
        problems.append(f"the first heading is h{headings[0]['level']}: {headings[0]['text']!r}")
    for before, after in zip(headings, headings[1:], strict=False):
        if after["level"] > before["level"] + 1:
            problems.append(f"h{before['level']} {before['text']!r} is followed by "
                            f"h{after['level']} {after['text']!r}")
    return problems
