"""Guessing an input's format: by file extension, else from its first meaningful line."""

from __future__ import annotations

import os
import re

from ftrl_cli.errors import FtrlError
from ftrl_cli.readers.source import open_source, strip_compression

FORMATS = ("vw", "libsvm", "csv", "tsv", "criteo", "parquet")
PARQUET_SUFFIXES = (".parquet", ".pq")

_EXTENSIONS = {
    ".vw": "vw",
    ".libsvm": "libsvm",
    ".svm": "libsvm",
    ".csv": "csv",
    ".tsv": "tsv",
    ".criteo": "criteo",
    **dict.fromkeys(PARQUET_SUFFIXES, "parquet"),
}
_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 1 << 16
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_LIBSVM_FEATURE = re.compile(rf"\d+(?::{_NUMBER})?")
_LABEL = re.compile(_NUMBER)
_INT = re.compile(r"[+-]?\d*")
_HEX = re.compile(r"[0-9a-fA-F]*")


def format_from_extension(path: str) -> str | None:
    """The format a file name announces, ignoring a compression suffix; a folder is a
    Parquet dataset.

    >>> format_from_extension("day_1.criteo.gz"), format_from_extension("data.txt")
    ('criteo', None)
    """
    if os.path.isdir(path):
        return "parquet"
    return _EXTENSIONS.get(os.path.splitext(strip_compression(path))[1].lower())


def _is_criteo(fields: list[str]) -> bool:
    if len(fields) == 40:
        if fields[0] not in ("0", "1"):
            return False
        fields = fields[1:]
    if len(fields) != 39:
        return False
    return all(_INT.fullmatch(f) for f in fields[:13]) and all(
        _HEX.fullmatch(f) for f in fields[13:]
    )


def _first_line(head: bytes) -> str | None:
    """The first line of ``head`` that is neither blank nor a ``#`` comment, if any."""
    for raw in head.split(b"\n"):
        line = raw.decode("utf-8", "replace").rstrip("\r")
        if line.strip() and not line.lstrip().startswith("#"):
            return line
    return None


def _holds_first_line(head: bytes) -> bool:
    """Whether ``head`` holds its first meaningful line up to the newline that ends it."""
    return _first_line(head[: head.rfind(b"\n") + 1]) is not None


def sniff_format(head: bytes) -> str | None:
    """The format of the first non-empty, non-``#`` line of ``head``, or None if unclear.

    >>> sniff_format(b"# comment\\n1 |u a b\\n"), sniff_format(b"1 3:0.5 7\\n")
    ('vw', 'libsvm')
    """
    line = _first_line(head)
    if line is None:
        return None
    if _is_criteo(line.split("\t")):
        return "criteo"
    if "|" in line and len(line.split("|", 1)[0].split()) <= 3:
        return "vw"
    if "\t" in line and ":" not in line:
        return "tsv"
    tokens = line.split()
    if _LABEL.fullmatch(tokens[0]) and all(_LIBSVM_FEATURE.fullmatch(t) for t in tokens[1:]):
        return "libsvm"
    if "\t" in line:
        return "tsv"
    if "," in line:
        return "csv"
    return None


def detect_format(path: str) -> str | None:
    """The format of ``path`` (``-`` is stdin, whose sniffed bytes stay readable).

    A live stream is waited on only until its first meaningful line has arrived; stdin
    that ends before one holds no records, and its format is None.

    >>> import tempfile
    >>> p = tempfile.mktemp(suffix=".txt"); _ = open(p, "w").write("a,b,label\\nx,y,1\\n")
    >>> detect_format(p)
    'csv'
    """
    fmt = format_from_extension(path) if path != "-" else None
    if fmt is not None:
        return fmt
    source = open_source(path)
    try:
        head = source.peek_until(_holds_first_line, _SNIFF_BYTES)
    finally:
        if path != "-":
            source.close()
    if path == "-" and len(head) < _SNIFF_BYTES and _first_line(head) is None:
        return None  # the stream ended with nothing but blank lines and comments
    if head.startswith(_PARQUET_MAGIC) and path != "-":
        return "parquet"
    fmt = sniff_format(head)
    if fmt is None:
        name = "stdin" if path == "-" else path
        raise FtrlError(f"cannot tell the format of {name}; pass --format")
    return fmt
