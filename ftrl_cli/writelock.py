"""One writer at a time for a model file: an OS lock on a sidecar file beside it.

``ftrl train -o model.parquet`` holds ``fcntl.flock`` on ``.model.parquet.lock`` (beside
the file the path really leads to) from before it reads its inputs until the model is
written. The kernel drops the lock when the process ends, however it ends, so a crashed or
killed run never leaves a stale lock. The sidecar stays after the run: deleting it would let
a waiting process lock a file that a third one has already replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator

from ftrl_cli.errors import LockedError
from ftrl_cli.outputs import check_writable, refused_as_error, resolve

_POLL_SECONDS = 0.1


def lock_path(path: str) -> str | None:
    """The sidecar lock file of output ``path``; ``None`` for a device, FIFO or descriptor,
    which are written in place and not locked.

    >>> lock_path("/tmp/models/day.parquet")
    '/tmp/models/.day.parquet.lock'
    >>> lock_path("/dev/null") is None
    True
    """
    dest = resolve(path)
    if dest.kind != "replace":
        return None
    folder, name = os.path.split(dest.path)
    return os.path.join(folder, f".{name}.lock")


@contextlib.contextmanager
def output_lock(path: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the write lock of output ``path`` for the ``with`` block, waiting up to ``wait``
    seconds for another process to release it; :class:`LockedError` (exit 75) if it does not.

    >>> import tempfile
    >>> model = os.path.join(tempfile.mkdtemp(), "model.parquet")
    >>> with output_lock(model):
    ...     os.path.exists(lock_path(model))
    True
    """
    check_writable(path)
    sidecar = lock_path(path)
    if sidecar is None:
        yield
        return
    with refused_as_error(sidecar):
        fd = os.open(sidecar, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        _acquire(fd, path, wait)
        # The holder's pid, for the message of whoever finds the file locked.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _acquire(fd: int, path: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL_SECONDS)
    holder = _holder(fd)
    by = f" by process {holder}" if holder else " by another process"
    waited = f" (waited {wait:g} s)" if wait else "; --wait-lock SECONDS waits for it"
    raise LockedError(f"{path}: being written{by}{waited}")


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""
