"""The columns of csv/tsv and Parquet inputs, checked before any record is read.

A run that needs labels fails at once, naming the file and its columns, when the label
column is not there (rather than at the first record, as "no label"); columns named on the
command line must exist.  The first input's names are what a model records, so that a
headerless file of the same layout can be scored with ``--no-header`` alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from ftrl_cli.errors import FtrlError
from ftrl_cli.readers.base import FeatureSpec
from ftrl_cli.readers.crossing import column_params, spec_crosses
from ftrl_cli.readers.delimited import header_names
from ftrl_cli.readers.source import STDIN_NAME

_SHOWN = 8
_NAME_CHARS = 40


def input_columns(path: str, spec: FeatureSpec) -> tuple[str, ...] | None:
    """The names the reader gives the fields of ``path``: ``spec.columns`` if given, else
    its header (a Parquet file's or folder's columns); None for formats without named
    columns and for an empty input.

    >>> import tempfile
    >>> p = tempfile.mktemp(suffix=".tsv"); _ = open(p, "w").write("id\\tlabel\\n7\\t1\\n")
    >>> input_columns(p, FeatureSpec("tsv")), input_columns(p, FeatureSpec("vw"))
    (('id', 'label'), None)
    """
    if spec.format == "parquet":
        from ftrl_cli.readers.parquet import parquet_names  # pyarrow.dataset: when needed

        return parquet_names(path)
    if spec.format not in ("csv", "tsv"):
        return None
    if spec.columns is not None:
        return spec.columns
    return header_names(path, spec)


def describe(names: Sequence[str]) -> str:
    """The first few of ``names`` for a message, long ones cut short.

    >>> describe(["id", "click"] + [f"c{i}" for i in range(10)])
    'id, click, c0, c1, c2, c3, c4, c5, ...'
    """
    shown = [n if len(n) <= _NAME_CHARS else n[: _NAME_CHARS - 3] + "..."
             for n in names[:_SHOWN]]
    return ", ".join(shown + (["..."] if len(names) > _SHOWN else []))


def _missing_label(path: str, names: tuple[str, ...], spec: FeatureSpec, hint: str) -> str:
    other = "tsv" if spec.format == "csv" else "csv"
    if len(names) == 1 and ("\t" if other == "tsv" else ",") in names[0]:
        # The wrong delimiter reads the whole header as one column.
        hint = f"the header is one column: is this {other} input? use --format {other}"
    where = ("the columns" if spec.format == "parquet" else
             "the header" if spec.header else "--columns")
    return (f"{path}: no column '{spec.label_column}' in {where} ({describe(names)}); "
            f"{hint}")


def check_columns(paths: Sequence[str], spec: FeatureSpec, *, label_hint: str | None = None,
                  ignored: bool = False) -> tuple[str, ...] | None:
    """Check the columns of every csv/tsv/parquet input; return the first input's names.

    With ``label_hint`` the label column must exist (the hint ends the message); with
    ``ignored`` so must every ignored column.

    >>> import tempfile
    >>> p = tempfile.mktemp(suffix=".csv"); _ = open(p, "w").write("id,click\\n7,1\\n")
    >>> check_columns([p], FeatureSpec("csv", label_column="click"), label_hint="")
    ('id', 'click')
    >>> check_columns([p], FeatureSpec("csv"), label_hint="use --label-column")
    Traceback (most recent call last):
    ftrl_cli.errors.FtrlError: ...: no column 'label' in the header (id, click); use --label-column
    """
    first = None
    for i, path in enumerate(paths):
        names = input_columns(path, spec)
        if names is None:
            continue
        name = STDIN_NAME if path == "-" else path
        if label_hint is not None and spec.label_column not in names:
            raise FtrlError(_missing_label(name, names, spec, label_hint))
        absent = [c for c in spec.ignore_columns if c not in names] if ignored else []
        if absent:
            raise FtrlError(f"{name}: ignored column(s) {', '.join(absent)} not in the "
                            f"columns ({describe(names)})")
        column_params(spec_crosses(spec), names, spec, name)  # crosses name real columns
        if i == 0:
            first = names
    return first
