"""Parquet input against the same records as TSV, and against what Python users load
Parquet with: ``ftrl train`` on each, datatable fed by pyarrow, pandas' ``read_parquet``.

The bench's Criteo-shaped training rows are written once as Parquet beside the TSV (label and
counts as int64, the C columns as strings), twice:

* ``train.parquet``, the bench's file: row groups of 65,536 rows, pyarrow's dictionary
  encoding and snappy compression.  Row groups of a few MB are read one at a time, in
  bounded memory, and each has a dictionary of its own per string column, which ftrl hashes
  once per row group; dictionary encoding is what pyarrow, pandas and Spark write by
  default, and it spares decoding every string (ftrl reads the codes).  Compression barely
  matters to the time: on 500k rows Arrow decodes the columns in about 0.14 s of CPU
  uncompressed, 0.15 s with lz4 or snappy, 0.18 s with zstd (a 20 MB file instead of 27).
* ``train.defaults.parquet``: ``pyarrow.parquet.write_table`` with nothing set, as
  ``pandas.DataFrame.to_parquet`` writes it (snappy, dictionaries, row groups of up to
  1,048,576 rows): what users' files often are.

The ftrl runs read the same named columns, every one categorical (``--format tsv
--no-header --columns label,I1,..`` for the TSV, whose counts are then categories by their
decimal text as in Parquet, not criteo's log bins), so they train the same model; the cases
time the readers.  datatable cannot read Parquet: pyarrow reads the file and datatable takes
the Arrow table, then fits (``bench.parquet_task``); its fread+fit of the TSV is beside it.
``python -m bench.parquet`` runs these cases alone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench.cases import PY, Case, _inproc_twin, _size, ftrl_train_cmd
from bench.datasets import DataSet
from bench.settings import Hyper
from ftrl_cli.readers.delimited import CRITEO_COLUMNS

ROW_GROUP = 65536


def parquet_copies(src: Path) -> tuple[Path, Path]:
    """The criteo TSV ``src`` as the bench's Parquet file and as one written with pyarrow's
    defaults, beside it (made once)."""
    bench, defaults = src.with_suffix(".parquet"), src.with_suffix(".defaults.parquet")
    if not (bench.exists() and defaults.exists()):
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
        for dst, options in ((bench, {"row_group_size": ROW_GROUP}), (defaults, {})):
            tmp = dst.with_suffix(".tmp")
            pq.write_table(table, tmp, **options)
            tmp.rename(dst)
    return bench, defaults


def parquet_copy(src: Path) -> Path:
    """The criteo TSV ``src`` as the bench's Parquet file, beside it (made once)."""
    return parquet_copies(src)[0]


def parquet_cases(ds: DataSet, h: Hyper, out: Path) -> list[Case]:
    """``ftrl train`` on the training rows as TSV with named columns and as Parquet (the
    bench's file and one with pyarrow's defaults); datatable and pandas on the same file."""
    tsv = ds.train("criteo")
    table, defaults = parquet_copies(tsv)
    names = ",".join(CRITEO_COLUMNS)
    rows = ds.train_rows
    on_tsv = Case("parquet/train/ftrl/tsv", "parquet", "ftrl train, TSV (named columns)",
                  "tsv", ftrl_train_cmd(h, tsv, "tsv", out / "pq-tsv.parquet", "--no-header",
                                        "--columns", names),
                  rows, _size(tsv), once=True)
    on_parquet = Case("parquet/train/ftrl/parquet", "parquet", "ftrl train, Parquet",
                      "parquet", ftrl_train_cmd(h, table, "parquet", out / "pq-pq.parquet"),
                      rows, _size(table), once=True)
    on_defaults = Case("parquet/train/ftrl/parquet-defaults", "parquet",
                       "ftrl train, Parquet with pyarrow's defaults", "parquet",
                       ftrl_train_cmd(h, defaults, "parquet", out / "pq-defaults.parquet"),
                       rows, _size(defaults), once=True)
    dt_parquet = Case("parquet/train/dt/parquet", "parquet",
                      "datatable: pyarrow read, Frame, fit", "parquet",
                      (PY, "-m", "bench.parquet_task", "dt-fit", str(table),
                       str(out / "pq-dt.pickle"), *h.positional()),
                      rows, _size(table), inproc=("read", "frame", "fit"), capture=True,
                      once=True)
    dt_tsv = Case("parquet/train/dt/tsv", "parquet", "datatable: fread, fit", "criteo",
                  (PY, "-m", "bench.dt_task", "fit", str(tsv), str(out / "pq-dt-tsv.pickle"),
                   *h.positional()),
                  rows, _size(tsv), inproc=("fread", "fit"), capture=True, once=True)
    pandas = Case("parquet/load/pandas/parquet", "parquet",
                  "pandas.read_parquet (loading only)", "parquet",
                  (PY, "-m", "bench.parquet_task", "pandas", str(table)),
                  rows, _size(table), inproc=("read_parquet",), capture=True, once=True)
    return [
        on_tsv,
        dataclasses.replace(_inproc_twin(on_tsv, out / "pq-tsv-inproc.parquet"), once=True),
        on_parquet,
        dataclasses.replace(_inproc_twin(on_parquet, out / "pq-pq-inproc.parquet"), once=True),
        on_defaults,
        dt_parquet,
        dt_tsv,
        pandas,
    ]


def parquet_summary(results: dict) -> list[str]:
    """What the Parquet cases say, as Markdown lines: ftrl on Parquet against the same
    records as TSV, and what datatable and pandas take to get the same file in (``results``:
    the ``bench.suite.Result`` of each case by key; cases that failed are left out)."""

    def median(key: str) -> float | None:
        res = results.get(key)
        return res.median() if res is not None and res.ok else None

    def phases(key: str) -> str:
        res = results[key]
        import statistics

        return " + ".join(f"{k} {statistics.median(res.timing(k)):.2f}"
                          for k in res.case.inproc)

    lines = []
    pq_in, tsv_in = median("parquet/train/ftrl-inproc/parquet"), \
        median("parquet/train/ftrl-inproc/tsv")
    pq_whole, tsv_whole = median("parquet/train/ftrl/parquet"), median("parquet/train/ftrl/tsv")
    if pq_in and tsv_in:
        lines.append(f"- ftrl train, in-process: Parquet {pq_in:.2f} s, TSV {tsv_in:.2f} s "
                     f"(Parquet takes {pq_in / tsv_in:.0%} of the TSV's time)")
    if pq_whole and tsv_whole:
        lines.append(f"- ftrl train, whole process: Parquet {pq_whole:.2f} s, TSV "
                     f"{tsv_whole:.2f} s ({pq_whole / tsv_whole:.0%})")
    defaults = median("parquet/train/ftrl/parquet-defaults")
    if defaults:
        lines.append(f"- ftrl train on the file written with pyarrow's defaults, whole "
                     f"process: {defaults:.2f} s")
    for key, what in (("parquet/train/dt/parquet", "datatable from the Parquet file"),
                      ("parquet/train/dt/tsv", "datatable from the TSV")):
        total = median(key)
        if total:
            lines.append(f"- {what}: {phases(key)} = {total:.2f} s")
    load = median("parquet/load/pandas/parquet")
    if load:
        tail = f", {load / pq_in:.1f}× ftrl's whole training on it" if pq_in else ""
        lines.append(f"- pandas.read_parquet alone: {load:.2f} s{tail}")
    ways = {"ftrl train, Parquet": pq_in, "ftrl train, TSV": tsv_in,
            "datatable, Parquet": median("parquet/train/dt/parquet"),
            "datatable, TSV": median("parquet/train/dt/tsv")}
    timed = {k: v for k, v in ways.items() if v}
    if timed:
        best = min(timed, key=timed.get)
        lines.append(f"- fastest way from the file to a trained model (in-process): {best}")
    return lines
