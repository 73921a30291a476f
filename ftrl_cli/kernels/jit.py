"""``njit`` for ftrl's kernels: numba's, with a cache that loads compiled code cheaply.

Before loading a cached function numba runs its compiler's whole set-up (``refresh``): it
imports about a hundred of its own modules and ``scipy.linalg``, and registers every typing and
lowering rule. That is 0.1-0.15 s per process, a third of a 500k-row ``ftrl predict``, and
loading machine code needs none of it: only numba's runtime (NRT), which the kernels call to
count references to the arrays they are given and to allocate any they return. So ftrl's
kernels start the runtime and load. On a cache miss numba compiles as usual, and compiling
does the whole set-up itself.

This is sound for code that links nothing but numba's runtime and the helpers every context
registers when it is created, which is all ftrl's kernels do. Two things register more in
that set-up, and no kernel uses them: Python's ``hash`` of strings (its secret) and
``parallel=True`` (the thread pool). ``tests/test_jit_loading.py`` checks both, and runs the
commands on kernels loaded this way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher
from numba.core.runtime import rtsys


class RuntimeOnlyCache(FunctionCache):
    """numba's per-function disk cache, loading without the compiler's set-up."""

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)


# the private methods used above; on a numba without them, its own cache is kept
SUPPORTED = all(hasattr(FunctionCache, name)
                for name in ("_load_overload", "_guard_against_spurious_io_errors"))


def njit(fn: Callable | None = None, **options: Any) -> Any:
    """``numba.njit``; with ``cache=True`` the kernel loads through `RuntimeOnlyCache`.

    >>> @njit(nogil=True)  # cache=True needs a function in a source file, as in the kernels
    ... def twice(x):
    ...     return 2 * x
    >>> twice(21)
    42
    """
    def decorate(f: Callable) -> Any:
        dispatcher = numba.njit(**options)(f)
        # (under NUMBA_DISABLE_JIT=1 numba hands back the plain function)
        if options.get("cache") and SUPPORTED and isinstance(dispatcher, Dispatcher):
            dispatcher._cache = RuntimeOnlyCache(dispatcher.py_func)
        return dispatcher

    return decorate if fn is None else decorate(fn)
