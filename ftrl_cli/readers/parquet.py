"""Parquet input: a file, or a folder of them (a dataset, hive-partitioned folders too).

Columns have the roles of csv columns (``--label-column``, ``--ignore-columns``,
``--numeric-columns``, every other column categorical; partition columns such as
``day=2024-01-02`` are ordinary columns), and a value is hashed as the text pyarrow's csv
writer writes for it (see ``ftrl_cli.readers.arrow_columns``), so one table written as csv
and as Parquet trains the same model.  Ignored columns are never read.  Files are read one
after another (a folder's in the order of their paths), record batch by record batch, in
memory bounded by a row group; a record's number in messages and ``Batch.lines`` is its
1-based row within its file.

A file is read with ``pyarrow.parquet`` alone (a folder needs ``pyarrow.dataset``, which
takes a few tenths of a second to import, pandas with it when installed, to find its files
and their partition values; each file is then read as a lone file): row group by row
group, its columns decoded by Arrow's threads, the string columns that the file stores
dictionary-encoded (pyarrow and Spark write them so by default) read as dictionaries, whose
entries are hashed once per row group (``arrow_columns.DictionaryMemo``) and gathered by
code.  Every column's hashes go straight into a row-major table that one kernel compacts
into the CSR rows (``ftrl_cli.readers.arrow_batch``); the rows come out in Batches of at
most ``MAX_BATCH_ROWS``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ftrl_cli.errors import FtrlError, InputError, RowSource
from ftrl_cli.readers._parse_delimited import R_IGNORE, R_LABEL, R_NUMERIC
from ftrl_cli.readers.arrow_batch import record_batch
from ftrl_cli.readers.arrow_columns import (
    DictionaryMemo,
    categorical_problem,
    label_problem,
    numeric_problem,
)
from ftrl_cli.readers.base import Batch, FeatureSpec
from ftrl_cli.readers.crosses_spec import Crosses
from ftrl_cli.readers.crossing import column_params, spec_crosses
from ftrl_cli.readers.delimited import column_hashes, column_roles

if TYPE_CHECKING:
    import pyarrow.dataset as pds

_ARROW_ERRORS = (pa.ArrowException, OSError)
# rows per record batch at most: a batch's element arrays take about 30 bytes per value,
# and the commands keep a few batches in flight (bench, 500k rows of 39 columns: 65,536-row
# batches peaked at 770 MB, against 430 MB for the same rows as TSV)
MAX_BATCH_ROWS = 16384
# rows decoded and hashed at a time (cut into Batches of MAX_BATCH_ROWS): fewer, larger
# calls into Arrow and the kernels, and a row group's dictionary hashed once, not per batch
DECODE_ROWS = 65536


def open_dataset(path: str) -> pds.Dataset:
    """The Parquet file or folder ``path`` as a pyarrow dataset (hive partitions read)."""
    import pyarrow.dataset as pds

    try:
        if os.path.isdir(path):
            return pds.dataset(path, format="parquet", partitioning="hive")
        return pds.dataset(path, format="parquet")
    except _ARROW_ERRORS as e:
        raise FtrlError(f"{path}: cannot read as Parquet ({_first_line(e)})") from None


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def parquet_names(path: str) -> tuple[str, ...]:
    """The column names of a Parquet file or dataset, partition columns last.

    >>> import tempfile, pyarrow.parquet as pq
    >>> p = tempfile.mktemp(suffix=".parquet"); pq.write_table(pa.table({"a": [1]}), p)
    >>> parquet_names(p)
    ('a',)
    """
    return tuple(parquet_schema(path).names)


def parquet_schema(path: str) -> pa.Schema:
    """The schema of a Parquet file (from its footer alone) or folder (its dataset's)."""
    if os.path.isdir(path):
        return open_dataset(path).schema
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except _ARROW_ERRORS as e:
        raise FtrlError(f"{path}: cannot read as Parquet ({_first_line(e)})") from None


@dataclass(frozen=True)
class ParquetPlan:
    """What to read of a dataset and how: the columns read, their roles and hash seeds."""

    read: tuple[str, ...]  # label and feature columns, in the dataset's order
    names: tuple[str, ...]  # every column of the dataset, for messages
    roles: np.ndarray
    seeds: np.ndarray
    numeric: np.ndarray  # full hash of each column's numeric coordinate
    cross: bool
    col_terms: np.ndarray
    crosses: Crosses | None
    strings: bool
    key_column: str | None
    bags: bool = False  # a feature column is a list: batches take the general way
    text: tuple[str, ...] = ()  # the categorical string columns, read as dictionaries


def parquet_plan(dataset: pds.Dataset | pa.Schema, spec: FeatureSpec, source: str,
                 key_column: str | None = None) -> ParquetPlan:
    """Check the columns' roles and types (of ``dataset`` or a schema) before any row is
    read."""
    schema = dataset if isinstance(dataset, pa.Schema) else dataset.schema
    names = tuple(schema.names)
    roles = column_roles(names, spec, source)
    for name, role in zip(names, roles.tolist()):
        if role == R_IGNORE:
            continue
        t = schema.field(name).type
        check = {R_LABEL: label_problem, R_NUMERIC: numeric_problem}.get(role,
                                                                          categorical_problem)
        problem = check(t)
        if problem:
            kind = {R_LABEL: "label", R_NUMERIC: "numeric"}.get(role, "categorical")
            hint = " (--ignore-columns skips it)" if kind == "categorical" else ""
            raise FtrlError(f"{source}: column '{name}' cannot be read as {kind}: "
                            f"{problem}{hint}")
    if key_column is not None and key_column not in names:
        raise FtrlError(f"{source}: no key column '{key_column}' in the columns")
    keep = roles != R_IGNORE
    mode = spec.hash_mode
    seeds, numeric = column_hashes(names, mode)
    crosses = spec_crosses(spec)
    cross, col_terms = column_params(crosses, names, spec, source)
    categorical = [(n, schema.field(n).type) for n, r in zip(names, roles.tolist())
                   if r not in (R_IGNORE, R_LABEL, R_NUMERIC)]
    return ParquetPlan(
        read=tuple(n for n, k in zip(names, keep) if k),
        names=names,
        roles=roles,
        seeds=seeds,
        numeric=numeric,
        cross=cross,
        col_terms=col_terms,
        crosses=crosses,
        strings=mode == "strings",
        key_column=key_column,
        bags=any(_is_list(t) for _, t in categorical),
        text=tuple(n for n, t in categorical if pa.types.is_string(t)
                   or pa.types.is_large_string(t) or pa.types.is_binary(t)),
    )


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def _fragments(dataset: pds.Dataset) -> list[pds.Fragment]:
    return sorted(dataset.get_fragments(), key=lambda f: f.path)


def parquet_batches(path: str, spec: FeatureSpec, batch_rows: int,
                    key_column: str | None = None) -> Iterator[Batch]:
    """Stream the records of the Parquet file or folder ``path`` as Batches of at most
    ``batch_rows`` (and ``MAX_BATCH_ROWS``) records; with ``key_column`` each Batch's
    ``key`` holds that column.

    >>> import tempfile, pyarrow.parquet as pq
    >>> p = tempfile.mktemp(suffix=".parquet")
    >>> pq.write_table(pa.table({"label": [1, 0], "site": ["a", None]}), p)
    >>> [(b.labels.tolist(), np.diff(b.indptr).tolist()) for b in
    ...  parquet_batches(p, FeatureSpec("parquet", hash_bits=10), 100)]
    [([1.0, 0.0], [1, 0])]
    """
    folder = os.path.isdir(path)
    dataset = open_dataset(path) if folder else None
    schema = dataset.schema if folder else parquet_schema(path)
    plan = parquet_plan(schema, spec, path, key_column)
    columns = list(plan.read)
    if key_column is not None and key_column not in columns:
        columns.append(key_column)
    rows = min(batch_rows, MAX_BATCH_ROWS)
    memos = [DictionaryMemo() for _ in plan.read]
    sources = [(path, None)] if not folder else [(f.path, f) for f in _fragments(dataset)]
    for name, fragment in sources:
        source = RowSource(name)
        row = 1
        try:
            if fragment is None:
                batches = _file_batches(path, columns, plan)
            else:
                batches = _fragment_batches(fragment, schema, columns, plan)
            for rb in batches:
                if rb.num_rows:
                    yield from _records(rb, plan, spec, source, row, memos, rows)
                    row += rb.num_rows
        except _ARROW_ERRORS as e:
            raise FtrlError(f"{source}: cannot read as Parquet ({_first_line(e)})") from None


def _records(rb: pa.RecordBatch, plan: ParquetPlan, spec: FeatureSpec, source: RowSource,
             first_row: int, memos: list[DictionaryMemo], rows: int) -> Iterator[Batch]:
    """The Batches of at most ``rows`` records of ``rb``; at a bad record, those before it,
    then its error."""
    try:
        batch = record_batch(rb, plan, spec, source, first_row, memos)
    except InputError as e:
        good = e.line - first_row
        if good > 0:
            yield from _pieces(record_batch(rb.slice(0, good), plan, spec, source, first_row,
                                            memos), rows)
        raise
    yield from _pieces(batch, rows)


def _pieces(batch: Batch, rows: int) -> Iterator[Batch]:
    """``batch`` cut into Batches of at most ``rows`` records (views of its arrays)."""
    n = len(batch)
    if n <= rows:
        yield batch
        return
    for s in range(0, n, rows):
        e = min(s + rows, n)
        lo, hi = int(batch.indptr[s]), int(batch.indptr[e])
        piece = Batch(batch.indptr[s : e + 1] - batch.indptr[s], batch.indices[lo:hi],
                      batch.data[lo:hi], batch.n_features, batch.labels[s:e],
                      batch.weights[s:e], batch.lines[s:e], batch.source)
        if batch.key is not None:
            piece.key = batch.key.slice(s, e - s)
        yield piece


def _fragment_batches(fragment: pds.ParquetFileFragment, schema: pa.Schema, columns: list[str],
                      plan: ParquetPlan) -> Iterator[pa.RecordBatch]:
    """The record batches of one file of a folder (``columns`` of the dataset's ``schema``).

    A file whose own columns are the dataset's (names and types) is read as a lone file
    (``_file_batches``), its partition values added as constant columns (dictionary-encoded,
    so a value is hashed once); any other goes through Arrow's scanner, which fills and
    casts what differs.
    """
    import pyarrow.dataset as pds

    keys = pds.get_partition_keys(fragment.partition_expression)
    physical = fragment.physical_schema
    own = [c for c in columns if c not in keys]
    if all(physical.get_field_index(c) >= 0 and physical.field(c).type == schema.field(c).type
           for c in own) and not any(physical.get_field_index(c) >= 0 for c in keys):
        for rb in _file_batches(fragment.path, own, plan):
            arrays = [rb.column(c) if c in own else
                      _constant(keys[c], schema.field(c).type, rb.num_rows,
                                c == plan.key_column) for c in columns]
            yield pa.RecordBatch.from_arrays(arrays, names=columns)
        return
    # on this thread, no read-ahead, no pre-buffering: Arrow's scan threads decode row
    # groups ahead of the consumer without bound (the whole file, when training is
    # slower), and pre-buffering holds many row groups' raw bytes at once
    yield from fragment.to_batches(
        schema=schema, columns=columns, batch_size=DECODE_ROWS, batch_readahead=0,
        fragment_readahead=0, use_threads=False,
        fragment_scan_options=pds.ParquetFragmentScanOptions(pre_buffer=False))


def _constant(value: object, t: pa.DataType, n: int, plain: bool) -> pa.Array:
    """``n`` times ``value`` (a partition's), of type ``t``: dictionary-encoded unless
    ``plain`` (a key column keeps the dataset's type)."""
    if value is None:
        return pa.nulls(n, t)
    if plain:
        return pa.array([value] * n, t)
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value], t))


def _file_batches(path: str, columns: list[str], plan: ParquetPlan) -> Iterator[pa.RecordBatch]:
    """The record batches of one Parquet file, a row group at a time.

    Its columns are decoded in Arrow's threads and each row group's column chunks are
    fetched in one go (pre-buffered), one row group only: memory stays a row group's
    whatever the file's size.  A string column stored dictionary-encoded (in the first row
    group) is read as a dictionary: its codes are decoded, not its strings.
    """
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    first = meta.row_group(0) if meta.num_row_groups else None
    coded = set()
    if first is not None:
        for i in range(first.num_columns):
            chunk = first.column(i)
            if chunk.has_dictionary_page:
                coded.add(chunk.path_in_schema)
    dictionaries = [c for c in plan.text if c in coded and c != plan.key_column]
    f = pq.ParquetFile(path, read_dictionary=dictionaries, pre_buffer=True, metadata=meta)
    for group in range(meta.num_row_groups):
        yield from f.iter_batches(batch_size=DECODE_ROWS, row_groups=[group], columns=columns,
                                  use_threads=True)
