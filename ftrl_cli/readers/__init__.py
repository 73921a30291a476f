"""Streaming readers: vw, libsvm, csv, tsv and criteo text, and Parquet, into CSR batches.

``resolve_spec`` turns command-line options into a ``FeatureSpec`` (detecting the format
when not given); ``read_batches`` streams the records of one or more inputs with bounded
memory.  Hashing is described in ``ftrl_cli.hashing``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import numpy as np

from ftrl_cli.errors import FtrlError
from ftrl_cli.hashing import HASH_MODES
from ftrl_cli.readers._parse_driver import CHUNK_BYTES, run_plan
from ftrl_cli.readers._skip import MAX_LINE_BYTES
from ftrl_cli.readers.base import Batch, FeatureSpec, ReadPosition, scored
from ftrl_cli.readers.crosses_spec import build, parse_interactions
from ftrl_cli.readers.delimited import CRITEO_COLUMNS, delimited_plan
from ftrl_cli.readers.detect import FORMATS, detect_format
from ftrl_cli.readers.libsvm import libsvm_plan
from ftrl_cli.readers.parallel import ParallelParser
from ftrl_cli.readers.rejects import ErrorPolicy
from ftrl_cli.readers.source import Source, open_source
from ftrl_cli.readers.vw import vw_plan
from ftrl_cli.termination import check as check_terminated

__all__ = [
    "Batch",
    "CHUNK_BYTES",
    "CRITEO_COLUMNS",
    "ErrorPolicy",
    "FORMATS",
    "MAX_LINE_BYTES",
    "FeatureSpec",
    "ReadPosition",
    "detect_format",
    "read_batches",
    "resolve_spec",
]

_PLANS = {
    "vw": vw_plan,
    "libsvm": libsvm_plan,
    "csv": delimited_plan,
    "tsv": delimited_plan,
    "criteo": delimited_plan,
}
MAX_HASH_BITS = 32


def _names(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    return tuple(v.strip() for v in value if v.strip())


def _check_parquet_inputs(paths: Sequence[str], cols: tuple[str, ...] | None,
                          header: bool) -> None:
    if "-" in paths:
        raise FtrlError("parquet input is read from files, not from stdin")
    if cols is not None or not header:
        raise FtrlError("--columns and --no-header do not apply to parquet input: "
                        "its columns are named")


def resolve_spec(
    paths: Sequence[str],
    *,
    format: str | None = None,
    hash_bits: int = 22,
    hash_mode: str = "strings",
    header: bool = True,
    columns: str | Sequence[str] | None = None,
    label_column: str = "label",
    ignore_columns: str | Sequence[str] = (),
    numeric_columns: str | Sequence[str] = (),
    interactions: str | Sequence[str] | None = None,
    vw_interactions: Sequence[str] = (),
) -> FeatureSpec:
    """Check the options and build the FeatureSpec; the format is detected if None.

    Column lists may be sequences or comma-separated strings.  ``hash_mode`` defaults to
    ``strings``, the mode of new models (see ``ftrl_cli.hashing``).  ``interactions`` are
    ``--interactions`` groups (``"C1:C2,C*:C*"``), ``vw_interactions`` Vowpal Wabbit's
    ``-q``/``--cubic`` letters (see ``ftrl_cli.readers.crosses_spec``).

    >>> import tempfile
    >>> p = tempfile.mktemp(suffix=".csv"); _ = open(p, "w").write("x,label\\na,1\\n")
    >>> resolve_spec([p], hash_bits=18, numeric_columns="x").numeric_columns
    ('x',)
    """
    if not paths:
        raise FtrlError("no input files")
    cols = _names(columns)
    ignore = _names(ignore_columns) or ()
    numeric = _names(numeric_columns) or ()
    column_options = bool(cols or ignore or numeric or not header or label_column != "label")
    if format is None:
        found = {detect_format(p) for p in paths} - {None}
        if len(found) > 1:
            raise FtrlError(f"inputs have different formats ({', '.join(sorted(found))})")
        # None: only empty stdin, which yields no records in any format the options allow
        format = found.pop() if found else "csv" if column_options else "vw"
    if format not in FORMATS:
        raise FtrlError(f"unknown format '{format}' (choose from {', '.join(FORMATS)})")
    if not 1 <= hash_bits <= MAX_HASH_BITS:
        raise FtrlError(f"--hash-bits must be between 1 and {MAX_HASH_BITS}, got {hash_bits}")
    if hash_mode not in HASH_MODES:
        raise FtrlError(f"unknown hash mode '{hash_mode}' (choose from {', '.join(HASH_MODES)})")
    delimited = format in ("csv", "tsv", "criteo")
    if not delimited and column_options and format != "parquet":
        raise FtrlError(
            "--columns, --no-header, --label-column, --ignore-columns and --numeric-columns "
            "only apply to csv, tsv, criteo and parquet inputs"
        )
    if format == "parquet":
        _check_parquet_inputs(paths, cols, header)
    else:
        folders = [p for p in paths if p != "-" and os.path.isdir(p)]
        if folders:
            raise FtrlError(f"{folders[0]}: a folder is read as a Parquet dataset only")
    if format == "criteo":
        if cols is not None or label_column != "label":
            raise FtrlError("criteo inputs have fixed columns: label, I1..I13, C1..C26")
        header = False
    elif delimited and not header and not cols:
        raise FtrlError("--no-header needs --columns to name the columns")
    if label_column in ignore or label_column in numeric:
        raise FtrlError(f"the label column '{label_column}' cannot be ignored or numeric")
    if set(ignore) & set(numeric):
        both = ", ".join(sorted(set(ignore) & set(numeric)))
        raise FtrlError(f"column(s) {both} both ignored and numeric")
    if cols is not None:
        wanted = [c for c in (*ignore, *numeric) if c not in cols]
        if wanted:
            raise FtrlError(f"column(s) {', '.join(wanted)} not in --columns")
    groups = parse_interactions(interactions)
    letters = tuple(vw_interactions)
    if groups and format == "libsvm":
        raise FtrlError("--interactions: libsvm input has no namespaces or columns to cross")
    if letters and format != "vw":
        raise FtrlError("-q/--cubic apply to vw input; use --interactions for "
                        f"{format} columns")
    crosses = build(groups, letters)  # refuses mixed spellings and too many names
    if crosses is not None and format == "criteo":  # fixed columns: checked before reading
        crosses.column_terms(CRITEO_COLUMNS, label_column, ignore, paths[0])
    return FeatureSpec(
        format=format,
        hash_bits=hash_bits,
        hash_mode=hash_mode,
        header=header,
        columns=cols,
        label_column=label_column,
        ignore_columns=ignore,
        numeric_columns=numeric,
        interactions=groups,
        vw_interactions=letters,
    )


def read_batches(
    paths: Sequence[str],
    spec: FeatureSpec,
    batch_rows: int = 65536,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    workers: int = 1,
    score: Callable[[Batch], np.ndarray] | None = None,
    start: ReadPosition | None = None,
    stop: int | None = None,
    errors: ErrorPolicy | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    on_open: Callable[[Source], None] | None = None,
    key_column: str | None = None,
) -> Iterator[Batch]:
    """Stream the records of ``paths`` (``-`` is stdin) one source after another.

    ``start`` resumes where an earlier read stood (a Batch's ``end``): the inputs before it
    are passed over, and its input is read from its offset (a csv header still from the
    file's start) with line numbers going on from there.  ``stop`` ends that input (the
    first one without ``start``) at a byte offset, a line start: together they read one
    byte range of a plain file (``ftrl_cli.distributed`` splits large files so).

    A malformed record raises ``InputError`` naming its file and line, once every record
    before it has been yielded (so a stream's predictions up to it get written).  A line of
    more than ``max_line_bytes`` bytes is a malformed record.  With ``errors`` set to skip,
    malformed records are cut out instead and handed on in ``Batch.skipped``, and the
    policy counts them as the Batches come out (see ``ftrl_cli.readers.rejects``).
    ``chunk_bytes`` is how much is read at a time (at most ``max_line_bytes + 1``).

    With ``workers=1`` every Batch has ``batch_rows`` records except the last one of each
    source, and memory use is about ``chunk_bytes`` plus one batch.  With ``workers >= 2``
    blocks of about ``chunk_bytes`` whole lines are parsed by that many threads (see
    ``ftrl_cli.readers.parallel``): the records, line numbers and errors are the same, in
    the same order, but a Batch also ends at each block's end, so Batches may have fewer
    than ``batch_rows`` records; memory use is about ``2 * workers`` blocks and their
    Batches.  csv/tsv inputs fall back to one thread from the first ``"`` on.  stdin is read
    by one thread, and its records are handed on whenever the stream has no more bytes
    waiting (a live stream is scored as it arrives).

    ``score``, if given, is called on each Batch by the thread that parsed it (so with
    ``workers >= 2`` scoring runs on the parse workers, beside the parsing) and its result
    is put in ``Batch.scores``.  It sees the records and their features; on a worker,
    ``Batch.lines`` are still counted from the block's start.  ``on_open`` is called with
    each source as it is opened (its ``bytes_read`` tells how far reading has got).

    Parquet files and folders are read by ``ftrl_cli.readers.parquet`` (Arrow's threads
    decode a file's row groups, the kernels hash on the calling thread); ``Batch.lines``
    are row numbers there, and ``key_column`` names a column copied into each Batch's
    ``key``.

    >>> import tempfile
    >>> p = tempfile.mktemp(suffix=".vw"); _ = open(p, "w").write("1 |u a b\\n-1 |u c\\n")
    >>> [b.labels.tolist() for b in read_batches([p], FeatureSpec("vw", hash_bits=10))]
    [[1.0, 0.0]]
    >>> [b.lines.tolist() for b in read_batches([p], FeatureSpec("vw", hash_bits=10), workers=2)]
    [[1, 2]]
    >>> p = tempfile.mktemp(suffix=".vw"); _ = open(p, "w").write("1 |u a\\nx |u b\\n0 |u\\n")
    >>> policy = ErrorPolicy(skip=True)
    >>> [(b.lines.tolist(), [(i, str(r)) for i, r in b.skipped])
    ...  for b in read_batches([p], FeatureSpec("vw", hash_bits=10), errors=policy)]
    [([1, 3], [(1, "...:2: bad label 'x' (expected 1, 0 or -1)")])]
    >>> policy.skipped
    1
    """
    if spec.format == "parquet":
        # pyarrow's dataset and compute modules take 0.1 s to import: only when needed
        from ftrl_cli.readers.parquet import parquet_batches

        for path in paths:
            yield from _until_terminated(
                scored(parquet_batches(path, spec, batch_rows, key_column), score))
        check_terminated()
        return
    if spec.format not in _PLANS:
        raise FtrlError(f"unknown format '{spec.format}'")
    if not 1 <= spec.hash_bits <= MAX_HASH_BITS:
        raise FtrlError(f"hash_bits must be between 1 and {MAX_HASH_BITS}")
    if batch_rows < 1 or chunk_bytes < 1:
        raise ValueError("batch_rows and chunk_bytes must be positive")
    if workers < 1:
        raise ValueError("workers must be positive")
    if max_line_bytes < 1:
        raise ValueError("max_line_bytes must be positive")
    skip = errors is not None and errors.skip
    batches = _read(paths, spec, batch_rows, chunk_bytes, workers, score, skip, max_line_bytes,
                    start, on_open, stop)
    yield from _until_terminated(errors.watch(batches) if skip else batches)
    check_terminated()


def _until_terminated(batches: Iterator[Batch]) -> Iterator[Batch]:
    # A SIGTERM whose exception some library swallowed still stops the run here, before a
    # command writes outputs from an input it did not finish (ftrl_cli.termination).
    for batch in batches:
        check_terminated()
        yield batch


def _read(paths: Sequence[str], spec: FeatureSpec, batch_rows: int, chunk_bytes: int,
          workers: int, score: Callable[[Batch], np.ndarray] | None, skip: bool,
          max_line_bytes: int, start: ReadPosition | None,
          on_open: Callable[[Source], None] | None, stop: int | None = None) -> Iterator[Batch]:
    chunk_bytes = min(chunk_bytes, max_line_bytes + 1)
    parser = ParallelParser(workers, score, skip) if workers > 1 else None
    try:
        for i, path in enumerate(paths):
            if start is not None and i < start.input:
                continue
            source = open_source(path)
            if on_open is not None:
                on_open(source)
            try:
                plan = _PLANS[spec.format](source, spec)
                if plan is not None and spec.numeric_labels:
                    plan = replace(plan, numeric_labels=True)
                if plan is not None and start is not None and i == start.input:
                    source.skip_to(start.offset)
                    plan = replace(plan, start_line=start.line)
                if plan is not None and stop is not None and i == (start.input if start else 0):
                    source.stop_at(stop)
                if plan is None:
                    continue
                if path == "-":
                    # stdin may be a live stream: one thread, batches cut when it runs dry.
                    batches = scored(run_plan(source, plan, spec.hash_bits, batch_rows,
                                              chunk_bytes, ready=source.ready,
                                              offset=source.tell(), skip=skip,
                                              max_line_bytes=max_line_bytes), score)
                elif parser is None:
                    batches = scored(run_plan(source, plan, spec.hash_bits, batch_rows,
                                              chunk_bytes, offset=source.tell(), skip=skip,
                                              max_line_bytes=max_line_bytes), score)
                else:
                    quoting = spec.format in ("csv", "tsv")
                    batches = parser.run(source, plan, spec.hash_bits, batch_rows, chunk_bytes,
                                         quotes_span_lines=quoting, offset=source.tell(),
                                         max_line_bytes=max_line_bytes)
                for batch in batches:
                    if batch.end is not None:
                        batch.end = batch.end._replace(input=i)
                    yield batch
            finally:
                if path != "-":
                    source.close()
    finally:
        if parser is not None:
            parser.close()
