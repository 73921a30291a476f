"""Predictions as a Parquet table, to join back to what was scored.

``ftrl predict -o out.parquet`` writes one row per record, in input order: the key column
asked for with ``--key-column`` (Parquet input: copied from the input with its type), or
for vw input a ``tag`` column (null where a record has no tag), then ``prediction``
(float64).  One row group per scored batch, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ftrl_cli.readers.base import Batch
from ftrl_cli.readers.detect import format_from_extension


def wants_parquet(path: str | None) -> bool:
    """Whether predictions written to ``path`` are a Parquet table (by its extension).

    >>> wants_parquet("scores.parquet"), wants_parquet("scores.txt"), wants_parquet(None)
    (True, False, False)
    """
    return path is not None and path != "-" and format_from_extension(path) == "parquet"


def prediction_schema(key: tuple[str, pa.DataType] | None) -> pa.Schema:
    """The table's columns: ``key`` (name, type) if given, then ``prediction``.

    >>> prediction_schema(("tag", pa.string())).names
    ['tag', 'prediction']
    """
    fields = [] if key is None else [pa.field(key[0], key[1])]
    return pa.schema([*fields, pa.field("prediction", pa.float64())])


def _key_values(batch: Batch) -> pa.Array:
    if batch.key is not None:
        return batch.key
    return pa.array(batch.tags if batch.tags is not None else [None] * len(batch), pa.string())


def write_predictions(out: BinaryIO, scored: Iterable[tuple[Batch, np.ndarray]],
                      schema: pa.Schema) -> int:
    """Write each batch's predictions to ``out`` as rows of ``schema``; returns the rows.

    >>> import io
    >>> b = Batch(np.zeros(3, np.int32), np.zeros(0, np.int32), np.zeros(0), 4, np.zeros(2),
    ...           np.ones(2), np.arange(1, 3), "x", ["a", None])
    >>> buf = io.BytesIO()
    >>> schema = prediction_schema(("tag", pa.string()))
    >>> write_predictions(buf, [(b, np.array([0.5, 0.25]))], schema)
    2
    >>> pq.read_table(io.BytesIO(buf.getvalue())).to_pylist()
    [{'tag': 'a', 'prediction': 0.5}, {'tag': None, 'prediction': 0.25}]
    """
    rows = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for batch, preds in scored:
            columns = [pa.array(np.asarray(preds, np.float64))]
            if len(schema) > 1:
                columns.insert(0, _key_values(batch))
            writer.write_batch(pa.record_batch(columns, schema=schema))
            rows += len(batch)
    return rows
