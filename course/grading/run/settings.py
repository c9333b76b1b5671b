"""The nbgrader configuration used for cohort grading: the course's own, its pipeline enforced."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config

from course.grading.coursedir import load_config
from course.grading.run.pipeline import use_course_pipeline
from course.grading.run.sandbox import DEFAULT_DISK_MB, DEFAULT_MEMORY_MB


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
    use_course_pipeline(config)  # whatever the course's config file says
    return config
