"""Check that a learner's environment matches the course's pinned versions."""

from __future__ import annotations

import re
import sys
from importlib import metadata

from course.datasets import DatasetError, verify_all

DISTRIBUTION = "ml-foundations-for-pms"


def pinned_versions() -> dict[str, str]:
    """Return ``{package: version}`` for the course's pinned runtime dependencies."""
    pins = {}
    for requirement in metadata.requires(DISTRIBUTION) or []:
        if "extra ==" in requirement:
            continue
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^;\s]+).*", requirement)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def mismatches() -> dict[str, tuple[str, str]]:
    """Return ``{package: (pinned, installed)}`` for every package that differs."""
    found = {}
    for name, pinned in pinned_versions().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != pinned:
            found[name] = (pinned, installed)
    return found


def check_environment() -> bool:
    """Print a one-line verdict on Python, packages and datasets; return True if all is well."""
    problems = []
    if sys.version_info[:2] != (3, 11):
        problems.append(f"Python {sys.version.split()[0]} (the course is tested on 3.11)")
    problems += [f"{n} {got} (course pins {want})" for n, (want, got) in mismatches().items()]
    try:
        files = verify_all()
    except DatasetError as error:
        problems.append(str(error))
        files = []
    if problems:
        print("✘ Environment problems: " + "; ".join(problems))
        print("  Fix: run `python3 run.py lab` from the repository root, which installs the pins.")
        return False
    print(f"✔ Ready: Python {sys.version.split()[0]}, {len(pinned_versions())} packages at "
          f"the course's versions, {len(files)} data files verified.")
    return True
