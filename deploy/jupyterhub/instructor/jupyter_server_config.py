"""An instructor's server: every nbgrader extension, formgrader included."""

c = get_config()  # noqa: F821 (provided by Jupyter)

c.ServerApp.jpserver_extensions.update({
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.formgrader": True,
    "nbgrader.server_extensions.course_list": True,
})
