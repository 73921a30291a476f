"""Splitting the inputs into tasks: a file each, and large plain text files into byte ranges
that start at line starts, so that one big file also spreads over the workers.

A piece reads as ``read_batches(..., start=..., stop=...)`` reads a byte range: the records
of its lines, a csv header taken from the file's start.  Compressed files (no seeking) and
Parquet files or folders are one piece each; so are csv and tsv files, whose quoted fields
may span lines (a cut could fall inside one).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from ftrl_cli.errors import FtrlError
from ftrl_cli.readers.base import ReadPosition
from ftrl_cli.readers.source import compression_suffix

# formats whose records never span lines
SPLITTABLE = ("vw", "libsvm", "criteo")
MAX_PIECE_BYTES = 64 << 20
MIN_PIECE_BYTES = 1 << 20
_GLOB = set("*?[")


@dataclass(frozen=True)
class Piece:
    """One task's input: ``path``, or its bytes ``[start, stop)`` (``stop`` None: to the end).

    >>> Piece("a.vw", 0, None).read_args(), Piece("a.vw", 100, 200).read_args()
    ({}, {'start': ReadPosition(input=0, offset=100, line=1), 'stop': 200})
    """

    path: str
    start: int = 0
    stop: int | None = None

    def read_args(self) -> dict:
        """The ``read_batches`` arguments of the byte range (line numbers from 1 in it:
        ``lines_before`` turns them into the file's)."""
        args: dict = {}
        if self.start:
            args["start"] = ReadPosition(0, self.start, 1)
        if self.stop is not None:
            args["stop"] = self.stop
        return args

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop is None


def expand_inputs(paths: list[str]) -> list[str]:
    """The inputs with glob patterns the shell left (quoted ones) expanded, in sorted order;
    a pattern that matches nothing is an error.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> for n in ("b.vw", "a.vw"): _ = open(os.path.join(d, n), "w").write("1 |a x\\n")
    >>> [os.path.basename(p) for p in expand_inputs([os.path.join(d, "*.vw")])]
    ['a.vw', 'b.vw']
    """
    out: list[str] = []
    for p in paths:
        if p == "-":
            raise FtrlError("--dask reads files (the workers cannot read this stdin)")
        if os.path.exists(p) or not _GLOB & set(p):
            out.append(p)
            continue
        found = sorted(glob.glob(p))
        if not found:
            raise FtrlError(f"{p}: no file matches")
        out.extend(found)
    return out


def piece_bytes(total: int, workers: int, least: int = MIN_PIECE_BYTES) -> int:
    """Byte range size: about four pieces per worker, within ``least`` and 64 MiB.

    >>> piece_bytes(1 << 30, 2) == 64 << 20, piece_bytes(10 << 20, 4) == 1 << 20
    (True, True)
    """
    return max(least, min(MAX_PIECE_BYTES, total // max(1, 4 * workers)))


def split_inputs(paths: list[str], fmt: str, size: int) -> list[Piece]:
    """The pieces of ``paths`` in input order: byte ranges of about ``size`` bytes for the
    plain files of a `SPLITTABLE` format, whole files otherwise.

    >>> import tempfile
    >>> p = tempfile.mktemp(suffix=".vw"); _ = open(p, "w").write("1 |a x\\n" * 10)
    >>> [(q.start, q.stop) for q in split_inputs([p], "vw", 30)]
    [(0, 35), (35, None)]
    """
    pieces: list[Piece] = []
    for path in paths:
        if fmt not in SPLITTABLE or not os.path.isfile(path) or compression_suffix(path) \
                or _compressed(path):
            pieces.append(Piece(path))
            continue
        total = os.path.getsize(path)
        cuts = [0]
        with open(path, "rb") as fh:
            target = size
            while target < total:
                at = _line_start(fh, max(target, cuts[-1] + 1))
                if at >= total:
                    break
                cuts.append(at)
                target = at + size
        ends = [*cuts[1:], None]
        pieces.extend(Piece(path, a, b) for a, b in zip(cuts, ends))
    return pieces


def _compressed(path: str) -> bool:
    from ftrl_cli.readers.source import _file_magic

    return _file_magic(path) is not None


def _line_start(fh, offset: int) -> int:
    """The first line start at or after ``offset`` (a byte after a newline)."""
    fh.seek(offset - 1)
    pos = offset - 1
    while True:
        block = fh.read(1 << 16)
        if not block:
            return pos
        i = block.find(b"\n")
        if i >= 0:
            return pos + i + 1
        pos += len(block)


def lines_before(path: str, offset: int) -> int:
    """How many lines end before byte ``offset``: what turns a piece's line numbers into the
    file's (counted only when an error needs it).

    >>> import tempfile
    >>> p = tempfile.mktemp(); _ = open(p, "wb").write(b"a\\nb\\nc\\n")
    >>> lines_before(p, 4)
    2
    """
    count = 0
    with open(path, "rb") as fh:
        left = offset
        while left > 0:
            block = fh.read(min(left, 1 << 22))
            if not block:
                break
            count += block.count(b"\n")
            left -= len(block)
    return count
