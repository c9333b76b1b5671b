"""Helpers for the course *Machine Learning Foundations for AI Product Managers*."""

__version__ = "0.1.0"
