"""What goes back to people: grades.csv, final grades, feedback, all of it inert.

``report`` (grades.csv, statuses and reasons), ``export`` (final grades), ``feedback``
and ``refresh`` (hidden tests hidden), ``review_note`` (why a submission is held),
``sanitize``, ``links`` and ``csvsafe`` (no live markup, unsafe link or formula).
"""
