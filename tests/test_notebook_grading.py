"""Each solution, run once: its release is up to date and its grading tests are tested.

One execution of each module's solution serves two tests (``solution_run``, cached per
module; both tests are in this file, so pytest-xdist's ``--dist loadfile`` keeps them in
one worker). ``release(check=True)`` runs the solution in a kernel: at each test cell it
records the visible check's key, tries the spec's right, ``also`` and wrong forms, and
in the end compares the hidden tests, the exercise data and the release in notebooks/
with what it would write (``test_release_check_finds_nothing_stale``).

Before release records a test cell, the same kernel, its checks judging as for a
learner, tests the grading (``test_solution_passes_all_tests_and_wrong_answers_fail``):
the whole cell must pass; the wrong answers of ``solutions/<module>/exercises.toml`` are
tried (each must fail the visible check and the grader's judgement, with its own
message), the other correct forms are tried (each must earn the points), and numeric
answers are probed around the solution's value: the visible check and the grader must
agree on every probe, values given to the course's precision pass, and values one unit
outside it fail. If release stops the run (an AuthorError), the grading is tested again
in a kernel of its own, so its problems are all still listed.

The grader's judgement is made as ``python -m course grade`` makes it: the
kernel sends the values the test cell names as data (``course.grading.run.evidence``)
and the test cell is judged outside the kernel (``course.grading.judging.judge``).
"""

import ast
import functools
import math
import re
from dataclasses import dataclass, field

import nbformat
import pytest
from browser.lab import chromium_runs
from nbtools import (
    ROOT,
    Kernel,
    answer_cell_for,
    grading,
    is_test_cell,
    load_spec,
    module_ids,
    parse_check,
    read,
    release_path,
    solution_path,
    visible_part,
)

from course import checks
from course.authoring.release import Outcome, release
from course.errors import AuthorError
from course.grading.judging import judge
from course.grading.run import evidence
from course.grading.run.execute import _request

pytestmark = pytest.mark.slow
MODULES = module_ids()
IGNORED_STDERR = re.compile(r"\b(\w*Warning|warnings\.warn)\b")
FRIENDLY = ("CheckFailed", "NotAttempted")
HIDDEN_CALL = re.compile(r"^checks\.grade\(.*\)$", re.M)


def _accepted_keys(source: str) -> set[str]:
    """The keys the hidden test accepts, read from the line release wrote."""
    call = ast.parse(HIDDEN_CALL.search(source).group(0)).body[0].value
    literal = ast.literal_eval(call.args[3])
    return {literal} if isinstance(literal, str) else set(literal)


def _unit(key: str) -> float:
    """One unit of the last kept digit of a number's key."""
    if "e" in key:
        return 10.0 ** (int(key.split("e")[1]) - (checks.SIGNIFICANT - 1))
    return 10.0 ** -checks.DECIMALS


def precision_probes(value: float) -> list[tuple[float, bool | None]]:
    """Probes derived from a solution's value: (probe, must pass?) — None: only agree."""
    key = checks._number_key(value)
    rounded, unit = float(key), _unit(key)
    probes = [(value, True), (rounded, True), (value + unit / 10, None), (value - unit / 10, None)]
    probes += [(rounded + unit, False), (rounded - unit, False)]
    for digits in (1, 2):  # a learner who rounded too much
        probes.append((round(value, digits), None))
    return probes


class Judged:
    """The grader's verdict on a test cell, shaped like a kernel reply (ok, error)."""

    def __init__(self, judgement):
        self.verdict = judgement.verdict
        self.ok = judgement.earned
        errors = [o for o in judgement.outputs if o.output_type == "error"]
        self.error = f"{errors[0].ename}: {errors[0].evalue}" if errors else ""


def judged(kernel, cell, module):
    """Judge ``cell`` as the grader does: values sent by the kernel as data, judged here."""
    parsed = judge.parse(cell.source)
    values = {}
    for expression in parsed.expressions():
        reply = kernel.run(f"print({_request(expression)})")
        assert reply.ok, f"the kernel could not send {expression.source}: {reply.error}"
        values[expression] = evidence.decode(reply.stdout.strip())
    return Judged(judge.judge(parsed, module, values))


def _probe_numbers(kernel, cell, name, problems, module):
    accepted = _accepted_keys(cell.source)
    value = float(kernel.run(f"print(float({name}))").stdout)
    for probe, must_pass in precision_probes(value):
        expected = must_pass if must_pass is not False else (
            checks._number_key(probe) in accepted)
        kernel.run(f"{name} = {probe!r}")
        visible, hidden = kernel.run(visible_part(cell.source)), judged(kernel, cell, module)
        if visible.ok != hidden.ok:
            problems.append(f"{name} = {probe!r}: the visible check says "
                            f"{'✔' if visible.ok else '✘'}, the hidden test "
                            f"{'passes' if hidden.ok else 'fails'}")
        elif expected is not None and hidden.ok != expected:
            problems.append(f"{name} = {probe!r} should {'pass' if expected else 'fail'} "
                            f"under the precision rule (accepted keys {sorted(accepted)})")


def _check_test_cell(kernel, cell, exercise, restore, problems, module):
    name = exercise.name
    for wrong in exercise.wrong:
        setup = kernel.run(wrong.code)
        if not setup.ok:
            problems.append(f"{name}: wrong answer {wrong.code!r} itself raised {setup.error}")
            continue
        visible = kernel.run(visible_part(cell.source))
        full = judged(kernel, cell, module)
        for label, reply in (("visible check", visible), ("grader", full)):
            if reply.ok:
                problems.append(f"{name}: {label} accepts the wrong answer {wrong.code!r}")
            elif not reply.error.startswith(FRIENDLY):
                problems.append(f"{name}: {label} on {wrong.code!r} gave an unfriendly "
                                f"error {reply.error!r}")
        for label, said in (("visible check", visible.error), ("grader", full.error)):
            if wrong.says and checks.plain(wrong.says) not in said:  # as plain text
                problems.append(f"{name}: {wrong.code!r} should say "
                                f"{checks.plain(wrong.says)!r} in the {label}, said {said!r}")
        if wrong.says and full.verdict.status != judge.MISTAKE:
            problems.append(f"{name}: {wrong.code!r} is a named mistake, judged "
                            f"{full.verdict.status!r}")
    for right in exercise.right + exercise.also:
        kernel.run(right)
        reply = judged(kernel, cell, module)
        if not reply.ok:
            problems.append(f"{name}: rejects the correct answer {right!r}: {reply.error}")
    call = parse_check(visible_part(cell.source).strip(), name)
    if exercise.kind in ("share", "number") and call.value == name and not call.data:
        _probe_numbers(kernel, cell, name, problems, module)
    kernel.run(restore)
    if not judged(kernel, cell, module).ok:
        problems.append(f"{name}: the solution no longer passes after its answer cell re-ran")


def _grade_test_cell(kernel, cells, index, spec, module, problems):
    """Run test cell ``index`` (whole: visible and hidden) and test its grading."""
    cell = cells[index]
    name = grading(cell).get("grade_id", f"cell {index}")
    reply = kernel.run(cell.source)
    if not reply.ok:
        problems.append(f"{name} failed in the solution: {reply.error}")
    if reply.result:
        problems.append(f"{name} ends with a value ({reply.result}); nbgrader "
                        "would read it as partial credit")
    if reply.stderr and not IGNORED_STDERR.search(reply.stderr):
        problems.append(f"{name} writes to stderr, which nbgrader scores as a "
                        f"failure: {reply.stderr[:200]}")
    exercise = spec[parse_check(visible_part(cell.source).strip(), name).name]
    answer = answer_cell_for(cells, index, exercise.answer_cell)
    _check_test_cell(kernel, cell, exercise, answer.source, problems, module)


def grade_alone(module):
    """Test the grading of ``module`` in a kernel of its own; return the problems."""
    path = solution_path(module)
    spec, problems = load_spec(ROOT, module), []
    cells = read(path).cells
    with Kernel(path.parent) as kernel:
        for index, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            if is_test_cell(cell):
                _grade_test_cell(kernel, cells, index, spec, module, problems)
                continue
            reply = kernel.run(cell.source)
            if not reply.ok:
                name = grading(cell).get("grade_id", f"cell {index}")
                problems.append(f"{name} failed in the solution: {reply.error}")
    return problems


@dataclass
class SolutionRun:
    """What one execution of a solution found: release's outcome and grading's problems."""

    outcome: Outcome | None = None
    error: AuthorError | None = None  # release stopped the run
    problems: list[str] = field(default_factory=list)


@functools.cache
def solution_run(module):
    """Run ``module``'s solution once: ``release(check=True)``, testing the grading on the way."""
    run, spec = SolutionRun(), load_spec(ROOT, module)

    def grade(kernel, cells, index):
        _grade_test_cell(kernel, cells, index, spec, module, run.problems)

    try:
        run.outcome = release(ROOT, module, check=True, on_test_cell=grade)
    except AuthorError as error:
        run.error = error
    return run


@pytest.mark.parametrize("module", MODULES)
def test_release_check_finds_nothing_stale(module):
    run = solution_run(module)
    if run.error is not None:
        raise run.error
    stale = run.outcome.stale
    assert not stale, f"out of date: {stale}; run `python -m course release {module}` and commit"


@pytest.mark.parametrize("module", MODULES)
def test_solution_passes_all_tests_and_wrong_answers_fail(module):
    run = solution_run(module)
    problems = run.problems if run.error is None else grade_alone(module)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("module", MODULES)
def test_blank_release_runs_to_end_and_passes_no_test(module):
    """In a kernel, where no browser runs the release (else test_browser.py checks it all)."""
    if chromium_runs():
        pytest.skip("tests/test_browser.py runs this release to the end in JupyterLab and "
                    "checks each test cell says 'not answered yet', alone")
    path = release_path(module)
    problems = []
    with Kernel(path.parent) as kernel:
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
                elif len(reply.traceback) > 3:
                    problems.append(f"{name}: a failing check renders as {len(reply.traceback)} "
                                    "lines; it should be its message alone")
            elif not reply.ok:
                problems.append(f"{name} raised in the release: {reply.error}")
    assert not problems, "\n".join(problems)


def _blocks(source: str, begin: str, end: str) -> list[str]:
    pattern = re.compile(re.escape(begin) + r"\n(.*?)" + re.escape(end), re.S)
    return [b.strip() for b in pattern.findall(source) if b.strip()]


#: Shorter lines are generic (`plt.show()`, `X_train, y_train)`), not an answer to copy.
LEAK_MIN_CHARS = 24


def _answer_lines(block: str) -> set[str]:
    """The lines of a solution or hidden block a learner could copy from the release.

    Comments are not answers, and a markdown table row is the scaffold of a written
    answer, which the release shows on purpose.
    """
    lines = {line.split("  #")[0].strip() for line in block.splitlines()}
    return {line for line in lines if len(line) >= LEAK_MIN_CHARS
            and not line.startswith(("#", "|"))}


@pytest.mark.parametrize("module", MODULES)
def test_release_leaks_no_solution_or_hidden_test(module):
    release = "\n".join(c.source for c in read(release_path(module)).cells)
    assert "BEGIN SOLUTION" not in release and "BEGIN HIDDEN TESTS" not in release
    leaked = set()
    for cell in read(solution_path(module)).cells:
        for block in (_blocks(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
                      + _blocks(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")):
            assert block not in release, f"{module} release contains:\n{block[:300]}"
            leaked |= {line for line in _answer_lines(block) if line in release}
    assert not leaked, (f"{module}: lines of solution or hidden blocks appear in the release, "
                        "where a learner can copy them:\n" + "\n".join(sorted(leaked)))


def test_precision_probes_straddle_the_rule():
    """The probes themselves: one unit outside the rule changes the key, inside does not."""
    for value in (0.596774, 0.0736, 6.4, 12.8, 966.667, 14745.0, -1.3333, 0.2085):
        key = checks._number_key(value)
        unit = _unit(key)
        assert checks._number_key(float(key)) == key
        assert checks._number_key(float(key) + unit) != key
        assert math.isclose(unit, 10 ** math.floor(math.log10(unit)))


def _import_cell(module):
    """The release's cell that binds ``check`` (the hook that watches cells comes with it)."""
    return next(c.source for c in read(release_path(module)).cells
                if c.cell_type == "code" and "checks.exercises(" in c.source)


def test_a_check_after_an_answer_cell_that_raised_says_so_in_a_kernel():
    module = "00_welcome"
    cell = next(c for c in read(solution_path(module)).cells
                if is_test_cell(c) and 'check("bad_risk_share"' in c.source)
    with Kernel(release_path(module).parent) as kernel:
        assert kernel.run(_import_cell(module)).ok
        assert kernel.run('bad_risk_share = "0.3"').ok             # an earlier try
        assert not kernel.run("bad_risk_share = 30%").ok            # SyntaxError
        reply = kernel.run(visible_part(cell.source))
        assert "your answer cell raised SyntaxError" in reply.error, reply
        assert "a str" not in reply.error, "the check judged the earlier try"
        # grading judges the saved value outside the kernel, as before: the message of
        # the value it holds, not of the cell's last run
        assert "(a str)" in judged(kernel, cell, module).error
        assert not kernel.run("answer_q1 = None\nanswer_q1 = B").ok   # NameError
        reply = kernel.run('check("answer_q1", answer_q1)')
        assert "your answer cell raised NameError" in reply.error, reply
        assert kernel.run("bad_risk_share = 0.3").ok                # fixed and run again
        reply = kernel.run(visible_part(cell.source))
        assert "raised" not in reply.error + reply.stdout, reply


def test_validate_says_which_answer_cell_raised(tmp_path):
    from nbgrader.validator import Validator

    module = "00_welcome"
    notebook = read(release_path(module))
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith("answer_q1 = None"):
            cell.source += "\nanswer_q1 = B"
    path = tmp_path / f"{module}.ipynb"
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    failed = Validator().validate(str(path)).get("failed", [])
    errors = [f["error"] for f in failed if 'check("answer_q1"' in f["source"]]
    assert errors and "your answer cell raised NameError" in errors[0], failed
