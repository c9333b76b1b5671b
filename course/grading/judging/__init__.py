"""Judging: a test cell judged in the grader's own process, and its verdict read back.

``judge`` runs the visible check and the hidden tests on the values the kernel sent;
``verdicts`` reads what it wrote into each autograded cell.
"""
