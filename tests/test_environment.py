import re
import tomllib

import yaml
from nbtools import ROOT

from course import environment


def _pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(_split(r) for r in project["dependencies"])


def _split(requirement):
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", requirement.strip())
    assert match, f"{requirement!r} is not pinned with =="
    return match.group(1).lower(), match.group(2)


def test_environment_yml_pins_equal_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in conda
    assert dict(_split(r) for r in pip) == _pyproject_pins()


def test_test_tools_are_pinned_too():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["optional-dependencies"]["test"]:
        _split(requirement)


def test_installed_versions_match_the_pins():
    assert environment.mismatches() == {}, "run `python3 run.py test` to install the pins"
    assert environment.pinned_versions() == _pyproject_pins()


def test_check_environment_reports_ready(capsys):
    assert environment.check_environment()
    assert capsys.readouterr().out.startswith("✔ Ready")
