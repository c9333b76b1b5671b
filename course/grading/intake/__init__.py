"""Intake: one notebook per student, the roster's ids, and a look for suspicious code.

From a platform's export or nbgrader's exchange (``collect``), checked against the
roster (``roster``), scanned before anything runs (``integrity``).
"""
