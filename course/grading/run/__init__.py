"""Running one submission: its kernel in the sandbox, its values sent back as data.

``sandbox`` (bubblewrap, limits), ``execute`` (nbgrader's Execute, sandboxed, test
cells judged outside), ``evidence`` (values as data; the kernel imports it, so nothing
here imports nbgrader at import time), ``worker`` and ``parallel`` (a scratch course
per worker), ``pipeline`` and ``settings`` (nbgrader's steps and limits), ``preflight``
(can the course run here at all).
"""
