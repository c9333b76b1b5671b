"""The item report: what the cohort got wrong, exercise by exercise.

``cohort`` reads what grading stored, ``item_analysis`` computes the statistics,
``item_csv``, ``item_plots`` and ``item_report`` write them.
"""
