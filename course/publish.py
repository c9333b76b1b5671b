"""Point every Binder link of the course at the GitHub repository it is published from.

``python -m course publish OWNER/REPO [--ref BRANCH]`` (or with no repository: the one
``git remote get-url origin`` names) rewrites each ``https://mybinder.org/v2/gh/...`` link
in the course's markdown files and in the markdown cells of its notebooks, keeping what
each link opens. It refuses a repository name GitHub would not accept and a link whose
notebook does not exist, and changes nothing then.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course.errors import AuthorError
from course.layout import add_course_dir
from course.notebook import read

PLACEHOLDER = "OWNER/REPO"
# https://mybinder.org/v2/gh/<owner>/<repo>/<ref>?urlpath=lab/tree/<path>
LINK = re.compile(r"https://mybinder\.org/v2/gh/(?P<repo>[^/\s)]+/[^/\s)]+)/(?P<ref>[^?\s)]+)"
                  r"\?urlpath=(?P<urlpath>[^\s)\"'>]+)")
OWNER_REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
GITHUB_URL = re.compile(r"(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)"
                        r"(?P<repo>[^/\s]+/[^/\s]+?)(?:\.git)?/?$")
REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
SKIPPED = {".git", ".venv", "my-work", "test-artifacts", "node_modules", "submitted",
           "autograded", "feedback", "release"}


@dataclass(frozen=True)
class Link:
    """One Binder link found in a file."""

    path: Path
    repo: str
    ref: str
    target: str  # the file it opens, relative to the repository root ("" if none)


def repository_name(given: str) -> str:
    """Return ``OWNER/REPO`` from that form or a GitHub URL; raise AuthorError otherwise."""
    given = given.strip()
    found = GITHUB_URL.search(given)
    name = found.group("repo") if found else given
    if not OWNER_REPO.fullmatch(name) or name == PLACEHOLDER:
        raise AuthorError(f"{given!r} is not a GitHub repository: give OWNER/REPO "
                          "(for example jdoe/ml-for-pms) or a github.com URL")
    return name


def origin_repository(root: Path) -> str:
    """Return ``OWNER/REPO`` of the ``origin`` remote of the git repository at ``root``."""
    result = subprocess.run(["git", "remote", "get-url", "origin"], cwd=root,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise AuthorError("no GitHub repository given and `git remote get-url origin` "
                          f"found none ({result.stderr.strip() or 'no remote'}): run "
                          "`python -m course publish OWNER/REPO`")
    return repository_name(result.stdout)


def target_of(urlpath: str) -> str:
    """Return the file a Binder ``urlpath`` opens (``lab/tree/<path>``), or ""."""
    for prefix in ("lab/tree/", "tree/", "notebooks/"):
        if urlpath.startswith(prefix):
            return urlpath[len(prefix):].split("?")[0]
    return ""


def course_files(root: Path) -> list[Path]:
    """Markdown files and notebooks of the course (not the environment or learner copies)."""
    found = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.suffix in (".md", ".ipynb") and path.is_file() and not (
                SKIPPED.intersection(parts) or any(p.startswith(".") for p in parts)):
            found.append(path)
    return found


def markdown_texts(path: Path) -> list[str]:
    """Return the markdown a file shows: the file itself, or a notebook's markdown cells."""
    if path.suffix != ".ipynb":
        return [path.read_text(encoding="utf-8")]
    notebook = read(path)
    return [c.source for c in notebook.cells if c.cell_type == "markdown"]


def find_links(root: Path) -> list[Link]:
    """Every Binder link in the course's markdown files and notebooks."""
    return [Link(path, m.group("repo"), m.group("ref"), target_of(m.group("urlpath")))
            for path in course_files(root) for text in markdown_texts(path)
            for m in LINK.finditer(text)]


def rewrite(text: str, repo: str, ref: str) -> str:
    """``text`` with every Binder link pointing at ``repo`` and ``ref``."""
    return LINK.sub(lambda m: (f"https://mybinder.org/v2/gh/{repo}/{ref}"
                               f"?urlpath={m.group('urlpath')}"), text)


def _write(path: Path, repo: str, ref: str) -> bool:
    """Rewrite the links of one file, a notebook as a notebook; return whether it changed."""
    if path.suffix != ".ipynb":
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, repo, ref)
        if new != text:
            path.write_text(new, encoding="utf-8")
        return new != text
    notebook = read(path)
    changed = False
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and LINK.search(cell.source):
            new = rewrite(cell.source, repo, ref)
            changed |= new != cell.source
            cell.source = new
    if changed:
        nbformat.write(notebook, path)
    return changed


def publish(root: Path, repo: str, ref: str = "HEAD") -> list[Path]:
    """Point every Binder link under ``root`` at ``repo``/``ref``; return the changed files."""
    repo = repository_name(repo)
    if not REF.fullmatch(ref) or ".." in ref:
        raise AuthorError(f"{ref!r} is not a git branch, tag or commit")
    links = find_links(root)
    if not links:
        raise AuthorError(f"no Binder link (https://mybinder.org/v2/gh/...) under {root}")
    missing = sorted({f"{link.path.relative_to(root)} opens {link.target or '(nothing)'}"
                      for link in links if not link.target or not (root / link.target).is_file()})
    if missing:
        raise AuthorError("Binder links that open no file of the course:\n  "
                          + "\n  ".join(missing))
    return [path for path in sorted({link.path for link in links}) if _write(path, repo, ref)]


def _run(args: argparse.Namespace) -> int:
    root = Path(args.course_dir).resolve()
    repo = repository_name(args.repo) if args.repo else origin_repository(root)
    changed = publish(root, repo, args.ref)
    links = find_links(root)
    print(f"{len(links)} Binder links now open https://mybinder.org/v2/gh/{repo}/{args.ref}"
          + (f"; changed {', '.join(str(p.relative_to(root)) for p in changed)}" if changed
             else "; nothing to change"))
    return 0


def add_command(commands: argparse._SubParsersAction) -> None:
    """Register ``python -m course publish``."""
    command = commands.add_parser(
        "publish", help="author: point every Binder link at the published GitHub repository",
        description="Rewrite every Binder badge and link (README.md, the course's markdown "
                    "files and notebooks) to open the course from OWNER/REPO at --ref. "
                    "Run it once when the course is forked or published, and commit.")
    command.add_argument("repo", nargs="?",
                         help="OWNER/REPO or a github.com URL (default: git remote origin)")
    command.add_argument("--ref", default="HEAD", help="branch, tag or commit (default: HEAD)")
    add_course_dir(command)
    command.set_defaults(run=_run)
