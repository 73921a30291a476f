"""csv / tsv / criteo input: one record per line, one value per column.

* csv/tsv: the first non-blank line names the columns (unless ``header=False``, then
  ``columns`` must); ``columns`` given together with a header renames the header's columns.
  RFC 4180 quoting: quoted fields may hold the delimiter, doubled quotes (``""`` for
  ``"``) and line breaks (a record's line number is that of its first line).
* the label column (``label`` by default) holds 0/1, -1/1 or true/false (any case); an
  empty label or a missing label column gives NaN labels (e.g. data to predict);
* ignored columns are skipped, numeric columns contribute ``value`` on their own
  coordinate, every other column is categorical: ``column=value`` with value 1;
* an empty field is missing: it yields no feature; numbers and labels may be padded with
  spaces; blank lines are skipped;
* criteo: tab-separated, no header, ``label, I1..I13, C1..C26`` (or the same without the
  label, as in the Kaggle test file, chosen by the first line); ``I*`` counts become
  log-binned categories (see ``ftrl_cli.hashing``), ``C*`` are categorical.
"""

from __future__ import annotations

import csv
import io
from functools import cache, partial

import numpy as np

from ftrl_cli.errors import FtrlError
from ftrl_cli.hashing import hash_name
from ftrl_cli.readers import _parse_common as pc
from ftrl_cli.readers._parse_delimited import (
    BIN_HI,
    BIN_LO,
    R_CATEGORICAL,
    R_IGNORE,
    R_LABEL,
    R_LOG_BIN,
    R_NUMERIC,
    bin_hashes,
    parse_delimited,
    small_log_bins,
)
from ftrl_cli.readers._parse_driver import Plan
from ftrl_cli.readers.base import FeatureSpec
from ftrl_cli.readers.crossing import column_params, spec_crosses
from ftrl_cli.readers.source import Source, open_source

CRITEO_COLUMNS = (
    "label",
    *(f"I{i}" for i in range(1, 14)),
    *(f"C{i}" for i in range(1, 27)),
)
_CRITEO_COUNTS = frozenset(CRITEO_COLUMNS[1:14])
_PEEK = 1 << 16
_SMALL_BINS = 1 << 16
_HEADER_LIMIT = 1 << 26


def _delimiter(fmt: str) -> str:
    return "," if fmt == "csv" else "\t"


@cache
def _small_bins() -> np.ndarray:
    return small_log_bins(_SMALL_BINS)


def _first_content(head: bytes, blank: bytes) -> int:
    """Offset of the first line of ``head`` that is not only ``blank`` bytes."""
    i = 0
    while i < len(head):
        nl = head.find(b"\n", i)
        stop = len(head) if nl < 0 else nl
        if head[i:stop].strip(blank):
            return i
        i = stop + 1
    return len(head)


def _record_end(head: bytes, i: int) -> int:
    """Offset of the newline ending the quoted-csv record starting at ``i``, or -1."""
    in_quotes = False
    while True:
        if in_quotes:
            q = head.find(b'"', i)
            if q < 0:
                return -1
            in_quotes = False
            i = q + 1
            continue
        nl = head.find(b"\n", i)
        q = head.find(b'"', i)
        if q >= 0 and (nl < 0 or q < nl):
            in_quotes = True
            i = q + 1
        else:
            return nl


def _find_header(source: Source, delim: str) -> tuple[tuple[str, ...], int, int] | None:
    """The header record, left unread: ``(names, its size in bytes, line number of the next
    line)``; None if the input is empty."""
    blank = b" \r" if delim == "\t" else b" \t\r"
    size = _PEEK

    def whole(head: bytes) -> bool:
        return _record_end(head, _first_content(head, blank)) >= 0

    while True:
        # as far as the header's end only: a live stream's next lines may be slow to come
        head = source.peek_until(whole, size)
        start = _first_content(head, blank)
        stop = _record_end(head, start)
        if stop >= 0 or len(head) < size:
            break
        if size >= _HEADER_LIMIT:
            raise FtrlError(f"{source.name}: the header line is longer than {size} bytes")
        size *= 2
    if start >= len(head):
        return None
    if stop < 0:
        stop = len(head)
    try:
        text = head[start:stop].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FtrlError(f"{source.name}: the header line is not UTF-8 ({exc.reason})") from exc
    names = next(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    return (tuple(n.strip() for n in names), min(stop + 1, len(head)),
            1 + head[: stop + 1].count(b"\n"))


def _read_header(source: Source, delim: str) -> tuple[tuple[str, ...], int] | None:
    """Consume the header record: ``(names, line number of the next line)``; None if empty."""
    found = _find_header(source, delim)
    if found is None:
        return None
    names, size, start = found
    source.discard(size)
    return names, start


def header_names(path: str, spec: FeatureSpec) -> tuple[str, ...] | None:
    """The names in the header line of csv/tsv ``path`` (``-`` is stdin), left unread for
    the reader; None if the input is empty.

    >>> import tempfile
    >>> p = tempfile.mktemp(suffix=".csv"); _ = open(p, "w").write("a, b ,label\\nx,y,1\\n")
    >>> header_names(p, FeatureSpec("csv"))
    ('a', 'b', 'label')
    """
    source = open_source(path)
    try:
        found = _find_header(source, _delimiter(spec.format))
    finally:
        if path != "-":  # stdin stays open, its peeked bytes kept for the reader
            source.close()
    return found[0] if found else None


def _criteo_names(source: Source) -> tuple[str, ...]:
    def whole(head: bytes) -> bool:
        return head.find(b"\n", _first_content(head, b" \r")) >= 0

    head = source.peek_until(whole, _PEEK)
    start = _first_content(head, b" \r")
    nl = head.find(b"\n", start)
    first = head[start : nl if nl >= 0 else len(head)]
    return CRITEO_COLUMNS[1:] if first.count(b"\t") == 38 else CRITEO_COLUMNS


def describe_error(names: tuple[str, ...], code: int, text: str, arg: int) -> str:
    col = names[arg] if 0 <= arg < len(names) else f"#{arg + 1}"
    if code == pc.E_COLUMNS:
        return f"expected {len(names)} columns, found {arg}"
    if code == pc.E_LABEL:
        return f"column '{col}': bad label '{text}' (expected 0/1, -1/1 or true/false)"
    if code == pc.E_NUMBER_LABEL:
        return f"column '{col}': bad label '{text}' (expected a number or true/false)"
    if code == pc.E_VALUE:
        return f"column '{col}': bad number '{text}'"
    if code == pc.E_INTEGER:
        return f"column '{col}': bad integer '{text}'"
    if code == pc.E_UNTERMINATED:
        return f"column '{col}': unterminated quote"
    return f"column '{col}': unexpected text after the closing quote in '{text}'"


def column_roles(names: tuple[str, ...], spec: FeatureSpec, source: str) -> np.ndarray:
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise FtrlError(f"{source}: duplicate column names {', '.join(dup)}")
    missing = [c for c in spec.numeric_columns if c not in names]
    if missing:
        raise FtrlError(f"{source}: numeric column(s) {', '.join(missing)} not in the columns")
    roles = np.full(len(names), R_CATEGORICAL, np.int64)
    for i, name in enumerate(names):
        if name == spec.label_column:
            roles[i] = R_LABEL
        elif name in spec.ignore_columns:
            roles[i] = R_IGNORE
        elif name in spec.numeric_columns:
            roles[i] = R_NUMERIC
        elif spec.format == "criteo" and name in _CRITEO_COUNTS:
            roles[i] = R_LOG_BIN
    return roles


def column_hashes(names: tuple[str, ...], mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Each column's hash seed and the full hash of its numeric coordinate (the empty name).

    >>> seeds, numeric = column_hashes(("a",), "strings")
    >>> int(numeric[0]) == int(seeds[0])  # in ``strings`` mode the empty name is the seed
    True
    """
    seeds = np.array([hash_name(n, 0, mode) for n in names], np.int64)
    return seeds, np.array([hash_name(b"", int(s), mode) for s in seeds], np.int64)


def delimited_plan(source: Source, spec: FeatureSpec) -> Plan | None:
    """The parse plan for a csv/tsv/criteo source; consumes its header.  None if empty."""
    start = 1
    if spec.format == "criteo":
        names, delim = _criteo_names(source), "\t"
    else:
        delim = _delimiter(spec.format)
        names = spec.columns
        if spec.header:
            found = _read_header(source, delim)
            if found is None:
                return None
            header, start = found
            if names is not None and len(names) != len(header):
                raise FtrlError(
                    f"{source.name}: the header has {len(header)} columns, "
                    f"--columns names {len(names)}"
                )
            names = names or header
        if names is None:
            raise FtrlError(f"{source.name}: without a header line, --columns must name them")
    names = tuple(names)
    roles = column_roles(names, spec, source.name)
    mode = spec.hash_mode
    strings = mode == "strings"
    seeds, numeric = column_hashes(names, mode)
    width = BIN_HI - BIN_LO if (roles == R_LOG_BIN).any() else 0
    bins = np.zeros((len(names), width), np.int64)
    for i in np.flatnonzero(roles == R_LOG_BIN):
        bin_hashes(seeds[i], strings, bins[i])
    quoting = spec.format != "criteo"
    crosses = spec_crosses(spec)
    return Plan(
        kernel=parse_delimited,
        params=(ord(delim), quoting, roles, seeds, numeric, bins, _small_bins(), strings,
                *column_params(crosses, names, spec, source.name)),
        describe=partial(describe_error, names),
        start_line=start,
        needs_scratch=True,
        takes_meta=True,
        crosses=crosses,
    )
