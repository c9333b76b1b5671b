"""Cohort grading on top of nbgrader.

``python -m course grade`` collects a cohort's notebooks, autogrades each in a
bubblewrap sandbox on every core, judges the hidden tests in the grader's own
process, writes feedback without hidden tests and exports a grade per roster
student. The kernel imports :mod:`course.grading.run.evidence` from this package to
send its values, so nothing here imports nbgrader at import time.
"""
