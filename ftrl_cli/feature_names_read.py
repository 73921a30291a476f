"""Reading feature names from the records a training run reads (``--feature-names``).

Text inputs are named from the very bytes the parse kernels get: ``NameRecorder.on_open``
taps each source (``Source.tap``), and whole records go through a small name-producing
parser per format, in the reading thread; Parquet inputs are read once more, the feature
columns only.  Column formats take each column's distinct values of a chunk at once (dicts
built in C), so Python sees each distinct value of a chunk once; vw, libsvm and crosses go
record by record.  Keys are those of ``ftrl_cli.feature_names``; crosses follow the pairing
rules of ``readers._cross_kernel`` exactly, so a cross's key hashes to the coordinate the
kernel gave it.

>>> from ftrl_cli.feature_names import NameBook, Naming
>>> from ftrl_cli.readers.base import FeatureSpec
>>> spec = FeatureSpec("vw", hash_bits=18, hash_mode="strings")
>>> rec = NameRecorder(NameBook(Naming("vw", "strings", 18)), spec)
>>> rec.vw_lines("1 |u a b:2 |v c\\n0 | d\\n")
>>> sorted(rec.book.naming.text(k) for k in rec.book.first.values())
['d', 'u=a', 'u=b', 'v=c']
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from itertools import repeat

import numpy as np

from ftrl_cli.errors import FtrlError
from ftrl_cli.feature_names import NameBook, cross_fingerprints, fingerprint, trim
from ftrl_cli.readers._cross_members import cross_members
from ftrl_cli.readers._parse_delimited import R_CATEGORICAL, R_LOG_BIN, R_NUMERIC
from ftrl_cli.readers.base import FeatureSpec
from ftrl_cli.readers.crosses_spec import (
    K_ANY,
    K_GLOB,
    K_LETTER,
    K_NAME,
    glob_regex,
)
from ftrl_cli.readers.crossing import spec_crosses
from ftrl_cli.readers.delimited import _criteo_names, _delimiter, _find_header, column_roles
from ftrl_cli.readers.source import Source

_BLANK = " \t\r"


def _float(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _log_bin(text: str) -> str | None:
    try:
        v = int(text.strip(" \t"))
    except ValueError:
        return None
    return str(v if v <= 2 else math.floor(math.log(v) ** 2))


class NameRecorder:
    """Feeds a ``NameBook`` the names of the records of a run's first pass."""

    def __init__(self, book: NameBook, spec: FeatureSpec) -> None:
        self.book = book
        self.spec = spec
        self.strings = spec.hash_mode == "strings"
        self.crosses = spec_crosses(spec)
        self.active = True
        self._ns: dict[str, tuple[int, int]] = {}
        self._columns: tuple[tuple[str, ...], list] | None = None
        # per column, the raw values already taken (at most max_names in all), so that a
        # chunk's values are sifted in C and Python sees only the new ones
        self._raw: dict[str, set] = {}
        self._tap: _Tap | None = None
        self._raw_count = 0

    def _norm(self, text: str) -> str:
        return trim(text) if self.strings else text

    # ---- text sources ----
    def on_open(self, source: Source) -> None:
        """Tap ``source`` (call before its plan reads a header) while ``active``."""
        self.finish()
        if not self.active or not self.book.recording:
            return
        fmt = self.spec.format
        if fmt in ("csv", "tsv", "criteo"):
            try:
                self._columns = self._column_setup(source)
            except FtrlError:
                return  # the reader says what is wrong with the source
            if self._columns is None:
                return
        source.tap = self._tap = _Tap(self, quotes=fmt in ("csv", "tsv"))

    def finish(self) -> None:
        """Take the last record of the source tapped, if its reader stopped before the
        end-of-input read that hands it over."""
        if self._tap is not None:
            self._tap(memoryview(b""))
            self._tap = None

    def lines(self, text: str) -> None:
        """Take whole records of the tapped format."""
        fmt = self.spec.format
        if fmt == "vw":
            self.vw_lines(text)
        elif fmt == "libsvm":
            self.libsvm_lines(text)
        else:
            self.delimited_lines(text)

    # ---- vw ----
    def _namespace(self, ns: str) -> tuple[int, int]:
        """A namespace's key and term mask for crosses (as ``_parse_vw`` computes them)."""
        got = self._ns.get(ns)
        if got is None:
            c = self.crosses
            first = ns.encode("utf-8")[:1] or b" "
            key = first[0] if c is not None and c.letters else self.book.naming.seed(ns)
            mask = 0
            for t, (kind, pat) in enumerate(c.terms if c is not None else ()):
                hit = (kind == K_ANY or (kind == K_LETTER and first == pat.encode()[:1])
                       or (kind == K_GLOB and glob_regex(pat).fullmatch(ns) is not None)
                       or (kind == K_NAME and ns == pat))
                mask |= hit << t
            got = self._ns[ns] = (key, mask)
        return got

    def _vw_record(self, line: str, keys: list, info: list | None) -> None:
        """Append the keys of a vw record to ``keys`` and, for crosses, each one's namespace
        key and term mask to ``info``."""
        bar = line.find("|")
        if bar < 0:
            return
        for seg in line[bar + 1:].split("|"):
            toks = seg.replace("\t", " ").split(" ")
            head = toks[0]
            colon = head.find(":")
            ns = head if colon < 0 else head[:colon]
            scale = 1.0 if colon < 0 else _float(head[colon + 1:])
            if scale is None:
                return
            nsinfo = self._namespace(ns) if info is not None else None
            words = list(filter(None, toks[1:]))
            if scale != 0.0 and not any(":" in w for w in words) and \
                    all(map(str.isprintable, words)):
                # the common case, names alone: their keys made in C
                keys.extend(zip(repeat(ns), words))
                if info is not None:
                    info.extend(repeat(nsinfo, len(words)))
                continue
            anon = 0
            i = 0
            while i < len(words):
                tok = words[i]
                i += 1
                c = tok.find(":")
                name = tok if c < 0 else tok[:c]
                value = scale
                if c >= 0:
                    if c == len(tok) - 1:  # a string value: the next word, unscaled
                        if i < len(words):
                            key = (ns, self._norm(name), self._norm(words[i]))
                            i += 1
                        elif self.strings and name == "":
                            key = (ns, str(anon))
                            anon += 1
                        else:
                            key = (ns, self._norm(name))
                        keys.append(key)
                        if info is not None:
                            info.append(nsinfo)
                        continue
                    v = _float(tok[c + 1:])
                    if v is None:
                        return
                    value = v * scale
                nameless = self.strings and name == ""
                if nameless:
                    anon += 1  # zero values are numbered too
                if value == 0.0:
                    continue
                keys.append((ns, str(anon - 1)) if nameless else (ns, self._norm(name)))
                if info is not None:
                    info.append(nsinfo)

    def vw_lines(self, text: str) -> None:
        """Take whole vw records."""
        lines = [line.rstrip("\r") for line in text.split("\n")
                 if (s := line.strip(" \t\r")) and s[0] != "#"]
        if self.crosses is None:
            keys: list[tuple] = []
            for line in lines:
                self._vw_record(line, keys, None)
            self.book.add(keys)
            return
        records = []
        for line in lines:
            keys, info = [], []
            self._vw_record(line, keys, info)
            records.append([(k, *i) for k, i in zip(keys, info)])
        self.add_crossed(records)

    # ---- libsvm ----
    def libsvm_lines(self, text: str) -> None:
        """Take whole libsvm records: an index is named by its decimal value."""
        keys = []
        for line in text.split("\n"):
            toks = line.split("#", 1)[0].split()
            for tok in toks[1:]:
                idx, _, value = tok.partition(":")
                if not idx.isdigit() or (value and not _float(value)):
                    continue
                keys.append((None, str(int(idx))))
        self.book.add(keys)

    # ---- csv, tsv, criteo ----
    def _column_setup(self, source: Source) -> tuple[tuple[str, ...], list] | None:
        spec = self.spec
        if spec.format == "criteo":
            names = _criteo_names(source)
        else:
            names = spec.columns
            if spec.header:
                found = _find_header(source, _delimiter(spec.format))
                if found is None:
                    return None
                names = names or found[0]
        if names is None:
            return None
        roles = column_roles(tuple(names), spec, source.name).tolist()
        c = self.crosses
        terms = (c.column_terms(names, spec.label_column, spec.ignore_columns, source.name)
                 .tolist() if c is not None else [0] * len(names))
        kinds = {R_CATEGORICAL: "c", R_NUMERIC: "n", R_LOG_BIN: "b"}
        cols = [(f, name, kinds[role], self.book.naming.seed(name), terms[f])
                for f, (name, role) in enumerate(zip(names, roles)) if role in kinds]
        return tuple(names), cols

    def _key(self, col: str, kind: str, v: str) -> tuple | None:
        if kind == "c":
            return (col, self._norm(v)) if v else None
        if kind == "n":
            x = _float(v.strip(" \t")) if v.strip(" \t") else None
            return (col, None) if x else None
        b = _log_bin(v) if v.strip(" \t") else None
        return (col, b) if b is not None else None

    def delimited_lines(self, text: str) -> None:
        """Take whole csv/tsv/criteo records."""
        if self._columns is None:
            return
        names, cols = self._columns
        delim = "," if self.spec.format == "csv" else "\t"
        if '"' in text and self.spec.format != "criteo":
            rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim)
                    if len(r) == len(names)]
        else:
            rows = [r for r in (line.rstrip("\r").split(delim) for line in text.split("\n")
                                if line.strip(_BLANK))
                    if len(r) == len(names)]
        if not rows:
            return
        if self.crosses is not None:
            self.add_crossed([[(k, seed, terms) for f, col, kind, seed, terms in cols
                               if (k := self._key(col, kind, row[f])) is not None]
                              for row in rows])
            return
        by_column = list(zip(*rows))  # transposed in C
        self.add_columns([(col, kind, by_column[f]) for f, col, kind, _, _ in cols])

    def add_columns(self, columns: Sequence[tuple[str, str, Sequence]],
                    rows: Sequence[Sequence[int]] | None = None) -> None:
        """Take records column by column: ``(column, kind, values)`` (``rows[i]``: the row
        of each value of column ``i``, for bags), each distinct value once, in record
        order."""
        found = []
        for i, (col, kind, values) in enumerate(columns):
            if kind == "n" and self.book.knows((col, None)):
                continue  # a numeric column has one name
            at = rows[i] if rows is not None else range(len(values))
            # the first row of each distinct value: a dict built in C, later rows overwritten
            firsts = dict(zip(reversed(values), reversed(at)))
            known = self._raw.setdefault(col, set()) if kind != "n" else set()
            new = firsts.keys() - known  # the values not taken before, in C
            for v in new:
                key = self._key(col, kind, v) if v is not None else None
                if key is not None:
                    found.append((firsts[v], i, key))
            if kind != "n" and self._raw_count < self.book.max_names:
                known |= new
                self._raw_count += len(new)
        found.sort(key=lambda t: (t[0], t[1]))
        self.book.add(k for _, _, k in found)

    def add_crossed(self, records: list[list[tuple]]) -> None:
        """Take records given as their features ``(key, namespace key, term mask)``, and
        their crosses: the products are found by a compiled pass and told apart by their
        fingerprints, so Python sees each distinct cross of a chunk once (and builds a key
        for the new ones only).  Within a chunk, the plain features come first."""
        book = self.book
        book.add(f[0] for feats in records for f in feats)
        ids: dict[tuple, int] = {}
        fid, nskeys, terms, indptr = [], [], [], [0]
        for feats in records:
            for key, nskey, mask in feats:
                fid.append(ids.setdefault(key, len(ids)))
                nskeys.append(nskey)
                terms.append(mask)
            indptr.append(len(fid))
        c = self.crosses
        at = cross_members(np.array(indptr, np.int64), np.array(nskeys, np.int64),
                           np.array(terms, np.uint64), c.groups, c.rules, len(c.terms))
        if not len(at):
            return
        keys = list(ids)
        parts = np.array([fingerprint(k) for k in keys], np.uint64)
        fid_arr = np.array(fid, np.int64)
        members = np.where(at >= 0, fid_arr[at], -1)
        fps = cross_fingerprints(parts, members)
        _, first = np.unique(fps, return_index=True)
        first.sort()

        def key_of(i: int) -> tuple:
            return tuple(keys[m] for m in members[first[i]].tolist() if m >= 0)

        book.add_fingerprints(fps[first], book.naming.cross_coordinates(keys, members[first]),
                              key_of)

    # ---- parquet ----
    def parquet(self, paths: Sequence[str]) -> None:
        """Read the names of Parquet files or folders (their feature columns only)."""
        from ftrl_cli.feature_names_arrow import parquet_names

        if self.active and self.book.recording:
            parquet_names(self, paths)


class _Tap:
    """Cuts the bytes a source hands out into whole records for a NameRecorder."""

    def __init__(self, recorder: NameRecorder, quotes: bool) -> None:
        self.recorder = recorder
        self.quotes = quotes
        self.carry = b""

    def __call__(self, view: memoryview) -> None:
        if not len(view):
            tail, self.carry = self.carry, b""
            if tail:
                self._take(tail)
            return
        data = self.carry + bytes(view)
        cut = self._last_end(data)
        self.carry = data[cut + 1:]
        if cut >= 0:
            self._take(data[:cut + 1])

    def _last_end(self, data: bytes) -> int:
        if not (self.quotes and b'"' in data):
            return data.rfind(b"\n")
        # a newline inside quotes is part of a field: the last one at an even quote count
        last, quotes, i = -1, 0, 0
        while True:
            nl = data.find(b"\n", i)
            if nl < 0:
                return last
            quotes += data.count(b'"', i, nl)
            if quotes % 2 == 0:
                last = nl
            i = nl + 1

    def _take(self, chunk: bytes) -> None:
        rec = self.recorder
        if rec.active and not rec.book.full:
            rec.lines(chunk.decode("utf-8", "replace"))
