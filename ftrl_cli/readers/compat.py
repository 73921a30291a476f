"""Reading input with a trained model's features: the formats it reads, and how.

A model hashes what its format yields: vw namespaces, libsvm indices, csv/tsv/Parquet
columns, criteo's log-binned counts.  Input of another format would land on coordinates the
model never learned and score as the bias alone, so it is refused.  csv and tsv differ only
in the delimiter, and Parquet values hash as their csv text, so a model of one of the three
reads the others when asked to with ``--format``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ftrl_cli.errors import FtrlError
from ftrl_cli.readers.base import FeatureSpec
from ftrl_cli.readers.detect import format_from_extension
from ftrl_cli.readers.source import STDIN_NAME

_SAME_COLUMNS = frozenset({"csv", "tsv", "parquet"})


def readable_as(trained: str, fmt: str) -> bool:
    """Whether a model trained on ``trained`` input can read ``fmt`` input.

    >>> readable_as("csv", "tsv"), readable_as("vw", "csv"), readable_as("criteo", "tsv")
    (True, False, False)
    """
    return fmt == trained or {fmt, trained} <= _SAME_COLUMNS


def _refused(name: str, trained: str, fmt: str, hint: str = "") -> FtrlError:
    return FtrlError(f"{name}: the model was trained on {trained} input; "
                     f"this input is {fmt}{hint}")


def model_format(paths: Sequence[str], trained: str, given: str | None) -> str:
    """The format to read ``paths`` in with a model trained on ``trained`` input.

    ``given`` (``--format``) must be readable by the model; without it every input is read
    as the model's format, and a file whose extension names another format is refused
    (nothing is sniffed: an extension-less file or stdin takes the model's format).

    >>> model_format(["live.log", "-"], "vw", None)
    'vw'
    >>> model_format(["test.csv"], "vw", None)
    Traceback (most recent call last):
    ftrl_cli.errors.FtrlError: test.csv: the model was trained on vw input; this input is csv
    """
    if given is not None:
        if not readable_as(trained, given):
            name = STDIN_NAME if paths[0] == "-" else paths[0]
            raise _refused(name, trained, given, f" (--format {given})")
        return given
    for path in paths:
        found = format_from_extension(path) if path != "-" else None
        if found is not None and found != trained:
            hint = (f" (use --format {found} if its columns are the model's)"
                    if readable_as(trained, found) else "")
            raise _refused(path, trained, found, hint)
    return trained


def model_reader(paths: Sequence[str], trained: FeatureSpec, reader: dict) -> dict:
    """The reader options (``format``, ``header``, ``columns``) for scoring ``paths`` with a
    model of spec ``trained``: its format, and its recorded columns for a headerless input
    when ``columns`` is not given (a header names the columns itself, in any order).

    >>> spec = FeatureSpec("csv", columns=("id", "label"))
    >>> model_reader(["x.txt"], spec, dict(format=None, header=False, columns=None))
    {'format': 'csv', 'header': False, 'columns': ('id', 'label')}
    """
    fmt = model_format(paths, trained.format, reader.get("format"))
    header = reader.get("header", True)
    columns = reader.get("columns")
    if columns is None and not header:
        columns = trained.columns
    return {**reader, "format": fmt, "header": header, "columns": columns}
