"""Checksums of a checkpoint's columns, written in its metadata and checked on load.

One CRC-32 per column, over the column's values in a canonical form (little-endian int64 or
float64, one byte per bool, text as each value's 4-byte length (all ones for null) and UTF-8
bytes, the ``variable`` column as a byte that is 1 for ``bias``), so
scoring, which reads ``variable``, ``index`` and ``weight`` only, checks just those.  It
catches a truncated or damaged file and a hand edit that keeps the old metadata; it is no
defence against someone who recomputes it. CRC-32 runs at several GB/s: a million-row model
loads a few milliseconds later.
"""

from __future__ import annotations

import zlib

import numpy as np

from ftrl_cli.errors import ChecksumError

ALGORITHM = "crc32"
_PARALLEL_BYTES = 16 << 20  # below this, starting threads costs more than it saves


def _canonical(values: np.ndarray) -> np.ndarray:
    if values.dtype == object:  # text (feature names): each as its length and UTF-8 bytes
        parts = [b"\xff\xff\xff\xff" if v is None else
                 len(b := str(v).encode("utf-8")).to_bytes(4, "little") + b for v in values]
        return np.frombuffer(b"".join(parts), np.uint8)
    if values.dtype == np.bool_:
        return np.ascontiguousarray(values).view(np.uint8)
    kind = "<i8" if values.dtype.kind in "iu" else "<f8"
    return np.ascontiguousarray(values, dtype=kind)


def column_checksum(values: np.ndarray) -> str:
    """CRC-32 of a column's values in canonical form, as eight hex digits.

    >>> column_checksum(np.array([1.0, 2.0]))
    '7ba3895f'
    >>> column_checksum(np.array([1.0, 2.0], dtype=">f8"))  # the same values, other order
    '7ba3895f'
    """
    return f"{zlib.crc32(memoryview(_canonical(values)).cast('B')):08x}"


def describe(columns: dict[str, np.ndarray]) -> dict:
    """The metadata entry for ``columns`` (``variable`` given as its boolean bias mask).

    >>> describe({"weight": np.array([1.0, 2.0])})
    {'algorithm': 'crc32', 'rows': 2, 'columns': {'weight': '7ba3895f'}}
    """
    rows = len(next(iter(columns.values()))) if columns else 0
    return {"algorithm": ALGORITHM, "rows": rows, "columns": _checksums(columns)}


def _checksums(columns: dict[str, np.ndarray]) -> dict[str, str]:
    names = list(columns)
    if sum(columns[n].nbytes for n in names) < _PARALLEL_BYTES:
        return {n: column_checksum(columns[n]) for n in names}
    # zlib releases the GIL: two columns at a time halve the time on a large model.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(names, pool.map(column_checksum, (columns[n] for n in names))))


def verify(meta: dict, columns: dict[str, np.ndarray], path: str,
           read: set[str] | None = None) -> None:
    """Refuse ``columns`` (as read, ``variable`` as its bias mask) that do not match the
    checksums in ``meta``; a model written without checksums passes.  ``read`` names the
    columns that were read (``None``: all of them, so a column that is gone is a mismatch).

    >>> entry = describe({"weight": np.array([1.0, 2.0])})
    >>> verify(  # doctest: +ELLIPSIS
    ...     {"checksum": entry}, {"weight": np.array([1.0, 2.5])}, "m.parquet")
    Traceback (most recent call last):
    ...
    ftrl_cli.errors.ChecksumError: m.parquet: checksum mismatch: the file was changed or ...
    """
    entry = meta.get("checksum")
    if entry is None:
        return
    try:
        algorithm, rows, expected = entry["algorithm"], int(entry["rows"]), entry["columns"]
    except (KeyError, TypeError, ValueError):
        raise ChecksumError(f"{path}: damaged checksum entry in its metadata; --no-verify "
                            "loads it anyway") from None
    if algorithm != ALGORITHM:
        raise ChecksumError(f"{path}: checksum algorithm {algorithm!r} is unknown to this "
                            "ftrl; --no-verify loads it anyway")
    checked = [name for name in expected if read is None or name in read]
    if any(n not in columns or len(columns[n]) != rows for n in checked) or _checksums(
            {n: columns[n] for n in checked}) != {n: expected[n] for n in checked}:
        raise ChecksumError(f"{path}: checksum mismatch: the file was changed or damaged; "
                            "--no-verify loads it anyway")
