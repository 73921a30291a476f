"""Compiled kernels: pure functions over NumPy arrays, no Python objects inside.

Every kernel is ``numba.njit(nogil=True, cache=True)`` so that a reader thread can parse while
the learner trains, and so that the second run of the CLI starts without compiling.
"""

from ftrl_cli import _jit  # noqa: F401  (sets the cache folder before numba loads)
