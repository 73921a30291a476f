"""What to do with a malformed record: stop the run (``fail``) or skip it (``skip``).

The readers cut skipped records out of the stream and hand them on with the Batch that
follows them (``Batch.skipped``); an ``ErrorPolicy`` sees them in input order as the Batches
are handed out, counts them, writes them to a rejects file and stops the run once there are
too many.  The command holds the policy, so its count outlives the reading.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from ftrl_cli.errors import FtrlError

if TYPE_CHECKING:
    from ftrl_cli.readers.base import Batch

DEFAULT_MAX_ERRORS = 100
# a share is checked as records come in only from this many on: before that, two bad lines
# among the first ten would exceed any sensible share (it is checked at the end anyway)
SHARE_MIN_RECORDS = 10_000


@dataclass
class Reject:
    """A skipped record: where it was, what was wrong and its bytes (without the newline).

    >>> Reject("day.vw", 3, "bad label 'x'", b"x |a b").entry()
    b"day.vw:3: bad label 'x'\\tx |a b\\n"
    """

    source: str
    line: int
    reason: str
    raw: bytes

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"

    def entry(self) -> bytes:
        """The rejects file's line: ``file:line: reason``, a tab, the raw record."""
        # the first tab ends the reason, so that `cut -f2-` gives the records back
        where = str(self).replace("\t", " ").replace("\n", " ")
        return where.encode("utf-8", "replace") + b"\t" + self.raw + b"\n"


class TooManyErrors(FtrlError):
    """More records were skipped than ``--max-errors`` allows."""


def parse_max_errors(text: str | None) -> tuple[int | None, float | None]:
    """``--max-errors``: a count (``100``) or a share of the records read (``0.1%``).

    >>> parse_max_errors("25"), parse_max_errors("0.5%")
    ((25, None), (None, 0.005))
    """
    if text is None:
        return DEFAULT_MAX_ERRORS, None
    t = text.strip()
    try:
        if t.endswith("%"):
            share = float(t[:-1]) / 100
            if math.isfinite(share) and 0 <= share <= 1:
                return None, share
        elif int(t) >= 0:
            return int(t), None
    except ValueError:
        pass
    raise FtrlError(f"--max-errors: expected a count (100) or a percentage (0.1%), got {text!r}")


class ErrorPolicy:
    """``--on-error``, ``--max-errors`` and ``--rejects`` of a run, and its count of skipped
    records (``skipped``) out of the records read (``records``, skipped ones included).

    >>> policy = ErrorPolicy(skip=True, max_errors="1")
    >>> policy.add(Reject("x.vw", 2, "bad label 'q'", b"q |a"))
    >>> policy.add(Reject("x.vw", 5, "bad label 'r'", b"r |a"))
    Traceback (most recent call last):
    ...
    ftrl_cli.readers.rejects.TooManyErrors: 2 bad records, more than --max-errors 1 allows; ...
    """

    def __init__(self, skip: bool = False, max_errors: str | None = None,
                 sink: BinaryIO | None = None) -> None:
        self.skip = skip
        self.limit, self.share = parse_max_errors(max_errors)
        self._given = max_errors if max_errors is not None else str(DEFAULT_MAX_ERRORS)
        self.sink = sink
        self.skipped = 0
        self.records = 0
        self.last: Reject | None = None

    def silent(self) -> ErrorPolicy:
        """The same choice without counting or writing (for a later pass over the same input,
        whose bad records were counted the first time)."""
        return ErrorPolicy(skip=self.skip, max_errors="100%")

    def add(self, reject: Reject) -> None:
        """Count a skipped record (and write it down); stop if that is one too many."""
        self.skipped += 1
        self.records += 1
        self.last = reject
        if self.sink is not None:
            self.sink.write(reject.entry())
        if self.limit is not None and self.skipped > self.limit:
            self._stop(f"{self.skipped} bad records, more than --max-errors {self._given} allows")

    def watch(self, batches: Iterator[Batch]) -> Iterator[Batch]:
        """``batches`` with their skipped records counted before each is handed on."""
        for batch in batches:
            for _, reject in batch.skipped or ():
                self.add(reject)
            self.records += len(batch)
            if self.records >= SHARE_MIN_RECORDS:
                self._check_share()
            yield batch

    def finish(self) -> None:
        """The share check at the end of the input, however few records it had."""
        self._check_share()

    def _check_share(self) -> None:
        if self.share is not None and self.skipped > self.share * self.records:
            self._stop(f"{self.skipped} bad records of {self.records} read, more than "
                       f"--max-errors {self._given} allows")

    def _stop(self, why: str) -> None:
        raise TooManyErrors(f"{why}; the last: {self.last}")


@contextlib.contextmanager
def error_policy(on_error: str = "fail", max_errors: str | None = None,
                 rejects: str | None = None) -> Iterator[ErrorPolicy]:
    """The policy of a command's options, writing ``rejects`` (through ``open_output``) if
    given.  The rejects file is kept when the run stops on a bad input too: it says why.

    >>> with error_policy("skip", "5") as p:
    ...     p.skip, p.limit
    (True, 5)
    """
    if on_error != "skip" and (max_errors is not None or rejects is not None):
        raise FtrlError("--max-errors and --rejects need --on-error skip")
    if rejects is None:
        yield ErrorPolicy(on_error == "skip", max_errors)
        return
    from ftrl_cli.outputs import open_output

    parse_max_errors(max_errors)  # a bad value fails before the rejects file is touched
    failure = None
    with open_output(rejects) as sink:
        try:
            yield ErrorPolicy(True, max_errors, sink)
        except FtrlError as e:
            failure = e
    if failure is not None:
        raise failure
