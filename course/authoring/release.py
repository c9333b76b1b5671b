"""``python -m course release MODULE``: the one authoring step.

It runs the module's solution in a kernel, with each test cell's visible check
recording the answer's key instead of judging it; tries every right and wrong answer of
the module's ``exercises.toml`` at its test cell; writes the digests to
``course/exercise_data/<module>.json`` and each test cell's hidden block into
the solution; and regenerates the release with nbgrader. ``--check`` changes
nothing and fails if anything it would write differs from what is committed.
"""

from __future__ import annotations

import ast
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from course import checks
from course.authoring.kernel import Kernel
from course.authoring.rules import cell_label, check_rules
from course.authoring.spec import Exercise, load_spec
from course.errors import AuthorError
from course.layout import run_nbgrader, scratch_course
from course.notebook import (
    answer_cell_for,
    is_test_cell,
    read,
    release_path,
    solution_path,
    visible_part,
)

DATA_DIR = Path(checks.__file__).parent / "exercise_data"
RECORDER = "__course_recorder"
HIDDEN_NOTE = "# written by `python -m course release`: the same rule as the visible check"


@dataclass(frozen=True)
class CheckCall:
    """The one visible line of a test cell: ``check("name", value, **data)``."""

    name: str
    value: str
    data: tuple[tuple[str, str], ...]


@dataclass
class Recorded:
    """What release learned about one exercise from running its solution."""

    exercise: Exercise
    call: CheckCall
    keys: list[str] = field(default_factory=list)
    wrong: dict[str, str] = field(default_factory=dict)
    raw: float | None = None


@dataclass
class Outcome:
    """What a release did, or (with ``check``) would do."""

    module: str
    stale: list[str]
    exercises: int


def parse_check(source: str, where: str) -> CheckCall:
    """Parse the visible part of a test cell, which must be one ``check(...)`` call."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise AuthorError(f"{where}: the test cell is not valid Python ({error})") from None
    calls = [n.value for n in tree.body if isinstance(n, ast.Expr)
             and isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Name)
             and n.value.func.id == "check"]
    if len(tree.body) != 1 or len(calls) != 1:
        raise AuthorError(f"{where}: the visible part of a test cell should be one line, "
                          f'check("name", value), and nothing else; got:\n{source}')
    call = calls[0]
    if (len(call.args) != 2 or not isinstance(call.args[0], ast.Constant)
            or not isinstance(call.args[0].value, str)):
        raise AuthorError(f'{where}: write the check as check("name", value, **data)')
    data = tuple((k.arg or "", ast.get_source_segment(source, k.value) or "")
                 for k in call.keywords)
    return CheckCall(call.args[0].value, ast.get_source_segment(source, call.args[1]) or "",
                     data)


def _boundary_keys(raw: float | None) -> list[str]:
    """Both roundings of a number that sits on a rounding boundary (…5), else none.

    A value such as 417/2000 = 0.2085 is 0.208 for Python and 0.209 for a person
    rounding half up: both are right.
    """
    if raw is None:
        return []
    nudge = 1e-9 * abs(raw) + 1e-12
    keys = {checks._number_key(raw + nudge), checks._number_key(raw - nudge)}
    return sorted(keys) if len(keys) > 1 else []


def is_rounding(value: float | None, right: float | None) -> bool:
    """Return True if ``value`` is ``right`` rounded to fewer places than the precision rule keeps.

    0.2 for 1/6 (one decimal), 15000 for 14745 (two significant figures): a learner who
    gives it may have made the named mistake or merely rounded the right answer.
    """
    if value is None or right is None or not math.isfinite(right) or value == right:
        return False
    roundings = {round(right, places) for places in range(1, checks.DECIMALS)}
    if abs(right) >= 1:
        roundings.add(float(round(right)))
    roundings |= {float(f"{right:.{figures - 1}e}") for figures in range(1, checks.SIGNIFICANT)}
    return any(math.isclose(value, r, rel_tol=1e-12, abs_tol=1e-12) for r in roundings)


#: Kinds whose answer a learner types as a number, and so may round.
TYPED = frozenset({"share", "number"})


def _check_rounding(wrong: Any, value: float | None, record: Recorded, where: str) -> None:
    if record.exercise.kind not in TYPED or not wrong.says or "round" in wrong.says.lower():
        return
    if is_rounding(value, record.raw):
        raise AuthorError(f"{where}: wrong answer {wrong.code!r} gives {value!r}, which is also "
                          f"the right answer {record.raw!r} rounded: its message must name both "
                          "possibilities (the mistake, and rounding), or drop this wrong answer")


class Session:
    """A solution notebook running in a kernel; its checks record keys only inside :meth:`key`.

    Everything else the kernel runs (the notebook's cells, the forms release tries)
    runs with the checks judging as they do for a learner.
    """

    def __init__(self, kernel: Kernel, spec: dict[str, Exercise]) -> None:
        """Give the kernel the spec's kinds and options, and a way to stop recording."""
        self.kernel = kernel
        kinds = {n: {"kind": e.kind, "options": e.options} for n, e in spec.items()}
        self.run(f"import course.checks as {RECORDER}\n"
                 f"{RECORDER}_spec = {kinds!r}\n"
                 f"def {RECORDER}_stop():\n"
                 f"    taken = {RECORDER}._take_recorded()\n"
                 f"    {RECORDER}._RECORDING = None\n"
                 "    return taken", "setup")

    def run(self, code: str, where: str) -> None:
        """Run a cell, or code that sets an answer; raise AuthorError if it fails."""
        reply = self.kernel.run(code)
        if not reply.ok:
            raise AuthorError(f"{where} raised {reply.error}")

    def key(self, visible: str) -> tuple[str | None, float | None, str]:
        """Run a visible check, recording: return the recorded key and raw number, or the error."""
        self.run(f"{RECORDER}._RECORDING = {{'spec': {RECORDER}_spec, 'keys': []}}",
                 "switching the checks to recording")
        try:
            reply = self.kernel.run(visible)
        finally:
            taken = self.kernel.value(f"{RECORDER}_stop()")
        if not reply.ok:
            return None, None, reply.error
        if len(taken) != 1:
            return None, None, f"the check recorded {len(taken)} keys, not 1"
        return taken[0][1], taken[0][2], ""


def _try_forms(session: Session, record: Recorded, visible: str, restore: str,
               where: str) -> None:
    exercise, right = record.exercise, record.keys[0]
    for code in exercise.right:
        session.run(code, f"{where}: right form {code!r}")
        key, _, error = session.key(visible)
        if key != right:
            raise AuthorError(f"{where}: the right form {code!r} gives key {key!r} "
                              f"{error}, the solution {right!r}. If both are correct, list it "
                              "under `also`.")
    for code in exercise.also:
        session.run(code, f"{where}: also {code!r}")
        key, _, error = session.key(visible)
        if key is None:
            raise AuthorError(f"{where}: `also` {code!r} fails its check: {error}")
        record.keys.append(key)
    said: dict[str, Any] = {}
    for wrong in exercise.wrong:
        session.run(wrong.code, f"{where}: wrong answer {wrong.code!r}")
        key, value, error = session.key(visible)
        if key is None:
            if wrong.says:
                raise AuthorError(f"{where}: wrong answer {wrong.code!r} is rejected before "
                                  f"its message is reached ({error}); drop its `says`")
            continue
        if key in record.keys:
            raise AuthorError(f"{where}: wrong answer {wrong.code!r} has the right answer's "
                              f"key {key!r}: the check cannot tell them apart")
        if key in said and said[key][0] != wrong.says:
            raise AuthorError(f"{where}: wrong answers {said[key][1]!r} and {wrong.code!r} "
                              f"have the same key {key!r} but different messages; say "
                              "something true of both")
        _check_rounding(wrong, value, record, where)
        said[key] = (wrong.says, wrong.code)
        if wrong.says:
            record.wrong[key] = wrong.says
    session.run(restore, f"{where}: the solution again")
    if session.key(visible)[0] != right:
        raise AuthorError(f"{where}: running the answer cell again did not restore the answer")


#: Called at each test cell, before release records it: ``(kernel, cells, index)``.
TestCellHook = Callable[[Kernel, list[Any], int], None]


def record_module(root: Path, module: str, spec: dict[str, Exercise], notebook: Any,
                  on_test_cell: TestCellHook | None = None) -> dict[int, Recorded]:
    """Run the solution ``notebook``; return what was recorded at each test cell, by index.

    ``on_test_cell``, if given, is called at each test cell before its key is recorded
    and its forms tried, with the kernel (its checks judging as usual), the notebook's
    cells and the cell's index: the suite checks the grading there in the same run.
    It must leave the answers as the solution's cells set them.
    """
    records: dict[int, Recorded] = {}
    with Kernel(solution_path(module, root).parent) as kernel:
        session = Session(kernel, spec)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            where = f"{module} {cell_label(notebook.cells, index)}"
            if is_test_cell(cell):
                if on_test_cell is not None:
                    on_test_cell(kernel, notebook.cells, index)
                records[index] = _record_cell(session, notebook.cells, index, spec, where)
            else:
                session.run(cell.source, where)
    missing = set(spec) - {r.exercise.name for r in records.values()}
    if missing:
        raise AuthorError(f"{module}: exercises.toml lists {sorted(missing)}, which no test "
                          "cell checks")
    return records


def _record_cell(session: Session, cells: list[Any], index: int, spec: dict[str, Exercise],
                 where: str) -> Recorded:
    cell = cells[index]
    visible = visible_part(cell.source).strip()
    call = parse_check(visible, where)
    if call.name not in spec:
        raise AuthorError(f"{where}: exercise {call.name!r} is not in exercises.toml")
    exercise = spec[call.name]
    key, raw, error = session.key(visible)
    if key is None:
        raise AuthorError(f"{where}: the solution fails its own check: {error}")
    record = Recorded(exercise, call, keys=[key, *[k for k in _boundary_keys(raw) if k != key]],
                      raw=raw)
    answer = answer_cell_for(cells, index, exercise.answer_cell)
    if answer is None:
        raise AuthorError(f"{where}: no answer cell above the test of {call.name!r}")
    _try_forms(session, record, visible, answer.source, where)
    return record


def hidden_block(record: Recorded) -> str:
    """Return the hidden test of one exercise, as release writes it into the solution."""
    exercise, call = record.exercise, record.call
    keys = sorted(dict.fromkeys(record.keys))
    expected = json.dumps(keys[0]) if len(keys) == 1 else \
        "(" + ", ".join(json.dumps(k) for k in keys) + ")"
    args = [json.dumps(exercise.kind), json.dumps(call.name), call.value, expected]
    args += [f"{k}={v!r}" for k, v in sorted(exercise.options.items())]
    args += [f"{k}={v}" for k, v in call.data]
    return ("### BEGIN HIDDEN TESTS\n" + HIDDEN_NOTE + "\n"
            + f"checks.grade({', '.join(args)})\n### END HIDDEN TESTS")


def exercise_data(module: str, records: dict[int, Recorded]) -> dict[str, Any]:
    """Return the data the visible checks load: digests, messages, hints, kinds, options."""
    exercises = {}
    for record in records.values():
        exercise = record.exercise
        exercises[exercise.name] = {
            "kind": exercise.kind,
            "options": exercise.options,
            "hint": exercise.hint,
            "right": sorted({checks.digest(module, exercise.name, k) for k in record.keys}),
            "wrong": {checks.digest(module, exercise.name, k): says
                      for k, says in sorted(record.wrong.items())},
        }
    return {"module": module, "rule": checks.RULE,
            "written_by": "python -m course release (do not edit)", "exercises": exercises}


def _with_hidden(source: str, block: str) -> str:
    visible = visible_part(source).rstrip("\n")
    return f"{visible}\n{block}"


def release(root: Path, module: str, check: bool = False,
            on_test_cell: TestCellHook | None = None) -> Outcome:
    """Release one module (or, with ``check``, say what is stale without writing).

    The module's source must keep the course's rules first (``rules.check_rules``): a
    broken rule stops the release with every problem listed, before any kernel runs.
    ``on_test_cell`` is passed to :func:`record_module` (the suite's grading checks).
    """
    check_rules(root, module)
    spec = load_spec(root, module)
    path = solution_path(module, root)
    notebook = read(path)
    records = record_module(root, module, spec, notebook, on_test_cell)
    stale = []
    for index, record in records.items():
        wanted = _with_hidden(notebook.cells[index].source, hidden_block(record))
        if notebook.cells[index].source != wanted:
            stale.append(f"{module}: hidden test of {record.call.name}")
            notebook.cells[index].source = wanted
    hidden_stale = bool(stale)
    data_file = DATA_DIR / f"{module}.json"
    data = json.dumps(exercise_data(module, records), indent=1, ensure_ascii=False) + "\n"
    if not data_file.exists() or data_file.read_text(encoding="utf-8") != data:
        stale.append(f"{module}: exercise data {data_file.name}")
    if not check:
        if hidden_stale:
            nbformat.write(notebook, path)
        data_file.write_text(data, encoding="utf-8")
        generate(root, module)
    elif release_differs(root, module):
        stale.append(f"{module}: the release in notebooks/")
    return Outcome(module, stale, len(records))


def _nbgrader(args: list[str], cwd: Path) -> None:
    result = run_nbgrader(args, cwd, timeout=600)
    if result.returncode != 0:
        raise AuthorError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def generate(root: Path, module: str) -> None:
    """Regenerate ``notebooks/<module>`` from ``solutions/<module>`` with nbgrader."""
    _nbgrader(["generate_assignment", module, "--force"], root)


def _cells(path: Path) -> list[tuple[str, str, dict]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"]), c.get("metadata", {}))
            for c in notebook["cells"]]


def release_differs(root: Path, module: str) -> bool:
    """Return True if ``notebooks/<module>`` differs from a fresh generation of its source."""
    with tempfile.TemporaryDirectory() as scratch:
        course = scratch_course(root, [module], Path(scratch))
        _nbgrader(["generate_assignment", module, "--force"], course)
        fresh = course / "notebooks" / module / f"{module}.ipynb"
        committed = release_path(module, root)
        return not committed.exists() or _cells(committed) != _cells(fresh)
