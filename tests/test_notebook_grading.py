"""Grading tests, tested: solutions pass every check, wrong answers and blank releases fail.

Each notebook runs once in a live kernel. At every test cell of a solution the
wrong answers listed in tests/answers/<module>.json are tried (each must fail
the visible checks and the full test with a friendly message) and the other
correct forms are tried (each must pass); then the solution is restored.
"""

import json
import re

import pytest
from nbtools import (
    ROOT,
    Kernel,
    grading,
    is_answer_cell,
    is_test_cell,
    module_ids,
    read,
    release_path,
    solution_path,
    visible_part,
)

pytestmark = pytest.mark.slow
MODULES = module_ids()
IGNORED_STDERR = re.compile(r"\b(\w*Warning|warnings\.warn)\b")
FRIENDLY = ("CheckFailed", "NotAttempted")


def _spec(module: str) -> dict:
    path = ROOT / "tests" / "answers" / f"{module}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _check_test_cell(kernel, cell, spec, answers, problems):
    grade_id = grading(cell)["grade_id"]
    entry = spec.get(grade_id, {"wrong": [], "right": []})
    for wrong in entry["wrong"]:
        setup = kernel.run(wrong)
        if not setup.ok:
            problems.append(f"{grade_id}: wrong answer {wrong!r} itself raised {setup.error}")
            continue
        for label, source in (("visible check", visible_part(cell.source)),
                              ("full test", cell.source)):
            reply = kernel.run(source)
            if reply.ok:
                problems.append(f"{grade_id}: {label} accepts the wrong answer {wrong!r}")
            elif not reply.error.startswith(FRIENDLY):
                problems.append(f"{grade_id}: {label} on {wrong!r} gave an unfriendly "
                                f"error {reply.error!r}")
    for right in entry.get("right", []) + entry.get("right_with_warning", []):
        kernel.run(right)
        reply = kernel.run(cell.source)
        if not reply.ok:
            problems.append(f"{grade_id}: rejects the correct answer {right!r}: {reply.error}")
    for right in entry.get("right_with_warning", []):
        kernel.run(right)
        if not IGNORED_STDERR.search(kernel.run(cell.source).stderr):
            problems.append(f"{grade_id}: {right!r} is listed as warning but writes no warning")
    if entry["wrong"] or entry.get("right"):
        kernel.run(answers[entry["answer_cell"]])
        kernel.run(cell.source)


@pytest.mark.parametrize("module", MODULES)
def test_solution_passes_all_tests_and_wrong_answers_fail(module):
    path = solution_path(module)
    spec, answers, problems = _spec(module), {}, []
    kernel = Kernel(path.parent)
    try:
        for index, cell in enumerate(read(path).cells):
            if cell.cell_type != "code":
                continue
            name = grading(cell).get("grade_id", f"cell {index}")
            reply = kernel.run(cell.source)
            if not reply.ok:
                problems.append(f"{name} failed in the solution: {reply.error}")
            if is_answer_cell(cell):
                answers[name] = cell.source
            if is_test_cell(cell):
                if reply.result:
                    problems.append(f"{name} ends with a value ({reply.result}); nbgrader "
                                    "would read it as partial credit")
                if reply.stderr and not IGNORED_STDERR.search(reply.stderr):
                    problems.append(f"{name} writes to stderr, which nbgrader scores as a "
                                    f"failure: {reply.stderr[:200]}")
                _check_test_cell(kernel, cell, spec, answers, problems)
    finally:
        kernel.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("module", MODULES)
def test_blank_release_runs_to_end_and_passes_no_test(module):
    path = release_path(module)
    problems = []
    kernel = Kernel(path.parent)
    try:
        for index, cell in enumerate(read(path).cells):
            if cell.cell_type != "code":
                continue
            reply = kernel.run(cell.source)
            name = grading(cell).get("grade_id", f"cell {index}")
            if is_test_cell(cell):
                if reply.ok:
                    problems.append(f"{name} passes on the blank release")
                elif not reply.error.startswith("NotAttempted"):
                    problems.append(f"{name} should say 'not answered yet', said {reply.error}")
            elif not reply.ok:
                problems.append(f"{name} raised in the release: {reply.error}")
    finally:
        kernel.close()
    assert not problems, "\n".join(problems)


def _blocks(source: str, begin: str, end: str) -> list[str]:
    pattern = re.compile(re.escape(begin) + r"\n(.*?)" + re.escape(end), re.S)
    return [b.strip() for b in pattern.findall(source) if b.strip()]


@pytest.mark.parametrize("module", MODULES)
def test_release_leaks_no_solution_or_hidden_test(module):
    release = "\n".join(c.source for c in read(release_path(module)).cells)
    assert "BEGIN SOLUTION" not in release and "BEGIN HIDDEN TESTS" not in release
    for cell in read(solution_path(module)).cells:
        for block in (_blocks(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
                      + _blocks(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")):
            assert block not in release, f"{module} release contains:\n{block[:300]}"


def test_answer_cells_are_distinct_from_tests():
    for module in MODULES:
        for cell in read(solution_path(module)).cells:
            assert not (is_answer_cell(cell) and is_test_cell(cell))
