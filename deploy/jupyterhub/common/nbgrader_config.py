"""nbgrader settings every hub user loads: one course, one shared exchange.

The hub sets COURSE_ID and NBGRADER_EXCHANGE from the settings written by
``python -m course hub``.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = os.environ["COURSE_ID"]
c.Exchange.root = os.environ["NBGRADER_EXCHANGE"]
