"""Two cores, two jobs: a reader thread parses the next batches while the caller learns.

The parsing and training kernels release the GIL, so the threads run truly in parallel.
Batches arrive in input order, so results are bit-for-bit those of a single thread.

>>> list(prefetch(iter(range(5)), depth=2))
[0, 1, 2, 3, 4]
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterator[T], depth: int = 3) -> Iterator[T]:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as e:  # handed to the consumer, which re-raises it
            q.put(_Failure(e))

    thread = threading.Thread(target=work, name="ftrl-reader", daemon=True)
    thread.start()
    ending = False
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    except BaseException as e:
        # An interrupt or SIGTERM ends the process: a producer blocked on a slow stdin
        # would hold it up until the stream ends, so it is left behind (a daemon thread).
        ending = not isinstance(e, (Exception, GeneratorExit))
        raise
    finally:
        stop.set()
        # Unblock a producer waiting on a full queue, then let it finish.
        while not ending and thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
