"""The cohort's records: the gradebook, the ledger, and a review's accepted scores.

``gradebook`` (nbgrader's database), ``ledger`` (what each grading run found),
``accept`` (the autograder's scores taken after a review).
"""
