"""The code's layers follow its audiences, and no import runs back up.

base (errors, notebook vocabulary, course layout) <- what notebooks import (checks,
datasets, simulate) <- what learners run (start, progress, check) and what authors
run (release, bench) and what instructors run (grade, bench-grading) <- the CLI.
"""

import ast

import pytest
from nbtools import ROOT

LAYERS = {
    "base": {"course.errors", "course.notebook", "course.layout", "course.outcomes"},
    "notebooks": {"course.checks", "course.datasets", "course.simulate", "course.exercise_data",
                  "course.plots"},
    "learners": {"course.workspace", "course.progress", "course.environment",
                 "course.notebook_run", "course.self_assessment", "course.validate_server"},
    "authors": {"course.authoring", "course.bench", "course.publish"},
    "instructors": {"course.grading", "course.hub", "course.private_submit"},
    "cli": {"course.cli", "course.__main__", "course"},
}
ALLOWED = {
    "base": {"base"},
    "notebooks": {"base", "notebooks"},
    "learners": {"base", "notebooks", "learners"},
    "authors": {"base", "notebooks", "authors", "learners"},
    "instructors": {"base", "notebooks", "instructors"},
    "cli": set(LAYERS),
}


def layer_of(module: str) -> str:
    """Return the layer of ``module``: the longest prefix named in LAYERS.

    The package itself (``course``) names the CLI layer but is no prefix of anything:
    a new module must be given a layer, else the test fails instead of letting it
    import anything.
    """
    prefixes = [prefix for names in LAYERS.values() for prefix in names
                if module == prefix or (prefix != "course" and module.startswith(prefix + "."))]
    assert prefixes, f"{module} has no layer: add it to LAYERS in tests/test_layers.py"
    best = max(prefixes, key=len)
    return next(layer for layer, names in LAYERS.items() if best in names)


def imports(path):
    """Every course module a file imports, at the top or inside a function."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("course"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course"):
            yield from (f"{node.module}.{a.name}" if node.module == "course" else node.module
                        for a in node.names)


def test_no_import_runs_back_up():
    upward = []
    for path in sorted((ROOT / "course").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        here = layer_of(module)
        for imported in imports(path):
            if layer_of(imported) not in ALLOWED[here]:
                upward.append(f"{module} ({here}) imports {imported} ({layer_of(imported)})")
    assert not upward, "imports that run against the layers:\n" + "\n".join(upward)


def test_every_module_has_a_layer():
    unassigned = []
    for path in sorted((ROOT / "course").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        try:
            layer_of(module)
        except AssertionError:
            unassigned.append(module)
    assert not unassigned, "modules without a layer (add them to LAYERS): " + ", ".join(unassigned)


def test_the_layer_test_can_fail():
    assert layer_of("course.grading.grade") == "instructors"
    assert "instructors" not in ALLOWED["learners"]
    with pytest.raises(AssertionError, match="has no layer"):
        layer_of("course.brand_new_module")


def test_nbgraders_steps_are_defined_once():
    """nbgrader_config.py takes its pipeline from course/grading/run/pipeline.py, not a copy."""
    from course.grading.run.pipeline import AUTOGRADE_STEPS, FEEDBACK_STEPS
    from course.grading.run.settings import grading_config
    from course.layout import load_config

    config_text = (ROOT / "nbgrader_config.py").read_text()
    assert "use_course_pipeline(c)" in config_text
    assert not any(step in config_text for step in (*AUTOGRADE_STEPS, *FEEDBACK_STEPS))
    for config in (load_config(ROOT), grading_config(ROOT)):
        assert list(config.Autograde.autograde_preprocessors) == list(AUTOGRADE_STEPS)
        assert list(config.GenerateFeedback.preprocessors) == list(FEEDBACK_STEPS)
