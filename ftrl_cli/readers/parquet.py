"""Parquet input: a file, or a folder of them (a dataset, hive-partitioned folders too).

Columns have the roles of csv columns (``--label-column``, ``--ignore-columns``,
``--numeric-columns``, every other column categorical; partition columns such as
``day=2024-01-02`` are ordinary columns), and a value is hashed as the text pyarrow's csv
writer writes for it (see ``ftrl_cli.readers.arrow_columns``), so one table written as csv
and as Parquet trains the same model.  Ignored columns are never read.  Files are read one
after another (a folder's in the order of their paths), record batch by record batch, in
memory bounded by a row group; a record's number in messages and ``Batch.lines`` is its
1-based row within its file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pds

from ftrl_cli.errors import FtrlError, InputError, RowSource
from ftrl_cli.readers import _parse_common as pc
from ftrl_cli.readers._parse_arrow import merge_rows
from ftrl_cli.readers._parse_delimited import R_IGNORE, R_LABEL, R_NUMERIC
from ftrl_cli.readers._parse_driver import index_dtype
from ftrl_cli.readers.arrow_columns import (
    categorical_problem,
    category_elements,
    label_problem,
    label_values,
    numeric_problem,
    numeric_values,
)
from ftrl_cli.readers.base import Batch, FeatureSpec
from ftrl_cli.readers.crosses_spec import Crosses
from ftrl_cli.readers.crossing import add_crosses, column_params, spec_crosses
from ftrl_cli.readers.delimited import column_hashes, column_roles, describe_error

_ARROW_ERRORS = (pa.ArrowException, OSError)
_SCAN = pds.ParquetFragmentScanOptions(pre_buffer=False)
# rows per record batch at most: a batch's element arrays take about 30 bytes per value,
# and the commands keep a few batches in flight (bench, 500k rows of 39 columns: 65,536-row
# batches peaked at 770 MB, against 430 MB for the same rows as TSV)
MAX_BATCH_ROWS = 16384


def open_dataset(path: str) -> pds.Dataset:
    """The Parquet file or folder ``path`` as a pyarrow dataset (hive partitions read)."""
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
    return tuple(open_dataset(path).schema.names)


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


def parquet_plan(dataset: pds.Dataset, spec: FeatureSpec, source: str,
                 key_column: str | None = None) -> ParquetPlan:
    """Check the columns' roles and types before any row is read."""
    schema = dataset.schema
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
    )


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
    dataset = open_dataset(path)
    plan = parquet_plan(dataset, spec, path, key_column)
    columns = list(plan.read)
    if key_column is not None and key_column not in columns:
        columns.append(key_column)
    single = not os.path.isdir(path)
    for fragment in _fragments(dataset):
        source = RowSource(path if single else fragment.path)
        row = 1
        try:
            # on this thread, no read-ahead, no pre-buffering: Arrow's scan threads decode
            # row groups ahead of the consumer without bound (the whole file, when training
            # is slower), and pre-buffering holds many row groups' raw bytes at once
            batches = fragment.to_batches(schema=dataset.schema, columns=columns,
                                          batch_size=min(batch_rows, MAX_BATCH_ROWS),
                                          batch_readahead=0,
                                          fragment_readahead=0, use_threads=False,
                                          fragment_scan_options=_SCAN)
            for rb in batches:
                if rb.num_rows:
                    yield record_batch(rb, plan, spec, source, row)
                    row += rb.num_rows
        except _ARROW_ERRORS as e:
            raise FtrlError(f"{source}: cannot read as Parquet ({_first_line(e)})") from None


def _bad(source: str, row: int, plan: ParquetPlan, code: int, name: str,
         text: str) -> InputError:
    return InputError(source, row, describe_error(plan.names, code, text,
                                                   plan.names.index(name)))


def record_batch(rb: pa.RecordBatch, plan: ParquetPlan, spec: FeatureSpec, source: str,
                 first_row: int) -> Batch:
    """One record batch as a Batch: the features of its columns in the dataset's order."""
    n = rb.num_rows
    labels = np.full(n, np.nan)
    parts = []
    keys, terms = [], []
    for name in plan.read:
        k = plan.names.index(name)
        role = int(plan.roles[k])
        arr = rb.column(name)
        if role == R_LABEL:
            labels, bad = label_values(arr, spec.numeric_labels)
            if bad is not None:
                code = pc.E_NUMBER_LABEL if spec.numeric_labels else pc.E_LABEL
                raise _bad(source, first_row + bad[0], plan, code, name, bad[1])
            continue
        if role == R_NUMERIC:
            values, bad = numeric_values(arr)
            if bad is not None:
                raise _bad(source, first_row + bad[0], plan, pc.E_VALUE, name, bad[1])
            parts.append((np.full(n, np.uint32(plan.numeric[k]), np.uint32), values, None))
        else:
            parts.append(category_elements(arr, int(plan.seeds[k]), plan.strings))
        keys.append(plan.seeds[k])
        terms.append(plan.col_terms[k])
    return _merge(parts, np.array(keys, np.int64), np.array(terms, np.uint64), labels, plan,
                  spec, source, first_row, rb)


def _merge(parts: list, seeds: np.ndarray, col_terms: np.ndarray, labels: np.ndarray,
           plan: ParquetPlan, spec: FeatureSpec, source: str, first_row: int,
           rb: pa.RecordBatch) -> Batch:
    n = rb.num_rows
    sizes = [len(p[0]) for p in parts]
    base = np.cumsum([0, *sizes])[:-1].astype(np.int64)
    bags = [p[2] for p in parts if p[2] is not None]
    bag = np.cumsum([p[2] is not None for p in parts], dtype=np.int64) - 1
    bag[[p[2] is None for p in parts]] = -1
    ptrs = np.stack(bags) if bags else np.zeros((0, n + 1), np.int64)
    hashes = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.uint32)
    values = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    total = len(values)
    idx_dtype = index_dtype(n, spec.hash_bits)
    indptr = np.empty(n + 1, idx_dtype)
    indices = np.empty(total, idx_dtype)
    data = np.empty(total, np.float64)
    meta = total if plan.cross else 1
    out_h, out_k, out_t = np.empty(meta, np.uint32), np.empty(meta, np.uint32), \
        np.empty(meta, np.uint64)
    mask = spec.n_features - 1
    nnz = merge_rows(base, bag, ptrs, hashes, values, seeds, col_terms, mask, plan.cross,
                     indptr, indices, data, out_h, out_k, out_t)
    indices, data = indices[:nnz], data[:nnz]
    if plan.crosses is not None:
        indptr, indices, data = add_crosses(plan.crosses, indptr, indices, data, out_h[:nnz],
                                            out_k[:nnz], out_t[:nnz], mask)
    batch = Batch(indptr, indices, data, spec.n_features, labels, np.ones(n),
                  np.arange(first_row, first_row + n, dtype=np.int64), source)
    if plan.key_column is not None:
        batch.key = rb.column(plan.key_column)
    return batch
