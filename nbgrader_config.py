"""nbgrader configuration: the repository root is the course directory."""

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# The release stub is a comment, so the placeholder line above the solution
# markers (`precision = None`) survives and "Run All" reaches the end.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Notebooks are committed without outputs; the release must not run them.
c.GenerateAssignment.create_assignment = True

# A submission that loops forever is stopped after this many seconds per cell
# and graded as it stands; a crashed kernel is not retried forever.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.execute_retries = 0

# scikit-learn and pandas warnings go to stderr, and nbgrader scores any
# stderr in a test cell as a failure: drop warnings so correct answers keep
# their points.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\b(\w*Warning|warnings\.warn)\b"

# A submission whose test cells were deleted gets them back, unedited.
c.OverwriteCells.add_missing_cells = True


# Each module's exercise spec (solutions/<id>/exercises.toml) lists right and
# wrong answers for authors; it never goes into the release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "exercises.toml"]

# Student code is untrusted however it is graded. nbgrader's own `autograde` and
# formgrader's Autograde button run it as `python -m course grade` does: in the
# bubblewrap sandbox, with test cells judged outside the student's kernel, and student
# HTML escaped; feedback, however it is made, never shows hidden tests. The steps are
# defined once, in course/grading/run/pipeline.py; without bubblewrap, autograde stops and
# says how to install it.
from course.grading.run.pipeline import use_course_pipeline  # noqa: E402

use_course_pipeline(c)
