"""Seeded simulators for what the course cannot show with real data.

Each submodule simulates one thing (bandit clicks, A/B test conversions,
selective labels, labellers); every simulator takes a seed, and notebooks say
plainly that the data they produce are simulated. All of them check their
inputs with :mod:`course.simulate.inputs`, under one rule for the seed: a whole
number of 0 or more, never ``None``, so that every run is reproducible.
"""
