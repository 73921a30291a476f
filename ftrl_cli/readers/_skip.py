"""Stepping over a malformed record in a byte buffer, whatever the format.

A kernel stops at a bad record; to skip it, the driver notes it as a ``Reject`` and resumes
after the newline that ends the line where the record went wrong.  A line too long to hold
(``--max-line-bytes``) is a bad record too; the rest of it is read and dropped a buffer at a
time.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ftrl_cli.errors import InputError
from ftrl_cli.kernels.jit import njit
from ftrl_cli.readers._parse_common import ERR, LINE, POS, find_newline
from ftrl_cli.readers.base import Batch
from ftrl_cli.readers.rejects import Reject

MAX_LINE_BYTES = 16 << 20


class BadRecord(NamedTuple):
    """A kernel's (or a fixup's) error and where it is: ``first``, a byte on the record's
    first line; ``last``, the end of the offending text."""

    error: InputError
    first: int
    last: int


def too_long(limit: int) -> str:
    """The message of a line over ``--max-line-bytes``.

    >>> too_long(16 << 20)
    'line longer than 16777216 bytes'
    """
    return f"line longer than {limit} bytes"


@njit(nogil=True, cache=True)
def line_start(buf: np.ndarray, i: int) -> int:
    """Start of the line holding ``buf[i]``: just after the ``\\n`` before it, or 0.

    >>> line_start(np.frombuffer(b"ab\\ncd", np.uint8), 4)
    3
    """
    while i > 0 and buf[i - 1] != 10:
        i -= 1
    return i


def newlines(buf: np.ndarray, a: int, b: int) -> int:
    """Line breaks in ``buf[a:b]``, negative if ``b < a``: the line number's change."""
    lo, hi = min(a, b), max(a, b)
    n = int(np.count_nonzero(buf[lo:hi] == 10))
    return n if b >= a else -n


class Skip(NamedTuple):
    """Where parsing resumes after a bad record and what is noted of it."""

    reject: Reject
    resume: int  # the byte after the bad line's newline (or ``end`` if it is not in yet)
    line_ended: bool  # False: the rest of the line may be still to come


def skip_record(buf: np.ndarray, end: int, bad: BadRecord) -> Skip:
    """Step over ``bad`` in ``buf[:end]``.

    >>> buf = np.frombuffer(b"1 |a\\nx |a\\n0 |a\\n", np.uint8)
    >>> s = skip_record(buf, 15, BadRecord(InputError("f", 2, "bad label 'x'"), 5, 6))
    >>> s.reject.raw, s.resume, s.line_ended
    (b'x |a', 10, True)
    """
    start = line_start(buf, bad.first)
    nl = find_newline(buf, max(start, bad.last - 1), end)
    err = bad.error
    reject = Reject(err.source, err.line, err.message, buf[start:nl].tobytes())
    return Skip(reject, nl + 1 if nl < end else end, nl < end)


def step_over(st: np.ndarray, buf: np.ndarray, resume: int) -> None:
    """Move a kernel's cursor (state ``st``) on to ``resume``, its line number with it."""
    # the cursor and its line number agree: count the lines from there
    st[LINE] += newlines(buf, int(st[POS]), resume)
    st[POS] = resume
    st[ERR] = 0


def drop_rest(st: np.ndarray, buf: np.ndarray, end: int, final: bool) -> bool:
    """Move a kernel's cursor past the next newline in ``buf[:end]``; if it is not in yet,
    to ``end``, returning False unless the input ends there (``final``).

    >>> st = np.zeros(12, np.int64)
    >>> drop_rest(st, np.frombuffer(b"xx\\nab", np.uint8), 5, False), int(st[POS]), int(st[LINE])
    (True, 3, 1)
    """
    nl = find_newline(buf, int(st[POS]), end)
    if nl < end:
        st[POS] = nl + 1
        st[LINE] += 1
        return True
    st[POS] = end
    return final


def empty_batch(n_features: int, source: str, skipped: list[tuple[int, Reject]]) -> Batch:
    """A Batch of no records, carrying skipped ones (the last records of a block or source)."""
    no = np.zeros(0, np.int64)
    return Batch(np.zeros(1, np.int64), no, np.zeros(0), n_features, np.zeros(0), np.zeros(0),
                 no, source, skipped=skipped)
