"""nbgrader settings every hub user loads: one course, one shared exchange.

The hub sets COURSE_ID, NBGRADER_EXCHANGE and COURSE_INSTRUCTORS from the settings
written by ``python -m course hub``. With COURSE_INSTRUCTORS (comma-separated accounts),
a submission is readable by its learner and those accounts only
(course/private_submit.py), not by anyone who learns its name.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = os.environ["COURSE_ID"]
c.Exchange.root = os.environ["NBGRADER_EXCHANGE"]

instructors = [name for name in os.environ.get("COURSE_INSTRUCTORS", "").split(",") if name]
if instructors:
    c.ExchangeFactory.submit = "course.private_submit.PrivateSubmit"
    c.PrivateSubmit.readers = instructors
