"""Flag suspicious submissions for a human: a static look at what answer cells do.

Each flag names a kind and the line that raised it. Nothing is penalised
automatically: a flagged submission is held for review (its autograded items
are marked "needs manual grade") and the report says why. Kinds:

* ``IPython hooks``: changes input transformers, AST transformers, events, the
  shell's methods or the tracer, or loads an extension (``%load_ext``), which
  can rewrite or swallow the test cells;
* ``check helpers``: rebinds ``checks``, assigns to ``checks.<name>``, patches
  a module the checks rely on, or replaces entries of ``sys.modules``/builtins;
* ``number subclass``: a class that subclasses a number or text type, or
  overrides comparisons or conversions, to win an equality test;
* ``file access``: opens files, lists folders, runs shell commands (``!cat``,
  ``%%bash``, ``%run``) or names a path outside the submission
  (``solutions/``, ``gradebook.db``, ``../``);
* ``dynamic code``: ``exec``/``eval``/``compile``/``__import__``, which hide
  what really runs;
* ``test cells``: a test cell deleted or edited (nbgrader grades the original);
* ``reference data``: a locked cell of the release deleted, or a name it binds
  (``batch``, ``costs``, the model a time is measured on) assigned, changed or
  deleted in another cell: the data a test judges the answer against must be
  the locked cells' (nbgrader restores their code, not what later cells do).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from nbformat import NotebookNode

from course.notebook import grade_id, is_test_cell

HOOK_ATTRS = {
    "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
    "ast_transformers", "events", "register_magic_function", "set_custom_exc",
    "custom_exceptions", "showtraceback", "run_cell", "run_cell_async", "run_ast_nodes",
    "run_code", "transform_cell", "transform_ast", "user_expressions", "settrace",
    "setprofile", "excepthook", "displayhook", "register_transformer",
}
GUARDED_NAMES = {"checks", "course", "builtins", "__builtins__", "sys", "math", "hashlib",
                 "numbers", "operator", "np", "numpy", "IPython", "importlib", "globals", "vars",
                 "locals", "get_ipython", "time"}
NUMBER_BASES = {"float", "int", "complex", "bool", "str", "bytes", "Real", "Number", "Integral",
                "Rational", "Complex", "Decimal", "Fraction", "float64", "float32", "floating",
                "integer", "int64", "ndarray", "generic", "number", "UserString"}
DUNDERS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__float__", "__int__",
           "__index__", "__round__", "__abs__", "__bool__", "__hash__", "__instancecheck__",
           "__subclasscheck__", "__format__", "__sub__", "__rsub__", "__class__", "__getattr__",
           "__getattribute__", "__array__", "__array_ufunc__", "__array_function__"}
FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "listdir",
              "scandir", "walk", "glob", "rglob", "iglob", "iterdir", "system", "popen",
              "getoutput", "check_output", "run", "Popen", "call", "connect", "fromfile",
              "loadtxt", "load", "remove", "unlink", "rmtree", "copy", "copyfile", "chdir"}
FILE_ROOTS = {"os", "io", "shutil", "subprocess", "sqlite3", "glob", "pathlib", "np", "numpy",
              "Path"}
MAGICS = {"load_ext": "IPython hooks", "reload_ext": "IPython hooks", "config": "IPython hooks",
          "run": "file access", "load": "file access", "writefile": "file access",
          "bash": "file access", "sh": "file access", "script": "file access",
          "sx": "file access", "system": "file access"}
DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "import_module", "reload"}
SUSPICIOUS_PATH = re.compile(
    r"(solutions|gradebook|autograded|submitted|nbgrader|feedback|(^|/)source/|(^|/)release/"
    r"|\.\.[/\\]|^/|^~|^[A-Za-z]:\\|\.db$|\.ipynb$)", re.I)
FALLBACK = [
    ("IPython hooks", re.compile(r"input_transformer|ast_transformers|\.events\.|settrace")),
    ("check helpers", re.compile(r"\bchecks\s*(\.\s*\w+\s*)*=[^=]|sys\.modules|__builtins__")),
    ("number subclass", re.compile(r"class\s+\w+\s*\([^)]*(float|int|str)|def\s+__eq__")),
    ("file access", re.compile(r"\bopen\s*\(|solutions/|gradebook|^\s*!", re.M)),
    ("dynamic code", re.compile(r"\b(exec|eval|__import__)\s*\(")),
]


#: Kinds whose points are withheld until a human has looked (test cell edits are
#: only flagged: nbgrader grades the original test cells anyway).
WITHHOLD = {"IPython hooks", "check helpers", "number subclass", "file access", "dynamic code",
            "reference data"}


@dataclass(frozen=True)
class Flag:
    """One reason to have a human look at a submission."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def _root(node: ast.AST) -> str | None:
    """Return the name at the root of ``a.b.c``, ``a[0].b`` or ``a().b``."""
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call | ast.Starred):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _magic(node: ast.Call, name: str) -> str | None:
    """Return the magic's name for ``get_ipython().run_line_magic('run', ...)``."""
    if name in ("run_line_magic", "run_cell_magic") and node.args:
        first = node.args[0]
        return first.value if isinstance(first, ast.Constant) else None
    return None


def _snippet(source: str, node: ast.AST) -> str:
    line = source.split("\n")[getattr(node, "lineno", 1) - 1].strip()
    return line if len(line) <= 70 else line[:67] + "..."


class _Scanner(ast.NodeVisitor):
    """Walk one cell's code and collect flags."""

    def __init__(self, source: str, where: str, reference: frozenset[str] = frozenset()) -> None:
        self.source, self.where, self.flags = source, where, []
        self.reference = reference

    def flag(self, kind: str, node: ast.AST) -> None:
        self.flags.append(Flag(kind, f"`{_snippet(self.source, node)}` in {self.where}"))

    def _target(self, target: ast.AST, node: ast.AST) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._target(element, node)
            return
        root = _root(target)
        if root in GUARDED_NAMES and (root == "checks" or not isinstance(target, ast.Name)):
            self.flag("check helpers", node)
        if root in self.reference:
            self.flag("reference data", node)

    def visit_For(self, node: ast.For) -> None:  # noqa: D102
        self._target(node.target, node)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:  # noqa: D102
        self._target(node.target, node)
        self.generic_visit(node)

    def visit_withitem(self, node: ast.withitem) -> None:  # noqa: D102
        if node.optional_vars is not None:
            self._target(node.optional_vars, node.context_expr)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:  # noqa: D102
        for target in node.targets:
            self._target(target, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:  # noqa: D102
        self._target(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:  # noqa: D102
        self._target(node.target, node)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:  # noqa: D102
        for target in node.targets:
            self._target(target, node)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:  # noqa: D102
        if any(alias.asname == "checks" for alias in node.names):
            self.flag("check helpers", node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: D102
        for alias in node.names:
            bound = alias.asname or alias.name
            if bound == "checks" and not (node.module == "course" and alias.name == "checks"):
                self.flag("check helpers", node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:  # noqa: D102
        if node.name == "checks":
            self.flag("check helpers", node)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:  # noqa: D102
        bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
                 for b in node.bases}
        methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
        if node.name == "checks" or bases & NUMBER_BASES or methods & DUNDERS:
            self.flag("number subclass" if node.name != "checks" else "check helpers", node)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:  # noqa: D102
        if node.attr in HOOK_ATTRS:
            self.flag("IPython hooks", node)
        elif node.attr == "modules" and _root(node) == "sys":
            self.flag("check helpers", node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:  # noqa: D102
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
            node.func, "id", "")
        root = _root(node.func)
        magic = _magic(node, name)
        if magic in MAGICS:
            self.flag(MAGICS[magic], node)
        elif name in DYNAMIC_CALLS:
            self.flag("dynamic code", node)
        elif name in ("setattr", "delattr") and node.args and _root(node.args[0]) in GUARDED_NAMES:
            self.flag("check helpers", node)
        elif name == "type" and len(node.args) == 3:
            self.flag("number subclass", node)
        elif name in FILE_CALLS and (name == "open" or root in FILE_ROOTS or name in (
                "read_text", "read_bytes", "getoutput", "system")):
            self.flag("file access", node)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:  # noqa: D102
        text = node.value.strip() if isinstance(node.value, str) else ""
        path_like = text and len(text) < 300 and ("/" in text or "\\" in text
                                                   or not re.search(r"\s", text))
        if path_like and SUSPICIOUS_PATH.search(text):
            self.flag("file access", node)


def _python(source: str) -> str:
    """Turn IPython syntax (magics, ``!shell``) into the Python it runs."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def scan_code(source: str, where: str, reference: frozenset[str] = frozenset()) -> list[Flag]:
    """Return the flags raised by one cell's code (``reference``: names only locked cells bind)."""
    try:
        code = _python(source)
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        found = [(kind, pattern.search(source)) for kind, pattern in FALLBACK]
        return [Flag(kind, f"`{match.group(0).strip()}` in {where} (the cell does not parse)")
                for kind, match in found if match]
    scanner = _Scanner(code, where, reference)
    scanner.visit(tree)
    return scanner.flags


def _locked_code(release: NotebookNode) -> list[NotebookNode]:
    """Return the release's locked code cells that are not test cells (its reference data)."""
    return [c for c in release.cells if c.cell_type == "code" and not is_test_cell(c)
            and c.get("metadata", {}).get("nbgrader", {}).get("locked")]


def reference_names(release: NotebookNode) -> frozenset[str]:
    """Return the names the release's locked code cells assign at their top level."""
    names: set[str] = set()
    for cell in _locked_code(release):
        try:
            tree = ast.parse(_python(cell.source))
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            targets = (node.targets if isinstance(node, ast.Assign) else
                       [node.target] if isinstance(node, ast.AnnAssign) else [])
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return frozenset(names)


def locked_cell_flags(submitted: NotebookNode, release: NotebookNode) -> list[Flag]:
    """Flag locked code cells of the release that the submission deleted."""
    given = {grade_id(c) for c in submitted.cells}
    return [Flag("reference data", f"locked cell {grade_id(c)} was deleted")
            for c in _locked_code(release) if grade_id(c) not in given]




def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().split("\n"))


def test_cell_flags(submitted: NotebookNode, release: NotebookNode,
                    source: NotebookNode | None = None) -> list[Flag]:
    """Flag test cells of the release that were deleted or edited in the submission.

    A test cell equal to its release or to its source version (hidden tests
    included, as in the solution notebook) is not edited.
    """
    given = {grade_id(c): c for c in submitted.cells if grade_id(c)}
    originals = {_normal(c.source) for c in (source.cells if source else []) if is_test_cell(c)}
    flags = []
    for cell in release.cells:
        if not is_test_cell(cell):
            continue
        name = grade_id(cell)
        if name not in given:
            flags.append(Flag("test cells", f"test cell {name} was deleted"))
        elif _normal(given[name].source) not in originals | {_normal(cell.source)}:
            flags.append(Flag("test cells", f"test cell {name} was edited "
                                            "(graded with the original)"))
    return flags


def code_flags(submitted: NotebookNode, release: NotebookNode) -> list[Flag]:
    """Flag suspicious code in answer cells and in cells the learner added or changed."""
    pristine = {_normal(c.source) for c in release.cells if c.cell_type == "code"}
    tests = {grade_id(c) for c in release.cells if is_test_cell(c)}
    locked = {grade_id(c) for c in _locked_code(release)}
    reference = reference_names(release)
    flags = []
    for index, cell in enumerate(submitted.cells):
        if cell.get("cell_type") != "code" or grade_id(cell) in (tests | locked) - {None}:
            continue
        if _normal(cell.source) in pristine:
            continue
        where = f"cell {index + 1}" + (f" ({grade_id(cell)})" if grade_id(cell) else "")
        flags += scan_code(cell.source, where, reference)
    return flags


def scan(submitted: NotebookNode, release: NotebookNode,
         source: NotebookNode | None = None) -> list[Flag]:
    """Return every flag for a submission, compared with the release (and the source)."""
    found = (test_cell_flags(submitted, release, source) + locked_cell_flags(submitted, release)
             + code_flags(submitted, release))
    return list(dict.fromkeys(found))
