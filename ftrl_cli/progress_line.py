"""One progress line on a terminal for long reads: records, records/s, bytes read of the total
and an ETA, redrawn at most ``REFRESH`` times a second and cleared at the end.

Only when stderr is a terminal: piped or logged stderr gets nothing, byte for byte.  The
bytes are the inputs' own (for a compressed file, the compressed bytes read, of its size on
disk); the total is known when every input is a regular file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from ftrl_cli.readers.source import Source

REFRESH = 4
"""Redraws per second, at most."""

CLEAR = "\r\x1b[K"
"""Back to the line's start, and erase it."""


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path) if path != "-" and os.path.isfile(path) else None
    except OSError:
        return None


def human_bytes(n: float) -> str:
    """``n`` bytes in B, kB, MB, GB or TB (powers of 1000, as ``ls --si``).

    >>> human_bytes(512), human_bytes(40_123_456_789)
    ('512 B', '40.1 GB')
    """
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def clock_time(seconds: float) -> str:
    """``h:mm:ss`` (``m:ss`` under an hour).

    >>> clock_time(75), clock_time(3725.4)
    ('1:15', '1:02:05')
    """
    s = int(seconds + 0.5)
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def describe(records: int, seconds: float, done: int | None, total: int | None) -> str:
    """The line's text: records, their rate, bytes read (of the total) and the ETA.

    >>> describe(1_500_000, 3.0, 2_000_000_000, 8_000_000_000)
    '1,500,000 records  500,000 records/s  2.0 GB of 8.0 GB (25%)  ETA 0:09'
    >>> describe(10, 0.0, None, None)
    '10 records'
    """
    parts = [f"{records:,} records"]
    if seconds > 0:
        parts.append(f"{records / seconds:,.0f} records/s")
    if done is not None and total:
        parts.append(f"{human_bytes(done)} of {human_bytes(total)} ({100 * done / total:.0f}%)")
        if seconds > 0 and 0 < done <= total:
            parts.append(f"ETA {clock_time(seconds * (total - done) / done)}")
    elif done is not None:
        parts.append(f"{human_bytes(done)} read")
    return "  ".join(parts)


class ProgressLine:
    """Counts records and the bytes of the sources opened, redrawing one line on ``stream``.

    ``paths`` are read ``rounds`` times (passes); ``stream`` None draws nothing and costs
    nothing.

    >>> import io
    >>> out = io.StringIO()
    >>> line = ProgressLine(["-"], out, clock=iter([0.0, 2.0, 2.1]).__next__)
    >>> line.add(100); line.clear(); out.getvalue()
    '\\r100 records  50 records/s\\r\\x1b[K'
    """

    def __init__(self, paths: Sequence[str], stream: TextIO | None, rounds: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self._sizes = [_size(p) for p in paths] * rounds
        self._clock = clock
        self._start = clock() if stream is not None else 0.0
        self._next = self._start + 1.0 / REFRESH
        self._opened = 0
        self._banked = 0  # bytes of the sources finished
        self._source: Source | None = None
        self.records = 0
        self._shown = False

    @property
    def total(self) -> int | None:
        known = [s for s in self._sizes if s is not None]
        return sum(known) if len(known) == len(self._sizes) else None

    def opened(self, source: Source) -> None:
        """A new source is being read: the one before it is finished."""
        if self._source is not None:
            previous = self._sizes[self._opened - 1]
            self._banked += previous if previous is not None else self._source.bytes_read
        self._source = source
        self._opened += 1

    @property
    def on_open(self) -> Callable[[Source], None] | None:
        """``opened``, or None when nothing is drawn (for ``read_batches``'s hook)."""
        return self.opened if self.stream is not None else None

    def add(self, records: int) -> None:
        """Count ``records`` more; redraw if it is time."""
        self.records += records
        if self.stream is None:
            return
        now = self._clock()
        if now < self._next:
            return
        self._next = now + 1.0 / REFRESH
        done = None if self._source is None else self._banked + self._source.bytes_read
        text = describe(self.records, now - self._start, done, self.total)
        width = _width(self.stream)  # a wrapped line could not be cleared
        self.stream.write("\r" + (text[: width - 1] if width else text)
                          + ("\x1b[K" if self._shown else ""))
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the line, if one was drawn."""
        if self._shown:
            self.stream.write(CLEAR)
            self.stream.flush()
            self._shown = False


def _width(stream: TextIO) -> int:
    """The terminal's width in columns, 0 where it does not say."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


@contextlib.contextmanager
def progress_line(paths: Sequence[str], rounds: int = 1,
                  show: bool = True) -> Iterator[ProgressLine]:
    """A ``ProgressLine`` on stderr if it is a terminal (and ``show``), cleared on the way
    out, before any error is printed."""
    stream = sys.stderr if show and is_terminal(sys.stderr) else None
    line = ProgressLine(paths, stream, rounds)
    try:
        yield line
    finally:
        line.clear()


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for anything without a descriptor).

    >>> import io
    >>> is_terminal(io.StringIO())
    False
    """
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
