"""Parquet input against the same records as TSV: ``ftrl train`` on each.

The bench's Criteo-shaped training rows are written once as Parquet beside the TSV (label and
counts as int64, the C columns as strings, row groups of 65,536 rows).  Both runs read the
same named columns, every one categorical (``--format tsv --no-header --columns label,I1,..``
for the TSV, whose counts are then categories by their decimal text as in Parquet, not
criteo's log bins), so they train the same model; the cases time the readers.
``python -m bench.parquet`` runs these cases alone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench.cases import Case, _inproc_twin, _size, ftrl_train_cmd
from bench.datasets import DataSet
from bench.settings import Hyper
from ftrl_cli.readers.delimited import CRITEO_COLUMNS

ROW_GROUP = 65536


def parquet_copy(src: Path) -> Path:
    """The criteo TSV ``src`` as Parquet, beside it (made once)."""
    dst = src.with_suffix(".parquet")
    if not dst.exists():
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        types = {c: pa.string() if c.startswith("C") else pa.int64() for c in CRITEO_COLUMNS}
        table = pacsv.read_csv(
            src,
            read_options=pacsv.ReadOptions(column_names=list(CRITEO_COLUMNS)),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types=types,
                                                 strings_can_be_null=True),
        )
        tmp = dst.with_suffix(".tmp")
        pq.write_table(table, tmp, row_group_size=ROW_GROUP)
        tmp.rename(dst)
    return dst


def parquet_cases(ds: DataSet, h: Hyper, out: Path) -> list[Case]:
    """``ftrl train`` on the training rows as TSV with named columns and as Parquet."""
    tsv = ds.train("criteo")
    table = parquet_copy(tsv)
    names = ",".join(CRITEO_COLUMNS)
    on_tsv = Case("parquet/train/ftrl/tsv", "parquet", "ftrl train, TSV (named columns)",
                  "tsv", ftrl_train_cmd(h, tsv, "tsv", out / "pq-tsv.parquet", "--no-header",
                                        "--columns", names),
                  ds.train_rows, _size(tsv), once=True)
    on_parquet = Case("parquet/train/ftrl/parquet", "parquet", "ftrl train, Parquet",
                      "parquet", ftrl_train_cmd(h, table, "parquet", out / "pq-pq.parquet"),
                      ds.train_rows, _size(table), once=True)
    return [
        on_tsv,
        dataclasses.replace(_inproc_twin(on_tsv, out / "pq-tsv-inproc.parquet"), once=True),
        on_parquet,
        dataclasses.replace(_inproc_twin(on_parquet, out / "pq-pq-inproc.parquet"), once=True),
    ]
