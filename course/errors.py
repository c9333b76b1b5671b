"""One family of errors for the whole course, by who can fix them.

The command line catches :class:`CourseError` once and prints its message;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CourseError(Exception):
    """A problem a person can fix; the message says what and how."""


class LearnerError(CourseError):
    """A learner's mistake (an unknown module, a copy that cannot be made)."""


class AuthorError(CourseError):
    """An exercise spec or solution that does not hold together (found by ``release``)."""


class InstructorError(CourseError):
    """A grading problem the instructor can fix (a wrong path, a bad roster)."""
