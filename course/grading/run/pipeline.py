"""nbgrader's autograde and feedback steps for this course, defined once.

``nbgrader_config.py`` reads them, so nbgrader's own ``autograde`` and
``generate_feedback`` and formgrader's buttons run them; ``settings.grading_config``
sets them again whatever a configuration says, so ``python -m course grade``
always sandboxes. Each is nbgrader's own list with two changes: the kernel runs in
the course's bubblewrap sandbox and test cells are judged outside it
(``SandboxedExecute`` instead of ``Execute``), student HTML is escaped, and feedback
never shows hidden tests. Only names here: importing this module imports nothing
of nbgrader's.
"""

from __future__ import annotations

from typing import Any

#: Autograde: nbgrader's steps, with Execute sandboxed and student HTML escaped after it.
AUTOGRADE_STEPS = (
    "course.grading.run.execute.SandboxedExecute",
    "course.grading.results.sanitize.SanitizeStudentHTML",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
)
#: Feedback: nbgrader's steps, with the hidden tests hidden before the HTML is made.
FEEDBACK_STEPS = (
    "nbgrader.preprocessors.GetGrades",
    "course.grading.results.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
)


def use_course_pipeline(config: Any) -> None:
    """Set the course's autograde and feedback steps on an nbgrader ``config``."""
    config.Autograde.autograde_preprocessors = list(AUTOGRADE_STEPS)
    config.GenerateFeedback.preprocessors = list(FEEDBACK_STEPS)
