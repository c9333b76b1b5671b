import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of datasets/ that the loaders read (COURSE_DATASETS), to damage safely."""
    from course import datasets

    copy = tmp_path / "datasets"
    shutil.copytree(datasets.data_dir(), copy)
    monkeypatch.setenv("COURSE_DATASETS", str(copy))
    return copy
