"""notebooks/ is generated from solutions/ and never edited by hand."""

import json

import pytest
from nbtools import ROOT, make_course, module_ids, nbgrader

pytestmark = pytest.mark.slow


def _cells(path):
    nb = json.loads(path.read_text())
    return [(c["cell_type"], c["source"], c.get("metadata", {})) for c in nb["cells"]]


def test_notebooks_equal_a_fresh_generate_assignment(tmp_path):
    modules = module_ids()
    course = make_course(tmp_path, modules)
    stale = []
    for module in modules:
        nbgrader("generate_assignment", module, "--force", cwd=course)
        for fresh in sorted((course / "notebooks" / module).glob("*.ipynb")):
            committed = ROOT / "notebooks" / module / fresh.name
            if not committed.exists() or _cells(committed) != _cells(fresh):
                stale.append(module)
    assert not stale, (f"notebooks/ is out of date for {stale}: run `nbgrader "
                       "generate_assignment MODULE --force` from the repository root and commit")
