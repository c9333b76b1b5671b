"""Cohort grading and learner progress on top of nbgrader.

``python -m course grade`` collects a cohort's notebooks, autogrades them on
every core with nbgrader, writes feedback without hidden tests and exports a
grade per roster student; ``python -m course progress`` shows a learner how far
they are. This package is imported inside grading kernels too (see
:mod:`course.grading.guard`), so nothing here imports nbgrader at import time.
"""
