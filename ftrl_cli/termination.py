"""SIGTERM in a run: an exception in the main thread, and a note that the batch loops check.

The handler raises :class:`~ftrl_cli.errors.Terminated` where the main thread is, so every
``with`` block unwinds (temporary outputs go, the old model stays). Code the signal lands in
may swallow it, though (a library's bare ``except:`` around an import, for one), so the
handler also notes it, and every batch read checks the note: a swallowed SIGTERM still ends
the run at the next batch instead of letting it finish and replace its outputs.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ftrl_cli.errors import Terminated

_received = threading.Event()


def handle(_signum: int, _frame: object) -> None:
    """The SIGTERM handler: note it, then raise :class:`Terminated`."""
    _received.set()
    raise Terminated


def reset() -> None:
    """Forget an earlier SIGTERM (a new run in the same process)."""
    _received.clear()


def check() -> None:
    """Raise :class:`Terminated` if SIGTERM arrived, wherever the handler's exception went.

    >>> reset(); check()  # nothing received: returns
    """
    if _received.is_set():
        raise Terminated


class _NoPandas:
    """An import hook under which ``import pandas`` fails as if pandas were not installed."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


@contextmanager
def pandas_kept_out() -> Iterator[None]:
    """Inside the block, pyarrow sees no pandas (unless it is imported already).

    ftrl never uses pandas, but pyarrow imports it on its first array conversion when it is
    installed: 0.7 s of every command, and a SIGTERM during that import is swallowed by
    pyarrow's import check. The command line runs in this block; afterwards the process can
    import pandas as before.

    >>> with pandas_kept_out():
    ...     import pyarrow as pa
    ...     pa.array([0.5, 0.25]).to_numpy()
    array([0.5 , 0.25])
    """
    hook = None
    if "pandas" not in sys.modules:
        hook = _NoPandas()
        sys.meta_path.insert(0, hook)
    try:
        yield
    finally:
        if hook is not None:
            sys.meta_path.remove(hook)
