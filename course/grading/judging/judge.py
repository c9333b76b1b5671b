"""Judge a test cell in the grader's own process, from values the kernel sent as data.

A test cell is one visible check, ``check("precision", precision)``, and a hidden
block of ``checks.grade(kind, "precision", precision, "0.812")`` calls written by
``python -m course release``. The cell never runs in the student's kernel.
:func:`parse` reads it (it is the course's own source, put back by nbgrader)
into :class:`Call` objects whose arguments are either literals or expressions
to ask the kernel for; :func:`judge` runs the visible check and the hidden
calls with the real :mod:`course.checks` on the rebuilt values and returns a
:class:`Judgement`: the outputs the learner sees, whether the points are earned,
and the :class:`course.outcomes.Verdict` (what kind of answer it was, for the report).
"""

from __future__ import annotations

import ast
import contextlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode

from course import checks
from course.notebook import HIDDEN
from course.outcomes import (  # noqa: F401 (MISTAKE: the judge's words for its callers)
    BLANK,
    INVALID,
    MISTAKE,
    RIGHT,
    WRONG,
    Verdict,
)


class TestCellError(ValueError):
    """A test cell is not in the form the grader can judge outside the kernel."""


@dataclass(frozen=True)
class Expression:
    """An argument to ask the kernel for: source text, and the model data it is scored on."""

    source: str
    model_on: str | None = None


@dataclass(frozen=True)
class Call:
    """One check: the visible ``check(...)`` or a hidden ``checks.grade(...)``."""

    function: str  # "check" or "grade"
    args: tuple[Any, ...]  # literals, or Expression for the kernel
    kwargs: tuple[tuple[str, Any], ...]

    def expressions(self) -> list[Expression]:
        """Return the expressions the kernel must evaluate for this call."""
        values = [*self.args, *(v for _, v in self.kwargs)]
        return [v for v in values if isinstance(v, Expression)]


@dataclass(frozen=True)
class TestCell:
    """The checks of one test cell: what the learner sees, then what earns the points."""

    visible: tuple[Call, ...]
    hidden: tuple[Call, ...]

    def expressions(self) -> list[Expression]:
        """Return every distinct expression to ask the kernel for, in order."""
        seen: dict[Expression, None] = {}
        for call in (*self.visible, *self.hidden):
            seen.update(dict.fromkeys(call.expressions()))
        return list(seen)


@dataclass
class Judgement:
    """How one test cell was judged: the learner's outputs, the points, and the verdict."""

    earned: bool
    outputs: list[NotebookNode] = field(default_factory=list)
    verdict: Verdict = field(default_factory=lambda: Verdict("", BLANK))

    def metadata(self) -> dict[str, Any]:
        """Return the verdict as stored in the autograded cell (``metadata.course``)."""
        v = self.verdict
        return {"verdict": {"exercise": v.exercise, "status": v.status, "says": v.says,
                            "key": v.key}}


def _argument(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return Expression(ast.unparse(node))


def _call(node: ast.stmt) -> Call:
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        raise TestCellError(f"expected a check call, found {ast.unparse(node)[:60]!r}")
    call = node.value
    name = ast.unparse(call.func)
    if name not in ("check", "checks.grade"):
        raise TestCellError(f"expected check(...) or checks.grade(...), found {name}(...)")
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None
                                                                for k in call.keywords):
        raise TestCellError("a check's arguments must be written out")
    return Call("check" if name == "check" else "grade", tuple(map(_argument, call.args)),
                tuple((k.arg, _argument(k.value)) for k in call.keywords if k.arg))


def _as_model(call: Call, value_at: int) -> Call:
    """Ask the kernel for a model's score on its ``on=`` data instead of the model itself."""
    kwargs = dict(call.kwargs)
    on = kwargs.get("on")
    value = call.args[value_at]
    if not isinstance(on, Expression) or not isinstance(value, Expression):
        raise TestCellError("a model check names the model and its data, on=(X, y)")
    args = list(call.args)
    args[value_at] = Expression(value.source, on.source)
    return Call(call.function, tuple(args), tuple({**kwargs, "on": ()}.items()))


def _calls(source: str) -> tuple[Call, ...]:
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise TestCellError(f"the test cell does not parse ({error.msg})") from None
    body = [n for n in tree.body if not (isinstance(n, ast.Expr)
                                         and isinstance(n.value, ast.Constant))]
    return tuple(_call(node) for node in body)


def parse(source: str) -> TestCell:
    """Read a test cell's source into its visible and hidden checks."""
    hidden = "\n".join(m.group(0) for m in HIDDEN.finditer(source))
    cell = TestCell(_calls(HIDDEN.sub("", source)), _calls(hidden))
    if any(c.function != "check" for c in cell.visible) or any(
            c.function != "grade" or len(c.args) < 4 for c in cell.hidden):
        raise TestCellError("checks.grade(kind, name, value, key) belongs in the hidden "
                            "block, check(name, value) above it")
    models = {c.args[1] for c in cell.hidden if c.args[:1] == ("model",)}
    if models:
        cell = TestCell(tuple(_as_model(c, 1) if c.args[:1] and c.args[0] in models else c
                              for c in cell.visible),
                        tuple(_as_model(c, 2) if c.args[1] in models else c
                              for c in cell.hidden))
    if not cell.hidden:
        raise TestCellError("the test cell has no hidden test")
    return cell


def _bound(call: Call, values: Mapping[Expression, Any]) -> tuple[list[Any], dict[str, Any]]:
    def value(v: Any) -> Any:
        return values[v] if isinstance(v, Expression) else v

    return [value(a) for a in call.args], {k: value(v) for k, v in call.kwargs}


def _run(function: Callable[..., Any], args: list[Any],
         kwargs: dict[str, Any]) -> tuple[str, checks.CheckFailed | None]:
    """Run a check; return what it printed and the failure it raised (None if it passed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            function(*args, **kwargs)
        except checks.CheckFailed as failure:
            return printed.getvalue(), failure
    return printed.getvalue(), None


def _stream(text: str) -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout", text=text)


def error_output(ename: str, message: str) -> NotebookNode:
    """Return an error output that shows ``message`` alone (and scores the cell zero)."""
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[message])


def _status(name: str, failure: checks.CheckFailed | None) -> tuple[str, str]:
    if failure is None:
        return RIGHT, ""
    said = str(failure)
    if isinstance(failure, checks.NotAttempted):
        return BLANK, said
    mistake = f"✘ `{name}` is not right: "
    if said.startswith(mistake):
        return MISTAKE, said.removeprefix(mistake)
    return (WRONG if said.startswith(f"✘ `{name}` is not right yet") else INVALID), said


def _key(call: Call, values: Mapping[Expression, Any]) -> str | None:
    args, kwargs = _bound(call, values)
    kind, name, value = args[:3]
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return checks.key_of(kind, name, value, **kwargs)
        except (checks.CheckFailed, TypeError, ValueError, ArithmeticError):
            return None


def judge(cell: TestCell, module: str, values: Mapping[Expression, Any]) -> Judgement:
    """Judge a test cell on the values the kernel sent (``Expression -> value``).

    The points come from the hidden calls alone; the visible check gives the
    learner's message and the kind of answer.
    """
    exercises = checks.exercises(module)
    printed, shown = "", None
    for call in cell.visible:
        args, kwargs = _bound(call, values)
        out, failure = _run(exercises, args, kwargs)
        printed += out
        shown = shown or failure
    hidden_failure = None
    for call in cell.hidden:
        args, kwargs = _bound(call, values)
        out, failure = _run(checks.grade, args, kwargs)
        printed += "" if cell.visible else out
        hidden_failure = hidden_failure or failure
    name = str(cell.hidden[0].args[1])
    status, says = _status(name, shown if hidden_failure else None)
    if hidden_failure is not None and status == RIGHT:  # visible passed, hidden did not
        status, says = WRONG, str(hidden_failure)
    judged = Judgement(hidden_failure is None, [],
                       Verdict(name, status, says, _key(cell.hidden[0], values)))
    if printed:
        judged.outputs.append(_stream(printed))
    if hidden_failure is not None:
        failure = shown or hidden_failure
        judged.outputs.append(error_output(type(failure).__name__, str(failure)))
    elif shown is not None:  # hidden passed: the points stand, the message is shown plainly
        judged.outputs.append(_stream(f"{shown}\n"))
    return judged


def unjudged(cell: TestCell | None, reason: str, ename: str = "GradingError",
             exercise: str = "") -> Judgement:
    """Return the judgement of a test cell that could not be judged (zero, with the reason)."""
    name = str(cell.hidden[0].args[1]) if cell else exercise
    return Judgement(False, [error_output(ename, reason)], Verdict(name, INVALID, reason, None))
