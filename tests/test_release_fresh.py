"""What `python -m course release` writes is never written by hand, and its check can fail.

Nothing in notebooks/, course/exercise_data/ or the hidden tests of solutions/ is
written by hand, and no digest is pasted anywhere. Whether what release writes is up
to date (``release(check=True)`` on every module) is tested in
tests/test_notebook_grading.py, in the same run of each solution as its grading tests.
"""

import re
import subprocess
import sys

from nbtools import ROOT

HEX = re.compile(r"\b[0-9a-f]{16}\b")


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
