"""One Parquet record batch as a Batch: its columns hashed as csv would hash their text.

A batch without list columns goes through a row-major table (a row per record, a column per
feature column: ``arrow_columns.category_into`` writes each column's hashes straight into
its column) that ``_parse_arrow.compact_rows`` compacts into CSR rows; one with a list
column (a bag) through ``_parse_arrow.merge_rows``.  The plan (columns, roles, seeds) is
``ftrl_cli.readers.parquet.ParquetPlan``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ftrl_cli.errors import InputError
from ftrl_cli.readers import _parse_common as pc
from ftrl_cli.readers._parse_arrow import compact_rows, merge_rows
from ftrl_cli.readers._parse_delimited import R_IGNORE, R_LABEL, R_NUMERIC
from ftrl_cli.readers._parse_driver import index_dtype
from ftrl_cli.readers.arrow_columns import (
    DictionaryMemo,
    category_elements,
    category_into,
    label_values,
    numeric_values,
)
from ftrl_cli.readers.base import Batch, FeatureSpec
from ftrl_cli.readers.crossing import add_crosses
from ftrl_cli.readers.delimited import describe_error

if TYPE_CHECKING:
    from ftrl_cli.readers.parquet import ParquetPlan


def _bad(source: str, row: int, plan: ParquetPlan, code: int, name: str,
         text: str) -> InputError:
    return InputError(source, row, describe_error(plan.names, code, text,
                                                   plan.names.index(name)))


def record_batch(rb: pa.RecordBatch, plan: ParquetPlan, spec: FeatureSpec, source: str,
                 first_row: int, memos: list[DictionaryMemo] | None = None) -> Batch:
    """One record batch as a Batch: the features of its columns in the dataset's order.

    ``memos`` (one per column of ``plan.read``) keep dictionary hashes between the batches
    of one input.
    """
    n = rb.num_rows
    labels = np.full(n, np.nan)
    width = sum(1 for r in plan.roles.tolist() if r not in (R_IGNORE, R_LABEL))
    numeric = sum(1 for r in plan.roles.tolist() if r == R_NUMERIC)
    table = None
    parts = []
    if not plan.bags:  # a row-major table: one row per record, one column per feature column
        table = (np.empty((n, width), np.uint32), np.empty((n, width), np.uint8),
                 np.empty((n, numeric), np.float64))
    keys, terms, slots = [], [], []
    for j, name in enumerate(plan.read):
        k = plan.names.index(name)
        role = int(plan.roles[k])
        arr = rb.column(name)
        if role == R_LABEL:
            labels, bad = label_values(arr, spec.numeric_labels)
            if bad is not None:
                code = pc.E_NUMBER_LABEL if spec.numeric_labels else pc.E_LABEL
                raise _bad(source, first_row + bad[0], plan, code, name, bad[1])
            continue
        c = len(keys)
        slots.append(-1)
        if role == R_NUMERIC:
            column, bad = numeric_values(arr)
            if bad is not None:
                raise _bad(source, first_row + bad[0], plan, pc.E_VALUE, name, bad[1])
            coordinate = np.uint32(plan.numeric[k])
            if table is not None:
                slots[-1] = s = sum(1 for x in slots if x >= 0)
                table[0][:, c] = coordinate
                table[1][:, c] = column != 0.0
                table[2][:, s] = column
            else:
                parts.append((np.full(n, coordinate, np.uint32), column, None))
        elif table is not None:
            category_into(arr, int(plan.seeds[k]), plan.strings, table[0][:, c],
                          table[1][:, c], memos[j] if memos is not None else None)
        else:
            parts.append(category_elements(arr, int(plan.seeds[k]), plan.strings))
        keys.append(plan.seeds[k])
        terms.append(plan.col_terms[k])
    seeds, col_terms = np.array(keys, np.int64), np.array(terms, np.uint64)
    if table is not None:
        indptr, indices, data, meta = _outputs(n, n * width, plan, spec)
        nnz = compact_rows(*table, np.array(slots, np.int64), seeds, col_terms,
                           spec.n_features - 1, plan.cross, indptr, indices, data, *meta)
        return _batch(indptr, indices[:nnz], data[:nnz], meta, labels, plan, spec, source,
                      first_row, rb)
    return _merge(parts, seeds, col_terms, labels, plan, spec, source, first_row, rb)


def _batch(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, meta: tuple,
           labels: np.ndarray, plan: ParquetPlan, spec: FeatureSpec, source: str,
           first_row: int, rb: pa.RecordBatch) -> Batch:
    """The Batch of CSR rows (their crosses added) of record batch ``rb``."""
    n = rb.num_rows
    mask = spec.n_features - 1
    if plan.crosses is not None:
        nnz = len(indices)
        out_h, out_k, out_t = meta
        indptr, indices, data = add_crosses(plan.crosses, indptr, indices, data, out_h[:nnz],
                                            out_k[:nnz], out_t[:nnz], mask)
    batch = Batch(indptr, indices, data, spec.n_features, labels, np.ones(n),
                  np.arange(first_row, first_row + n, dtype=np.int64), source)
    if plan.key_column is not None:
        batch.key = rb.column(plan.key_column)  # never read as a dictionary: as the schema says
    return batch


def _outputs(n: int, total: int, plan: ParquetPlan, spec: FeatureSpec) -> tuple:
    """``indptr``, ``indices``, ``data`` for ``n`` rows of at most ``total`` features, and
    the arrays crosses need (of one element when there are none)."""
    idx_dtype = index_dtype(n, spec.hash_bits)
    meta = total if plan.cross else 1
    return (np.empty(n + 1, idx_dtype), np.empty(total, idx_dtype), np.empty(total, np.float64),
            (np.empty(meta, np.uint32), np.empty(meta, np.uint32), np.empty(meta, np.uint64)))


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
    indptr, indices, data, meta = _outputs(n, len(values), plan, spec)
    nnz = merge_rows(base, bag, ptrs, hashes, values, seeds, col_terms, spec.n_features - 1,
                     plan.cross, indptr, indices, data, *meta)
    return _batch(indptr, indices[:nnz], data[:nnz], meta, labels, plan, spec, source,
                  first_row, rb)
