"""The nbgrader configuration used for cohort grading: the course's own, plus safeguards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets.config import Config

from course.grading.coursedir import load_config
from course.grading.sandbox import DEFAULT_DISK_MB, DEFAULT_MEMORY_MB


def _configured(config: Config, section: str, name: str, default: list[Any]) -> list[Any]:
    value = config.get(section, {}).get(name)
    return list(value) if value else list(default)


def _is(item: Any, cls: type) -> bool:
    """Return True when ``item`` (a class, or its name in a config file) names ``cls``."""
    module = cls.__module__.rsplit(".", 1)[0]  # as nbgrader.preprocessors.Execute
    names = {f"{cls.__module__}.{cls.__name__}", f"{module}.{cls.__name__}", cls.__name__}
    return item is cls or item in names


def autograde_preprocessors(config: Config) -> list[Any]:
    """Return nbgrader's autograde steps: ``Execute`` sandboxed, then student HTML sanitised."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from course.grading.execute import SandboxedExecute
    from course.grading.sanitize import SanitizeStudentHTML

    default = Autograde.class_traits()["autograde_preprocessors"].default()
    steps = _configured(config, "Autograde", "autograde_preprocessors", default)
    steps = [SandboxedExecute if _is(step, Execute) or _is(step, SandboxedExecute) else step
             for step in steps if not _is(step, SanitizeStudentHTML)]
    at = next(i for i, step in enumerate(steps) if step is SandboxedExecute) + 1
    return [*steps[:at], SanitizeStudentHTML, *steps[at:]]


def feedback_preprocessors(config: Config) -> list[Any]:
    """Return nbgrader's feedback steps with ``HideHiddenTests`` before the HTML."""
    from nbgrader.converters import GenerateFeedback

    from course.grading.feedback import HideHiddenTests

    default = GenerateFeedback.class_traits()["preprocessors"].default()
    steps = _configured(config, "GenerateFeedback", "preprocessors", default)
    steps = [step for step in steps if not _is(step, HideHiddenTests)]
    return [HideHiddenTests, *steps] if not steps else [steps[0], HideHiddenTests, *steps[1:]]


def grading_config(root: Path, timeout: int | None = None, memory_mb: int = DEFAULT_MEMORY_MB,
                   sandboxed: bool = True, submission_timeout: int = 0,
                   disk_mb: int = DEFAULT_DISK_MB) -> Config:
    """Return the course's config for ``root`` with the sandbox, feedback filter and limits."""
    config = load_config(root)
    if timeout:
        config.Execute.timeout = int(timeout)
    config.SandboxedExecute.memory_mb = int(memory_mb)
    config.SandboxedExecute.disk_mb = int(disk_mb)
    config.SandboxedExecute.sandbox = bool(sandboxed)
    if submission_timeout:
        config.SandboxedExecute.submission_timeout = int(submission_timeout)
    config.Autograde.autograde_preprocessors = autograde_preprocessors(config)
    config.GenerateFeedback.preprocessors = feedback_preprocessors(config)
    return config
