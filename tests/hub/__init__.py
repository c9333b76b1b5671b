"""Helpers for the JupyterHub test: a hub started by ``python -m course hub``, its users."""
