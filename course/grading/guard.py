"""Run inside a grading kernel: undo tampering before each test cell, limit memory.

nbgrader runs a submission's cells and its test cells in one kernel, so an
answer cell can change what the test cells see: rebind ``checks``, replace
``checks.grade`` with a function that always passes, patch ``math.isclose`` or
a builtin, or add an IPython input transformer that rewrites the test cells.
:class:`course.grading.execute.GuardedExecute` calls :func:`install` before the
first cell (a snapshot of the pristine kernel) and :func:`restore` before each
test cell, through the kernel's ``user_expressions``, which IPython evaluates
without input transformers. :func:`restore` returns what it had to undo, so
the grader can flag the submission for a human.

This raises the bar; it is not a sandbox. Code that runs in the kernel can
defeat anything else that runs there, which is why suspicious code is also
flagged statically (:mod:`course.grading.integrity`) and why untrusted
submissions should be graded in an isolated account or container.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path
from typing import Any

#: Modules that course.checks and typical hidden tests rely on.
DEPENDENCIES = ("builtins", "math", "hashlib", "numbers", "operator", "collections.abc",
                "numpy", "numpy.testing")
#: Shell methods a submission could replace to swallow a failing test.
SHELL_METHODS = ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                 "transform_ast", "showtraceback", "_showtraceback", "user_expressions",
                 "should_run_async", "ex", "ev")
#: Hooks that the kernel's own libraries may add after the snapshot (plots, for example).
TRUSTED_HOOK_MODULES = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline", "traitlets")
CHECKS_MODULE = "course.checks"

_SNAPSHOT: dict[str, Any] = {}


def _shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


def _limit_memory(memory_mb: int) -> None:
    """Cap this kernel's address space, so that a memory bomb fails alone (POSIX only)."""
    try:
        import resource
    except ImportError:  # Windows: no per-process limit
        return
    if memory_mb <= 0:
        return
    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _modules() -> dict[str, types.ModuleType]:
    found = {}
    for name in DEPENDENCIES:
        try:
            found[name] = importlib.import_module(name)
        except ImportError:
            continue
    return found


def _shell_state(shell: Any) -> dict[str, Any]:
    """Return the parts of the IPython shell a submission could use to rewrite tests."""
    manager = shell.input_transformer_manager
    return {
        "lists": {name: list(getattr(shell, name)) for name in
                  ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")},
        "manager": manager,
        "manager_lists": {name: list(getattr(manager, name)) for name in
                          ("cleanup_transforms", "line_transforms", "token_transformers")},
        "events": {name: list(hooks) for name, hooks in shell.events.callbacks.items()},
        "methods": {(cls, name): cls.__dict__[name] for cls in type(shell).__mro__
                    for name in SHELL_METHODS if name in cls.__dict__},
        "instance_methods": {name: vars(shell)[name] for name in SHELL_METHODS
                             if name in vars(shell)},
        "custom_exceptions": shell.custom_exceptions,
    }


def install(memory_mb: int = 0) -> str:
    """Snapshot the kernel before any submitted code runs, and cap its memory."""
    checks = importlib.import_module(CHECKS_MODULE)
    modules = _modules()
    _SNAPSHOT.update(_shell_state(_shell()))
    _SNAPSHOT.update(
        modules=modules,
        module_dicts={name: dict(vars(module)) for name, module in modules.items()},
        expected_checks=checks,
        expected_dict=dict(vars(checks)),
        checks_file=str(checks.__file__),
        checks_source=Path(str(checks.__file__)).read_text(encoding="utf-8"),
    )
    _limit_memory(memory_mb)
    return "installed"


def _trusted(hook: object, saved: list[object]) -> bool:
    if any(hook is s for s in saved):
        return True
    module = getattr(hook, "__module__", None) or ""
    return module.split(".")[0] in TRUSTED_HOOK_MODULES


def _restore_list(target: list[Any], saved: list[Any]) -> bool:
    kept = [item for item in target if _trusted(item, saved)]
    if len(kept) == len(target):
        return False
    target[:] = kept
    return True


def _restore_modules(undone: list[str]) -> None:
    """Put back the modules, and their functions and classes, that the checks rely on."""
    for name, module in _SNAPSHOT["modules"].items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            undone.append(f"sys.modules[{name!r}]")
        current = vars(module)
        for key, value in _SNAPSHOT["module_dicts"][name].items():
            if callable(value) and current.get(key, _SNAPSHOT) is not value:
                setattr(module, key, value)
                undone.append(f"{name}.{key}")


def _restore_transformers(shell: Any, undone: list[str]) -> None:
    """Drop input and AST transformers that a submission added."""
    for name, saved in _SNAPSHOT["lists"].items():
        if _restore_list(getattr(shell, name), saved):
            undone.append(f"IPython {name}")
    if shell.input_transformer_manager is not _SNAPSHOT["manager"]:
        shell.input_transformer_manager = _SNAPSHOT["manager"]
        undone.append("IPython input_transformer_manager")
    for name, saved in _SNAPSHOT["manager_lists"].items():
        if _restore_list(getattr(shell.input_transformer_manager, name), saved):
            undone.append(f"IPython input_transformer_manager.{name}")


def _restore_events(shell: Any, undone: list[str]) -> None:
    """Drop event callbacks (pre_run_cell, ...) that a submission registered."""
    for name, hooks in shell.events.callbacks.items():
        if _restore_list(hooks, _SNAPSHOT["events"].get(name, [])):
            undone.append(f"IPython event {name}")
    if shell.custom_exceptions != _SNAPSHOT["custom_exceptions"]:
        shell.set_custom_exc(_SNAPSHOT["custom_exceptions"] or (), None)
        undone.append("IPython custom exception handler")


def _restore_methods(shell: Any, undone: list[str]) -> None:
    """Put back the shell's methods (``run_cell``, ``showtraceback``, ...)."""
    for (cls, name), method in _SNAPSHOT["methods"].items():
        if cls.__dict__.get(name) is not method:
            setattr(cls, name, method)
            undone.append(f"{cls.__name__}.{name}")
    saved = _SNAPSHOT["instance_methods"]
    for name in SHELL_METHODS:
        current = vars(shell).get(name, _SNAPSHOT)
        if current is saved.get(name, _SNAPSHOT):
            continue
        if name in saved:
            setattr(shell, name, saved[name])
        else:
            delattr(shell, name)
        undone.append(f"shell.{name}")


def _restore_tracing(undone: list[str]) -> None:
    if sys.gettrace() is not None:
        sys.settrace(None)
        undone.append("sys.settrace")
    if sys.getprofile() is not None:
        sys.setprofile(None)
        undone.append("sys.setprofile")


def _fresh_checks() -> types.ModuleType:
    """Return course.checks executed afresh from the source read at install time."""
    module = types.ModuleType(CHECKS_MODULE)
    module.__file__ = _SNAPSHOT["checks_file"]
    code = compile(_SNAPSHOT["checks_source"], _SNAPSHOT["checks_file"], "exec")
    exec(code, module.__dict__)
    return module


def _checks_tampered(namespace: dict[str, Any]) -> bool:
    """Return True if ``checks`` is no longer the module the last restore left in place."""
    expected = _SNAPSHOT["expected_checks"]
    if "checks" in namespace and namespace["checks"] is not expected:
        return True
    if sys.modules.get(CHECKS_MODULE) is not expected:
        return True
    current = vars(expected)
    return any(current.get(key) is not value for key, value in _SNAPSHOT["expected_dict"].items())


def _rebind_checks(shell: Any, undone: list[str]) -> None:
    if _checks_tampered(shell.user_ns):
        undone.append("checks")
    fresh = _fresh_checks()
    _SNAPSHOT.update(expected_checks=fresh, expected_dict=dict(vars(fresh)))
    sys.modules[CHECKS_MODULE] = fresh
    package = sys.modules.get("course")
    if package is not None:
        package.checks = fresh  # type: ignore[attr-defined]
    shell.user_ns["checks"] = fresh


def restore() -> str:
    """Undo tampering since :func:`install`; return what was undone, or ``"clean"``."""
    if not _SNAPSHOT:
        raise RuntimeError("the grading guard was not installed in this kernel")
    undone: list[str] = []
    shell = _shell()
    _restore_modules(undone)
    _restore_tracing(undone)
    _restore_transformers(shell, undone)
    _restore_events(shell, undone)
    _restore_methods(shell, undone)
    _rebind_checks(shell, undone)
    return "; ".join(undone) if undone else "clean"

