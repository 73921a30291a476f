"""Compiled kernels: pure functions over NumPy arrays, no Python objects inside.

Every kernel is ``njit(nogil=True, cache=True)`` (numba's, through `ftrl_cli.kernels.jit`) so
that a reader thread can parse while the learner trains, and so that the second run of the CLI
starts without compiling or even setting up numba's compiler.
"""

from ftrl_cli import _jit  # noqa: F401  (sets the cache folder before numba loads)
