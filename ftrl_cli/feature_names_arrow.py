"""Feature names of Parquet inputs: each value named by the csv text it is hashed as
(``readers.arrow_columns``), ``column=text``; a numeric column by its name.

Imported only for Parquet input with ``--feature-names`` (pyarrow's compute layer is slow to
import).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pac

from ftrl_cli.readers._parse_delimited import R_LABEL, R_LOG_BIN, R_NUMERIC
from ftrl_cli.readers.arrow_columns import numeric_values
from ftrl_cli.readers.parquet import MAX_BATCH_ROWS, _fragments, open_dataset, parquet_plan

if TYPE_CHECKING:
    from ftrl_cli.feature_names_read import NameRecorder


def _texts(arr: pa.Array) -> tuple[list, np.ndarray | None]:
    """The csv texts of a categorical column's values (None for null) and, for a list
    column, each element's row."""
    rows = None
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        rows = pac.list_parent_indices(arr).to_numpy(zero_copy_only=False)
        arr = arr.flatten()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        values = [None if v is None else v.decode("utf-8", "replace") for v in arr.to_pylist()]
    else:
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            arr = pac.cast(arr, pa.large_string())
        values = arr.to_pylist()
    return values, rows


def parquet_names(recorder: NameRecorder, paths: Sequence[str]) -> None:
    """Give ``recorder`` the names of the records of Parquet ``paths``, in order."""
    spec = recorder.spec
    for path in paths:
        dataset = open_dataset(path)
        plan = parquet_plan(dataset, spec, path)
        cols = [(name, plan.names.index(name)) for name in plan.read
                if int(plan.roles[plan.names.index(name)]) != R_LABEL]
        for fragment in _fragments(dataset):
            for rb in fragment.to_batches(schema=dataset.schema, columns=[c for c, _ in cols],
                                          batch_size=MAX_BATCH_ROWS, use_threads=False):
                if recorder.book.full:
                    return
                if rb.num_rows:
                    _batch(recorder, rb, cols, plan)


def _batch(recorder: NameRecorder, rb: pa.RecordBatch, cols: list, plan) -> None:
    columns, rows = [], []
    for name, k in cols:
        role = int(plan.roles[k])
        arr = rb.column(name)
        if role == R_NUMERIC:
            values, _ = numeric_values(arr)
            nz = np.flatnonzero(np.isfinite(values) & (values != 0.0))
            columns.append((name, "n", ["1"] * len(nz)))
            rows.append(nz.tolist())
            continue
        texts, at = _texts(arr)
        kind = "b" if role == R_LOG_BIN else "c"
        columns.append((name, kind, texts))
        rows.append(range(len(texts)) if at is None else at.tolist())
    if recorder.crosses is None:
        recorder.add_columns(columns, rows)
        return
    per_row: list[list] = [[] for _ in range(rb.num_rows)]
    for (name, kind, values), at, (_, k) in zip(columns, rows, cols):
        seed, terms = int(plan.seeds[k]), int(plan.col_terms[k])
        for v, r in zip(values, at):
            key = recorder._key(name, kind, v) if v is not None else None
            if key is not None:
                per_row[r].append((key, seed, terms))
    recorder.add_crossed(per_row)
