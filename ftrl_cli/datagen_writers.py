"""Text formats for generated rows: Criteo TSV, CSV/TSV with a header, VW and libsvm.

Every format carries the same rows in the same order:

- ``criteo``: ``label<TAB>I1..I13<TAB>C1..C26``, no header, empty field = missing.
- ``tsv`` / ``csv``: the same fields under a header line ``label,I1,...,C26``.
- ``vw``: ``1 |i I1_<bin> ... |c C1_<token> ...`` -- label -1/1, counts as their ``log_bin``
  (the truth only sees the bin), missing features left out.
- ``libsvm``: ``label id:1 ...`` with label 0/1 and ascending ids: count column ``k`` (0-based)
  in bin ``b`` is ``1 + k * N_BINS + b``; value code ``c`` of categorical column ``j`` is
  ``1 + 13 * N_BINS + sum(vocab_sizes[:j]) + c`` (always < 2**31, see ``DataConfig``).

A path ending in ``.gz`` or ``.zst`` is compressed. Lines are built column by column with
Arrow compute kernels and written as one buffer per block, never row by row in Python.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ftrl_cli.datagen import (
    BLOCK_ROWS,
    CAT_COLUMNS,
    COLUMNS,
    INT_COLUMNS,
    MISSING,
    N_BINS,
    N_INT,
    Dataset,
)
from ftrl_cli.metrics import logloss

FORMATS = ("criteo", "tsv", "csv", "vw", "libsvm")
_SUFFIX_FORMATS = {
    ".criteo": "criteo",
    ".tsv": "tsv",
    ".csv": "csv",
    ".vw": "vw",
    ".libsvm": "libsvm",
    ".svm": "libsvm",
}
_COMPRESSION = {".gz": "gzip", ".zst": "zstd"}
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE_SHIFTS = np.arange(28, -1, -4, dtype=np.uint32)


def format_from_path(path: str | os.PathLike) -> str:
    """The format a file name implies, ignoring a compression suffix.

    >>> format_from_path("train.vw.gz"), format_from_path("day_0.criteo")
    ('vw', 'criteo')
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes.pop()
    if suffixes and suffixes[-1] in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffixes[-1]]
    raise ValueError(f"cannot tell the format of {os.fspath(path)!r}; name one of {FORMATS}")


def open_output(path: str | os.PathLike) -> pa.NativeFile:
    """A writable stream, gzip or zstd compressed when the name ends in ``.gz`` / ``.zst``.

    >>> import gzip, tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with open_output(os.path.join(d, "a.txt.gz")) as out:
    ...         _ = out.write(b"hi\\n")
    ...     gzip.open(os.path.join(d, "a.txt.gz")).read()
    b'hi\\n'
    """
    path = os.fspath(path)
    stream = pa.OSFile(path, "wb")
    codec = _COMPRESSION.get(Path(path).suffix.lower())
    return pa.CompressedOutputStream(stream, codec) if codec else stream


def header(fmt: str) -> str:
    """The header line of a format ('' when it has none).

    >>> header("csv")[:12], header("vw")
    ('label,I1,I2,', '')
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    sep = {"csv": ",", "tsv": "\t"}.get(fmt)
    return sep.join(COLUMNS) + "\n" if sep else ""


def _fixed_width(prefix: bytes, codes: np.ndarray, valid: np.ndarray) -> pa.StringArray:
    """``prefix`` + 8 lowercase hex digits of each uint32 code, null where not ``valid``."""
    n, width = len(codes), len(prefix) + 8
    chars = np.empty((n, width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    chars[:, len(prefix) :] = _HEX[(codes[:, None] >> _NIBBLE_SHIFTS) & np.uint32(0xF)]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n,
        pa.py_buffer(offsets),
        pa.py_buffer(chars),
        pa.py_buffer(np.packbits(valid, bitorder="little")),
        null_count=int(n - np.count_nonzero(valid)),
    )


def _tokens(ds: Dataset, j: int, prefix: bytes = b"") -> pa.StringArray:
    codes = ds.cats[:, j]
    valid = codes != MISSING
    return _fixed_width(prefix, ds.model.token_codes(j, np.where(valid, codes, 0)), valid)


def _ids(ids: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(pc.cast(pa.array(ids, mask=~valid), pa.string()), ":1", "")


def _delimited(ds: Dataset, sep: str) -> list:
    ints = [
        pc.cast(pa.array(ds.ints[:, k], mask=ds.ints[:, k] == MISSING), pa.string())
        for k in range(N_INT)
    ]
    cats = [_tokens(ds, j) for j in range(len(CAT_COLUMNS))]
    label = pa.array(["0", "1"]).take(ds.labels)
    return [label, *ints, *cats]


def _vw(ds: Dataset) -> list:
    bins = ds.int_bins()
    ints = []
    for k, name in enumerate(INT_COLUMNS):
        names = pa.array([f"{name}_{b}" for b in range(N_BINS)])
        ints.append(names.take(pa.array(bins[:, k], mask=bins[:, k] == MISSING)))
    cats = [_tokens(ds, j, f"{name}_".encode()) for j, name in enumerate(CAT_COLUMNS)]
    label = pa.array(["-1", "1"]).take(ds.labels)
    return [label, "|i", *ints, "|c", *cats]


def _libsvm(ds: Dataset) -> list:
    bins = ds.int_bins()
    fields = [pa.array(["0", "1"]).take(ds.labels)]
    for k in range(N_INT):
        fields.append(_ids(1 + k * N_BINS + bins[:, k], bins[:, k] != MISSING))
    offset = 1 + N_INT * N_BINS
    for j, vocab in enumerate(ds.model.config.vocab_sizes):
        fields.append(_ids(offset + ds.cats[:, j], ds.cats[:, j] != MISSING))
        offset += vocab
    return fields


def format_lines(ds: Dataset, fmt: str) -> pa.StringArray:
    """One line of text per row (without the newline).

    >>> from ftrl_cli.datagen import DataConfig, make_dataset
    >>> ds = make_dataset(3, seed=0, config=DataConfig(vocab_sizes=(4,) * 26))
    >>> format_lines(ds, "vw")[0].as_py().split()[1]
    '|i'
    """
    header(fmt)  # rejects unknown formats
    if fmt in ("criteo", "tsv", "csv"):
        sep = "," if fmt == "csv" else "\t"
        return pc.binary_join_element_wise(
            *_delimited(ds, sep), sep, null_handling="replace", null_replacement=""
        )
    # Skipping nulls drops missing features; the label is never null, so no line is empty.
    fields = _vw(ds) if fmt == "vw" else _libsvm(ds)
    return pc.binary_join_element_wise(*fields, " ", null_handling="skip")


def _write_lines(stream: pa.NativeFile, lines: pa.Array) -> None:
    if len(lines) == 0:
        return
    # "line" + "\n" + "" per row; the result's character buffer is then the file's bytes.
    text = pc.binary_join_element_wise(lines, "", "\n")
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset :]
    begin, end = int(offsets[0]), int(offsets[len(text)])
    stream.write(text.buffers()[2].slice(begin, end - begin))


class RowWriter:
    """Writes blocks of rows to several files at once (one generation, many formats).

    ``outputs`` maps each path to its format (``None``: from the file name). ``truth_out``,
    if given, receives each row's true click probability, one per line, in row order.
    Use as a context manager; ``summary()`` gives row and positive counts and the truth's
    log loss over everything written.

    >>> import tempfile, os
    >>> from ftrl_cli.datagen import DataConfig, TruthModel, iter_blocks
    >>> model = TruthModel(3, DataConfig(vocab_sizes=(4,) * 26))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = {os.path.join(d, "t.vw"): None, os.path.join(d, "t.txt"): "libsvm"}
    ...     with RowWriter(paths) as out:
    ...         for block in iter_blocks(model, 100):
    ...             out.write(block)
    ...     sorted(os.listdir(d)), out.summary()["rows"]
    (['t.txt', 't.vw'], 100)
    """

    def __init__(
        self,
        outputs: Mapping[str | os.PathLike, str | None],
        truth_out: str | os.PathLike | None = None,
    ) -> None:
        self._formats = {
            os.fspath(path): fmt or format_from_path(path) for path, fmt in outputs.items()
        }
        for fmt in self._formats.values():
            header(fmt)
        self._streams: dict[str, pa.NativeFile] = {}
        self._truth_path = os.fspath(truth_out) if truth_out is not None else None
        self._truth = None
        self.rows = self.positives = 0
        self._loss_sum = 0.0
        self._prob_sum = 0.0

    def __enter__(self) -> RowWriter:
        try:
            for path, fmt in self._formats.items():
                self._streams[path] = stream = open_output(path)
                stream.write(header(fmt).encode())
            if self._truth_path is not None:
                self._truth = open_output(self._truth_path)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for stream in [*self._streams.values(), self._truth]:
            if stream is not None:
                stream.close()

    def write(self, ds: Dataset) -> None:
        """Append the rows of ``ds`` to every output."""
        for lo in range(0, len(ds), BLOCK_ROWS):
            part = ds[lo : lo + BLOCK_ROWS]
            for path, fmt in self._formats.items():
                _write_lines(self._streams[path], format_lines(part, fmt))
            if self._truth is not None:
                _write_lines(self._truth, pc.cast(pa.array(part.truth_prob), pa.string()))
        if len(ds):
            self._loss_sum += logloss(ds.labels, ds.truth_prob) * len(ds)
            self._prob_sum += float(np.sum(ds.truth_prob))
            self.rows += len(ds)
            self.positives += int(np.count_nonzero(ds.labels))

    def summary(self) -> dict:
        """Counts and the truth's log loss over the rows written so far."""
        rows = max(self.rows, 1)
        return {
            "rows": self.rows,
            "positives": self.positives,
            "base_rate": self.positives / rows,
            "mean_truth_prob": self._prob_sum / rows,
            "truth_logloss": self._loss_sum / rows,
            "outputs": dict(self._formats),
        }


def write(
    dataset: Dataset | Iterable[Dataset], path: str | os.PathLike, fmt: str | None = None
) -> dict:
    """Write rows (one ``Dataset`` or an iterable of chunks) to ``path``; returns the summary.

    >>> import tempfile, os
    >>> from ftrl_cli.datagen import DataConfig, make_dataset
    >>> ds = make_dataset(10, seed=0, config=DataConfig(vocab_sizes=(4,) * 26))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write(ds, os.path.join(d, "x.csv.gz"))["rows"]
    10
    """
    chunks = [dataset] if isinstance(dataset, Dataset) else dataset
    with RowWriter({path: fmt}) as out:
        for chunk in chunks:
            out.write(chunk)
    return out.summary()
