"""What `python -m course release` writes is up to date: exercise data, hidden tests, release.

Nothing in notebooks/, course/exercise_data/ or the hidden tests of solutions/ is
written by hand, and no digest is pasted anywhere.
"""

import re
import subprocess
import sys

import pytest
from nbtools import ROOT, module_ids

from course.authoring.release import release

HEX = re.compile(r"\b[0-9a-f]{16}\b")


@pytest.mark.slow
@pytest.mark.parametrize("module", module_ids())
def test_release_check_finds_nothing_stale(module):
    outcome = release(ROOT, module, check=True)
    assert not outcome.stale, (f"out of date: {outcome.stale}; run `python -m course release "
                               f"{module}` and commit")


def test_no_digest_is_written_by_hand():
    pasted = [f"{path.relative_to(ROOT)}: {match}"
              for folder in ("solutions", "notebooks", "course", "tests")
              for path in (ROOT / folder).rglob("*")
              if path.is_file() and path.suffix in (".ipynb", ".py", ".toml", ".md")
              for match in HEX.findall(path.read_text(encoding="utf-8"))]
    assert not pasted, "16-hex digests written by hand:\n" + "\n".join(pasted)


def test_release_check_command_exits_nonzero_when_stale(tmp_path):
    """The command the suite relies on can fail: an unknown module is an error, not a pass."""
    result = subprocess.run([sys.executable, "-m", "course", "release", "99", "--check"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "is not one module of the course" in result.stderr
