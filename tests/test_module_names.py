"""Every command takes a module the same ways: ``3``, ``03``, ``03_metrics``."""

import pytest
from nbtools import ROOT

from course.cli import _resolve_module, build_parser
from course.errors import CourseError
from course.notebook import module_id
from course.workspace import resolve_modules

KNOWN = ["00_welcome", "03_metrics", "10_extra"]


@pytest.mark.parametrize("given", ["3", "03", "03_metrics", "03_metrics.ipynb", " 03 "])
def test_every_form_names_the_module(given):
    assert module_id(given, KNOWN) == "03_metrics"


@pytest.mark.parametrize("given", ["4", "03_metric", "metrics", "_metrics", "", "0310"])
def test_a_name_that_is_no_module_is_refused_with_the_list(given):
    with pytest.raises(CourseError, match="00_welcome, 03_metrics, 10_extra"):
        module_id(given, KNOWN)


def test_two_digit_numbers_are_not_confused():
    assert module_id("10", KNOWN) == "10_extra"
    assert module_id("0", KNOWN) == "00_welcome"


@pytest.mark.parametrize("command", [
    ["grade", "3", "export.zip"], ["feedback", "03"], ["export", "3"], ["report", "3"],
    ["bench-grading", "3"]])
def test_instructor_commands_take_the_number(command):
    args = build_parser().parse_args([*command, "--course-dir", str(ROOT)])
    _resolve_module(args)
    assert getattr(args, "assignment", getattr(args, "module", None)) == "03_metrics"


def test_start_takes_the_number():
    available = {m: ROOT / "notebooks" / m for m in ["00_welcome", "03_metrics"]}
    assert resolve_modules(["3", "00"], available) == ["03_metrics", "00_welcome"]


def test_bench_takes_the_course_dir():
    args = build_parser().parse_args(["bench", "--course-dir", str(ROOT)])
    assert args.course_dir == str(ROOT)
