"""Helpers for the Binder and browser tests: a learner's Jupyter environment and JupyterLab."""
