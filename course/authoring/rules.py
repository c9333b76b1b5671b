"""The course's rules for a module, written once: ``release`` checks them, the suite too.

A module that breaks one is named with the cell as JupyterLab shows it (``cell 12``,
counted from 1) and its grade id, so an author can find it:

1. Grading cells: unique grade ids; an answer cell ``<name>_answer`` starts with
   ``<name> = None  # ...`` above its ``### BEGIN SOLUTION`` block; its test cell
   ``<name>_test`` is locked, has points, is tagged ``raises-exception`` and shows one
   line, ``check("<name>", <name>)``.
2. Graded work (every module but 00_welcome): at least 6 autograded exercises, at least
   20 points, and a decision memo graded by hand.
3. Memos: the cell above each hand-graded answer is its locked mark scheme
   ``<name>_scheme``, whose first line states the points and whose criteria add up to
   them, with no figure the memo is meant to find; the answer's solution block holds
   "Grader's notes".
4. ``exercises.toml``: every exercise lists wrong answers, and at least one names its
   mistake (``says``), unless it is a choice.
5. Markdown and figures: no ``$`` outside ``$$...$$`` (two of them render as maths);
   every figure is shown with ``plots.show(fig, alt)`` (its text alternative) and
   followed by a markdown cell opening with a caption sentence; images have alt text.
6. README: the module table has a row for the module with a Binder launch link.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbformat import NotebookNode

from course.authoring.spec import load_spec
from course.errors import AuthorError
from course.notebook import (
    grade_id,
    grading,
    is_answer_cell,
    is_hand_graded,
    is_test_cell,
    read,
    solution_path,
    visible_part,
)

MIN_EXERCISES = 6
MIN_POINTS = 20
UNGRADED_MODULES = {"00_welcome"}  # the welcome shows the checks; it has no memo
PLACEHOLDER = re.compile(r"^\s*[A-Za-z_]\w*\s*=\s*None\b", re.M)
CHECK_LINE = re.compile(r'^check\(\s*"(?P<name>\w+)"\s*,')
DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)

#: What a released mark scheme may number: points, criteria, the memo's length, and
#: references to parts of the notebook. Any other figure is part of an answer.
ALLOWED_NUMBERS = re.compile(
    r"\(\d+ points?[^)]*\)|^\s*\d+\.\s|(?<=\|)\s*#?\s*\d*\s*(?=\|)|\d+–\d+ words|"
    r"\b(?:[Ee]xercises?|[Cc]riterion|[Ss]ection|[Pp]art|[Mm]odule)s? \d+(?:–\d+)?|"
    r"\b1 per question|\b\d+,\d{3} applicants", re.M)
POINTS = re.compile(r"\((\d+) points?\b|^\|\s*\d+\s*\|.*\|\s*(\d+)\s*\|$", re.M)

DRAWS = re.compile(r"\bplt\.show\(|\.plot\(|\bplots\.\w+\(|Display\.from_|\.imshow\(")
MARKDOWN_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\([^)]*\)|<img\b(?P<tag>[^>]*)>")
SENTENCE = re.compile(r"\w.*\w.*[.!?][*_)\"”’]*$", re.S)


def cell_label(cells: list[NotebookNode], index: int) -> str:
    """Name a cell as an author finds it: its 1-based number and grade id, if any."""
    name = grade_id(cells[index])
    return f"cell {index + 1} ({name})" if name else f"cell {index + 1}"


def grading_cell_problems(cells: list[NotebookNode]) -> list[str]:
    """Rule 1: well-formed answer and test cells, named after their exercise."""
    ids = [grade_id(c) for c in cells if grade_id(c)]
    problems = [f"grade id {i!r} is used twice" for i in sorted(set(ids)) if ids.count(i) > 1]
    for index, cell in enumerate(cells):
        where, meta = cell_label(cells, index), grading(cell)
        if is_test_cell(cell):
            problems += _test_cell_problems(cell, where, meta)
        elif is_answer_cell(cell):
            if not PLACEHOLDER.search(cell.source.split("### BEGIN SOLUTION")[0]):
                problems.append(f"{where}: an answer cell starts with `name = None  # ...` "
                                "above its solution, so the release runs to the end")
            if "### BEGIN SOLUTION" not in cell.source:
                problems.append(f"{where}: an answer cell needs a ### BEGIN SOLUTION block")
            if not str(meta.get("grade_id", "")).endswith("_answer"):
                problems.append(f"{where}: an answer cell's grade id is `<name>_answer`")
    return problems


def _test_cell_problems(cell: NotebookNode, where: str, meta: dict) -> list[str]:
    problems = []
    if not (meta.get("locked") and meta.get("points", 0) > 0):
        problems.append(f"{where}: a test cell must be locked and worth points")
    if "raises-exception" not in cell.metadata.get("tags", []):
        problems.append(f"{where}: tag test cells `raises-exception` so Run All goes on")
    visible = visible_part(cell.source).strip()
    found = CHECK_LINE.match(visible)
    name = found["name"] if found else None
    if len(visible.splitlines()) != 1 or name is None:
        problems.append(f'{where}: the visible check is one line, check("name", value)')
    elif meta.get("grade_id") != f"{name}_test":
        problems.append(f"{where}: the test cell of {name!r} is named `{name}_test` "
                        "(grading, progress and the report find the exercise by it)")
    return problems


def workload_problems(module: str, cells: list[NotebookNode]) -> list[str]:
    """Rule 2: enough graded work, and a memo graded by hand."""
    if module in UNGRADED_MODULES:
        return []
    tests = [c for c in cells if is_test_cell(c)]
    points = sum(grading(c).get("points", 0) for c in tests)
    problems = []
    if len(tests) < MIN_EXERCISES:
        problems.append(f"{len(tests)} autograded exercises; a module has at least "
                        f"{MIN_EXERCISES}")
    if points < MIN_POINTS:
        problems.append(f"{points} autograded points; a module has at least {MIN_POINTS}")
    if not hand_graded(cells):
        problems.append("no decision memo graded by hand (a cell with nbgrader "
                        "grade and solution both true)")
    return problems


def hand_graded(cells: list[NotebookNode]) -> list[int]:
    """Return the indexes of the hand-graded answers (memos) among ``cells``."""
    return [i for i, cell in enumerate(cells) if is_hand_graded(cell)]


def figures_in_scheme(text: str) -> list[str]:
    """Return the numbers a mark scheme states besides points, criteria and references."""
    return re.findall(r"\d[\d,.%]*", ALLOWED_NUMBERS.sub(" ", text))


def scheme_points(text: str) -> list[int]:
    """Return each criterion's points, from a list or a table (not the heading's total)."""
    body = text.split("\n", 1)[1] if "\n" in text else ""  # below the heading's total
    points = [int(a or b) for a, b in POINTS.findall(body)]
    if not points and re.search(r"One point (for )?each", text):  # a numbered list
        points = [1] * len(re.findall(r"^\s*\d+\.\s", body, re.M))
    return points


def memo_problems(cells: list[NotebookNode]) -> list[str]:
    """Rule 3: each memo has its mark scheme above it and grader's notes in its solution."""
    problems = []
    for index in hand_graded(cells):
        answer, where = cells[index], cell_label(cells, index)
        name, points = grade_id(answer), grading(answer).get("points", 0)
        scheme = cells[index - 1] if index else None
        if scheme is None or grade_id(scheme) != f"{name}_scheme":
            problems.append(f"{where}: the cell above a memo is its mark scheme, "
                            f"a locked markdown cell with grade id `{name}_scheme`")
            continue
        problems += _scheme_problems(scheme.source, grading(scheme), name, points)
        if "Grader's notes" not in answer.source.split("### BEGIN SOLUTION")[-1]:
            problems.append(f"{where}: the memo's solution block needs \"Grader's notes\"")
    return problems


def _scheme_problems(shown: str, meta: dict, name: str, points: int) -> list[str]:
    problems = []
    if not meta.get("locked") or meta.get("solution"):
        problems.append(f"{name}_scheme: a mark scheme is locked and is not a solution")
    if f"({points} points" not in shown.split("\n\n")[0]:
        problems.append(f"{name}_scheme: its first paragraph states the memo's "
                        f"({points} points ...)")
    criteria = scheme_points(shown)
    if not (sum(criteria) == points or not criteria and "1 per question" in shown):
        problems.append(f"{name}_scheme: its criteria give {criteria}, the memo is worth "
                        f"{points}")
    if figures_in_scheme(shown):
        problems.append(f"{name}_scheme: the released scheme states figures the memo is meant "
                        f"to find ({', '.join(figures_in_scheme(shown))}); keep them in the "
                        "grader's notes (the solution block)")
    return problems


def spec_problems(root: Path, module: str) -> list[str]:
    """Rule 4: every exercise lists wrong answers, and names at least one mistake."""
    problems = []
    for name, exercise in load_spec(root, module).items():
        if not exercise.wrong:
            problems.append(f"exercises.toml [{name}]: lists no wrong answer")
        elif not any(w.says for w in exercise.wrong) and exercise.kind not in ("choice", "best"):
            problems.append(f"exercises.toml [{name}]: no wrong answer names its mistake "
                            "(`says`)")
    return problems


def markdown_problems(cells: list[NotebookNode]) -> list[str]:
    """Rule 5: no stray ``$``; every figure captioned; every image with alt text."""
    problems = [f"{cell_label(cells, i)}: a $ outside $$...$$ renders as maths (write "
                "amounts as USD 50K)" for i, c in enumerate(cells)
                if c.cell_type == "markdown" and "$" in DISPLAY_MATH.sub("", c.source)]
    return problems + caption_problems(cells)


def caption_problems(cells: list[NotebookNode]) -> list[str]:
    """Return the figures without a caption and the images without alt text.

    A figure is captioned when the markdown cell under its drawing cell opens with a
    sentence of four words or more.
    """
    problems = []
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            for image in MARKDOWN_IMAGE.finditer(cell.source):
                alt = image.group("alt") if image.group("tag") is None else (
                    re.search(r'alt="([^"]*)"', image.group("tag")) or [None, ""])[1]
                if not (alt or "").strip():
                    problems.append(f"{cell_label(cells, i)}: an image without alt text")
        elif DRAWS.search(cell.source):
            if not _captioned(cells, i):
                problems.append(f"{cell_label(cells, i)}: a figure with no caption sentence in "
                                "the cell under it")
            if "plt.show(" in cell.source:
                problems.append(f"{cell_label(cells, i)}: show figures with "
                                "`plots.show(fig, alt)`, whose alt sentence a screen reader "
                                "reads (plt.show gives the image no text alternative)")
    return problems


def _captioned(cells: list[NotebookNode], index: int) -> bool:
    after = cells[index + 1] if index + 1 < len(cells) else None
    if after is None or after.cell_type != "markdown":
        return False
    first = after.source.strip().split("\n\n")[0]
    return (not first.startswith(("#", "|", "-", ">", "<")) and len(first.split()) >= 4
            and bool(SENTENCE.search(first)))


def readme_problems(root: Path, module: str) -> list[str]:
    """Rule 6: the README's module table lists the module with its Binder launch link."""
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    release = f"notebooks/{module}/{module}.ipynb"
    rows = [line for line in text.splitlines() if line.startswith("|") and release in line]
    if not any("mybinder.org" in row and f"urlpath=lab/tree/{release}" in row for row in rows):
        return [f"README.md: the module table has no row for {module} with its notebook, "
                f"solution and Binder launch link (urlpath=lab/tree/{release}); copy a row"]
    return []


def module_problems(root: Path, module: str) -> list[str]:
    """Every rule a module's source, spec and README row break (empty when all hold)."""
    cells = read(solution_path(module, root)).cells
    return (grading_cell_problems(cells) + workload_problems(module, cells)
            + memo_problems(cells) + spec_problems(root, module)
            + markdown_problems(cells) + readme_problems(root, module))


def check_rules(root: Path, module: str) -> None:
    """Raise AuthorError listing every rule ``module`` breaks (README, "For authors")."""
    problems = module_problems(root, module)
    if problems:
        raise AuthorError(f"{module} breaks {len(problems)} of the course's rules "
                          "(README.md, For authors; course/authoring/rules.py):\n  "
                          + "\n  ".join(problems))
