"""Suite-wide collection rules (the tests' own helpers live in tests/conftest.py).

Every notebook that nbval executes is marked ``slow``: running a module takes seconds
to tens of seconds, so ``-m "not slow"`` (the quick tier in the README) leaves them out.
"""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark nbval's notebook cells ``slow``, like the other tests that run notebooks."""
    for item in items:
        if str(item.path).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
