"""Seeded simulators for what the course cannot show with real data.

Each submodule simulates one thing (bandit clicks, A/B test conversions,
selective labels, labellers); every function takes a seed, and notebooks say
plainly that the data they produce are simulated.
"""
