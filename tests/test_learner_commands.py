"""Every command the course prints to a learner works exactly as printed (issue 28, item 3).

Learner-facing text (the README's learner sections, run.py, and the messages of
course/workspace.py, progress.py and environment.py) names commands a learner types at
the repository root. They must be ``python3 run.py ...``: ``python -m course ...`` fails
outside the virtual environment (``No module named 'nbformat'``). Commands with a module
or a number filled in at run time are taken from the real output of the command that
prints them. Each is then run, as printed, in a fresh clone of the course.
"""

from __future__ import annotations

import ast
import re
import subprocess

import nbformat
import pytest
from browser.fresh_clone import Clone, fresh_clone
from nbtools import ROOT

LEARNER_FILES = ["course/workspace.py", "course/progress.py", "course/environment.py",
                 "course/self_assessment.py", "run.py"]
#: README sections a learner reads: (first heading, the heading that ends the section).
LEARNER_SECTIONS = [("## Start learning", "## Or try it in your browser"),
                    ("### Check your progress", "## For authors")]
#: A command in backticks, after "For example:", or (in the README) alone on a line of a
#: code block.
COMMAND = r"((?:\.venv/bin/)?python3? (?:run\.py|-m course)[^`\n#]*?)\s*(?:`|#|$)"
INLINE = re.compile(r"(?:`|For example: )" + COMMAND, re.M)
BLOCK = re.compile(r"(?:`|For example: |^\s*)" + COMMAND, re.M)
#: Not run here: `lab` serves JupyterLab (tests/test_browser_first_hour.py opens what it
#: prints) and `test` runs this suite.
NOT_RUN = ("python3 run.py lab", "python3 run.py test")


def readme_learner_text() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    parts = []
    for start, end in LEARNER_SECTIONS:
        assert start in text and end in text, (start, end)
        parts.append(text[text.index(start):text.index(end, text.index(start))])
    return "\n".join(parts)


def printed_commands(text: str, blocks: bool = False) -> list[str]:
    """The commands ``text`` tells a learner to run, in order, each once (``blocks``: also
    the lines of Markdown code blocks)."""
    pattern = BLOCK if blocks else INLINE
    found = [re.sub(r"\s+", " ", m.group(1)).strip() for m in pattern.finditer(text)]
    return list(dict.fromkeys(found))


def printed_strings(path: str) -> str:
    """The string literals of a module that can reach a learner: not the docstrings of its
    functions and classes (for programmers), but run.py's module docstring (its usage)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    skipped = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)
                  and not (isinstance(node, ast.Module) and path == "run.py")}
    skipped |= {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                   for v in node.values}  # an f-string's parts: read whole, below
    parts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # an f-string: placeholders as {}
            parts.append("".join(v.value if isinstance(v, ast.Constant) else "{}"
                                 for v in node.values))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in skipped):
            parts.append(node.value)
    # Adjacent literals of one message are joined; separate messages stay apart.
    return "\n".join(parts)


def learner_commands() -> dict[str, list[str]]:
    """The commands each learner-facing file prints."""
    found = {name: printed_commands(printed_strings(name)) for name in LEARNER_FILES}
    found["README.md (learner sections)"] = printed_commands(readme_learner_text(), blocks=True)
    return found


def test_learner_facing_text_prints_only_commands_that_work_from_the_repository_root():
    wrong = {name: [c for c in commands if not c.startswith("python3 run.py ")]
             for name, commands in learner_commands().items()}
    wrong = {name: found for name, found in wrong.items() if found}
    assert not wrong, f"learner-facing commands that need the virtual environment: {wrong}"


def test_the_command_finder_sees_the_commands_it_must_judge():
    """The test of the test: the old advice is found and judged wrong."""
    old = "run `python -m course start 03_metrics --fresh`: it keeps your copy"
    assert printed_commands(old) == ["python -m course start 03_metrics --fresh"]
    assert printed_commands("    python3 run.py progress            # your copies",
                            blocks=True) == ["python3 run.py progress"]
    assert "python3 run.py start 03 --fresh" in printed_commands(readme_learner_text())


# --- run them, as printed, in a fresh clone ---------------------------------------------

@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Clone:
    made = fresh_clone(tmp_path_factory.mktemp("fresh"))
    first = run(made, "python3 run.py start")  # what `python3 run.py lab` does first
    assert first.returncode == 0, first.stderr
    return made


def run(clone: Clone, command: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run ``command`` as a learner's shell would, from the clone's root."""
    words = command.split()
    assert words[0] == "python3", command
    return subprocess.run([clone.python3(), *words[1:]], cwd=clone.root, env=clone.env,
                          capture_output=True, text=True, timeout=timeout)


def run_ok(clone: Clone, command: str) -> str:
    result = run(clone, command)
    assert result.returncode == 0, (
        f"`{command}`, as printed, failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def made_stale(clone: Clone, module: str) -> None:
    """The course updates ``module`` after the learner copied it (as a git pull would)."""
    release = clone.root / "notebooks" / module / f"{module}.ipynb"
    notebook = nbformat.read(release, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("A paragraph added by an update."))
    nbformat.write(notebook, release)


@pytest.mark.slow
def test_every_printed_command_runs_as_printed_in_a_fresh_clone(clone):
    commands = [c for found in learner_commands().values() for c in found
                if "{" not in c and not c.startswith(NOT_RUN)]
    # Printed at run time, with the module filled in: the update advice, --fresh's rule,
    # and progress's self-assessment example.
    made_stale(clone, "03_metrics")
    commands += printed_commands(run_ok(clone, "python3 run.py start"))
    wrong = run(clone, "python3 run.py start --fresh")
    assert wrong.returncode == 2, wrong.stderr
    commands += printed_commands(wrong.stderr)
    commands += printed_commands(run_ok(clone, "python3 run.py progress --saved"))
    assert {"python3 run.py start 03_metrics --fresh", "python3 run.py start 03 --fresh",
            "python3 run.py progress"} <= set(commands), commands
    assert any("--self-assess" in c for c in commands), commands
    ran = []
    for command in dict.fromkeys(commands):
        out = run_ok(clone, command)
        ran.append(f"{command}: {out.strip().splitlines()[-1] if out.strip() else ''}")
    print("\n".join(ran))
    assert list((clone.root / "my-work" / "backups").glob("03_metrics-*.ipynb"))
