"""A learner's server: nbgrader's student extensions only (Assignment List, Validate).

The instructor extensions are switched off here, on the server: a learner who
types their address gets a 404, whatever the page shows.
"""

c = get_config()  # noqa: F821 (provided by Jupyter)

c.ServerApp.jpserver_extensions.update({
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
})
