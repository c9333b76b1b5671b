"""The instructor's course directory is ~/course, a copy of the course made by
``python -m course hub``; its own nbgrader_config.py (solutions/ as the source,
notebooks/ as the release, time limits) is loaded from there.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader)

course = os.path.expanduser("~/course")
c.CourseDirectory.root = course
load_subconfig(os.path.join(course, "nbgrader_config.py"))  # noqa: F821 (traitlets)
