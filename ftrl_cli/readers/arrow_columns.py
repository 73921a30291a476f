"""Arrow columns as the csv reader would see them: hashed categories, numbers, labels.

Every value is taken as the text pyarrow's csv writer (``pyarrow.csv.write_csv``) writes for
it, so the same records give the same features as csv and as Parquet:

* strings (``string``, ``large_string``, ``binary``) are hashed from their buffers by
  ``_parse_arrow.hash_strings``; a null or empty string is missing;
* dictionary-encoded columns hash their dictionary and gather the hashes by the codes;
  a ``DictionaryMemo`` keeps a column's dictionary hashes from one batch to the next, so
  the batches of a Parquet row group (which share one dictionary) hash it once;
* lists are bags: each element is a feature of the column (nulls and empty text skipped);
* integers of at most 18 digits are hashed as their decimal text by
  ``_parse_arrow.hash_integers``, from their values buffer;
* other types (booleans, dates, timestamps, floats, decimals, larger integers) are cast to
  text by Arrow's compute kernels, as its csv writer does (``true``/``false``, ``2024-01-02``,
  ``2024-01-02 03:04:05.123``, ``0.1``, ``1e+20``), then hashed as strings;
* numeric columns are float64 values (null and 0 make no feature); float32 and decimals go
  through their text, so their values are those of the csv text, and a non-finite value is
  an error, as ``nan`` is in a csv numeric column.

No Python code runs per value: Arrow's compute functions, numpy and the compiled kernels do.
Strings, integers, dictionaries of them and plain number columns never need
``pyarrow.compute`` (it takes a tenth of a second to import): it is imported only for the
casts of the other types.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ftrl_cli.hashing import HASH_PAD
from ftrl_cli.readers._parse_arrow import (
    LABEL_BAD,
    LABEL_INEXACT,
    gather_codes,
    hash_integers,
    hash_strings,
    starts_with,
    string_labels,
)

# hashes, values, and for a bag the row offsets into them (None: one element per row)
Elements = tuple[np.ndarray, np.ndarray, np.ndarray | None]
_DECIMAL_DIGITS = 10**18  # integers below this in size are hashed by ``hash_integers``


def _is_text(t: pa.DataType) -> bool:
    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t))


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _cast(arr: pa.Array, t: pa.DataType, safe: bool = True) -> pa.Array:
    import pyarrow.compute as pac  # only for the types that need a cast

    return pac.cast(arr, t, safe=safe)


def categorical_problem(t: pa.DataType) -> str | None:
    """Why a column of type ``t`` cannot be read as categories, or None if it can.

    >>> categorical_problem(pa.int64()), categorical_problem(pa.struct([("a", pa.int8())]))
    (None, 'struct<a: int8> has no csv text')
    """
    if pa.types.is_dictionary(t):
        return categorical_problem(t.value_type)
    if _is_list(t):
        return categorical_problem(t.value_type)
    if _is_text(t) or pa.types.is_integer(t):
        return None
    try:
        _cast(pa.array([], t), pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return f"{t} has no csv text"
    return None


def numeric_problem(t: pa.DataType) -> str | None:
    """Why a column of type ``t`` cannot be a numeric column, or None if it can.

    >>> numeric_problem(pa.float32()), numeric_problem(pa.string())
    (None, 'string is not a number type')
    """
    if pa.types.is_dictionary(t):
        return numeric_problem(t.value_type)
    return None if _is_number(t) else f"{t} is not a number type"


def label_problem(t: pa.DataType) -> str | None:
    """Why a column of type ``t`` cannot hold labels, or None if it can."""
    if pa.types.is_dictionary(t):
        return label_problem(t.value_type)
    if _is_number(t) or pa.types.is_boolean(t) or _is_text(t):
        return None
    return f"{t} cannot hold labels (numbers, booleans or text)"


def _bitmap(arr: pa.Array) -> np.ndarray:
    if arr.null_count == 0 or arr.buffers()[0] is None:
        return np.zeros(0, np.uint8)
    return np.frombuffer(arr.buffers()[0], np.uint8)


def _offsets(arr: pa.Array, buffer: pa.Buffer) -> np.ndarray:
    wide = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type) or \
        pa.types.is_large_list(arr.type)
    offsets = np.frombuffer(buffer, np.int64 if wide else np.int32)
    return offsets[arr.offset : arr.offset + len(arr) + 1]


def text_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, data)`` of a string or binary array, ``data`` with ``HASH_PAD`` readable
    bytes after its last string (copied only when the Arrow buffer ends right there).

    >>> offsets, data = text_buffers(pa.array(["ab", "c"]).slice(1))
    >>> bytes(data[offsets[0]:offsets[1]])
    b'c'
    """
    _, off_buf, data_buf = arr.buffers()
    offsets = _offsets(arr, off_buf)
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    first, last = int(offsets[0]), int(offsets[-1])
    if len(data) < last + HASH_PAD:
        padded = np.zeros(last - first + HASH_PAD, np.uint8)
        padded[: last - first] = data[first:last]
        return offsets - offsets.dtype.type(first), padded
    return offsets, data


def _small_integers(arr: pa.Array) -> np.ndarray | None:
    """The values of an integer array as int64 (nulls arbitrary) if all have at most 18
    digits, else None."""
    if not pa.types.is_integer(arr.type) or arr.buffers()[1] is None:
        return None
    values = np.frombuffer(arr.buffers()[1], arr.type.to_pandas_dtype())
    values = values[arr.offset : arr.offset + len(arr)]
    if len(values) and (values.max() >= _DECIMAL_DIGITS or
                        (values.dtype.kind == "i" and values.min() <= -_DECIMAL_DIGITS)):
        return None
    return values.astype(np.int64, copy=False)  # one kernel for every integer type


def category_elements(arr: pa.Array, seed: int, strings: bool) -> Elements:
    """The hashed categories of ``arr`` whose column seed is ``seed``: ``(hashes, values,
    ptr)``, one element per row, or for a list column row ``r``'s elements from ``ptr[r]`` to
    ``ptr[r + 1]``.

    >>> from ftrl_cli.hashing import hash_name
    >>> h, v, ptr = category_elements(pa.array([3, None]), 7, False)
    >>> int(h[0]) == hash_name("3", 7), v.tolist(), ptr
    (True, [1.0, 0.0], None)
    """
    if _is_list(arr.type):
        offsets = _offsets(arr, arr.buffers()[1]).astype(np.int64)
        offsets -= offsets[0]
        child = arr.values.slice(int(_offsets(arr, arr.buffers()[1])[0]), int(offsets[-1]))
        hashes, values, _ = category_elements(child, seed, strings)
        if arr.null_count:  # a null list's elements, if it has any, are not features
            values[np.repeat(~_valid(arr), np.diff(offsets))] = 0.0
        return hashes, values, offsets
    hashes = np.empty(len(arr), np.uint32)
    values = np.empty(len(arr), np.float64)
    category_into(arr, seed, strings, hashes, values)
    return hashes, values, None


def category_into(arr: pa.Array, seed: int, strings: bool, out_hash: np.ndarray,
                  out_value: np.ndarray, memo: DictionaryMemo | None = None) -> None:
    """Hash the categories of the scalar (not list) column ``arr`` into ``out_hash`` and
    ``out_value`` (1.0 for a feature, 0.0 for none), which may be strided views, such as a
    column of a row-major table; ``memo`` keeps a dictionary column's hashes between batches.

    >>> from ftrl_cli.hashing import hash_name
    >>> table = np.zeros((2, 2), np.uint32), np.zeros((2, 2))
    >>> category_into(pa.array(["a", None]).dictionary_encode(), 7, False, table[0][:, 1],
    ...               table[1][:, 1])
    >>> int(table[0][0, 1]) == hash_name("a", 7), table[1][:, 1].tolist()
    (True, [1.0, 0.0])
    """
    t = arr.type
    if pa.types.is_dictionary(t):
        dh, dv = (memo or DictionaryMemo()).hashes(arr.dictionary, seed, strings)
        codes = arr.indices
        gather_codes(_numbers(codes), _bitmap(codes), codes.offset, dh, dv, out_hash,
                     out_value)
        return
    small = _small_integers(arr)
    if small is not None:
        hash_integers(small, _bitmap(arr), arr.offset, seed, strings, out_hash, out_value)
        return
    if not _is_text(t):
        arr = _cast(arr, pa.large_string())
    offsets, data = text_buffers(arr)
    hash_strings(offsets, data, _bitmap(arr), arr.offset, seed, strings, out_hash, out_value)


class DictionaryMemo:
    """One column's last dictionary and its entries' hashes.

    Arrow gives each record batch of a Parquet row group its own copy of the row group's
    dictionary, and a dictionary may grow from batch to batch (past a column chunk's
    dictionary page): the entries an earlier dictionary had, in the same places, are not
    hashed again.  A column's seed and hash mode must not change between calls.

    >>> memo = DictionaryMemo()
    >>> h1, _ = memo.hashes(pa.array(["a", "b"]), 7, False)
    >>> h2, v2 = memo.hashes(pa.array(["a", "b", "c"]), 7, False)
    >>> h2[:2].tolist() == h1.tolist(), v2.tolist(), memo.hashed
    (True, [1.0, 1.0, 1.0], 3)
    """

    def __init__(self) -> None:
        self._text: tuple[np.ndarray, np.ndarray] | None = None
        self._hash = np.zeros(0, np.uint32)
        self._value = np.zeros(0, np.float64)
        self.hashed = 0  # dictionary entries hashed, for tests

    def hashes(self, dictionary: pa.Array, seed: int, strings: bool
               ) -> tuple[np.ndarray, np.ndarray]:
        """``(hashes, values)`` of the entries of ``dictionary``."""
        if not _is_text(dictionary.type) or dictionary.null_count:
            self._text = None  # rare (dictionaries of numbers, or with a null): no memo
            self.hashed += len(dictionary)
            h, v, _ = category_elements(dictionary, seed, strings)
            return h, v
        offsets, data = text_buffers(dictionary)
        known = 0
        if self._text is not None and starts_with(*self._text, offsets, data):
            known = len(self._text[0]) - 1
        if known < len(dictionary) or len(self._hash) != len(dictionary):
            h = np.empty(len(dictionary), np.uint32)
            v = np.empty(len(dictionary), np.float64)
            h[:known], v[:known] = self._hash[:known], self._value[:known]
            hash_strings(offsets[known:], data, _bitmap(dictionary), 0, seed, strings,
                         h[known:], v[known:])
            self.hashed += len(dictionary) - known
            self._hash, self._value = h, v
        self._text = (offsets, data)
        return self._hash, self._value


def _numbers(arr: pa.Array) -> np.ndarray:
    """The values buffer of a primitive array, as numpy (nulls' values arbitrary)."""
    values = np.frombuffer(arr.buffers()[1], arr.type.to_pandas_dtype())
    return values[arr.offset : arr.offset + len(arr)]


def _valid(arr: pa.Array) -> np.ndarray:
    """Which elements of ``arr`` are not null, as booleans."""
    if arr.null_count == 0:
        return np.ones(len(arr), bool)
    bits = np.unpackbits(np.frombuffer(arr.buffers()[0], np.uint8), bitorder="little")
    return bits[arr.offset : arr.offset + len(arr)].astype(bool)


def _floats(arr: pa.Array) -> np.ndarray:
    """float64 values as the csv text of the (not dictionary) array ``arr`` reads back, in a
    new array (nulls' values arbitrary)."""
    t = arr.type
    if (pa.types.is_integer(t) or pa.types.is_float64(t)) and arr.buffers()[1] is not None:
        return _numbers(arr).astype(np.float64)  # as Arrow's cast: to the nearest double
    if not pa.types.is_boolean(t):
        arr = _cast(arr, pa.large_string())  # float32, decimals: the value of their text
    return _cast(arr, pa.float64(), safe=False).to_numpy(zero_copy_only=False).copy()


def first_bad(arr: pa.Array, ok: np.ndarray) -> tuple[int, str] | None:
    """``(row, csv text)`` of the first value of ``arr`` where ``ok`` is false, or None."""
    bad = np.flatnonzero(~ok)
    if len(bad) == 0:
        return None
    i = int(bad[0])
    value = arr[i]
    if pa.types.is_dictionary(arr.type):
        value = value.value
    text = _cast(pa.array([value.as_py()], value.type), pa.string())[0].as_py()
    return i, text


def numeric_values(arr: pa.Array) -> tuple[np.ndarray, tuple[int, str] | None]:
    """The values of a numeric column (0.0 for null: no feature) and the first non-finite
    one's ``(row, text)``, or None.

    >>> numeric_values(pa.array([1.5, None], pa.float32()))[0].tolist()
    [1.5, 0.0]
    """
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    values = _floats(arr)
    if arr.null_count:
        values[~_valid(arr)] = 0.0
    return values, first_bad(arr, np.isfinite(values))


def label_values(arr: pa.Array, numeric: bool) -> tuple[np.ndarray, tuple[int, str] | None]:
    """Labels of a label column as the csv reader reads them and the first bad label's
    ``(row, text)``, or None: booleans, 0/1 and -1/1 (any number with ``numeric``), text
    as in csv; a null is NaN (no label).

    >>> label_values(pa.array([True, None, False]), False)[0].tolist()
    [1.0, nan, 0.0]
    >>> label_values(pa.array(["1", "x"]), False)[1]
    (1, 'x')
    """
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    valid = _valid(arr)
    if _is_text(arr.type):
        offsets, data = text_buffers(arr)
        labels = np.empty(len(arr), np.float64)
        flags = np.empty(len(arr), np.uint8)
        string_labels(offsets, data, _bitmap(arr), arr.offset, numeric, labels, flags)
        for i in np.flatnonzero(flags == LABEL_INEXACT).tolist():  # rare: long decimals
            labels[i] = float(arr[i].as_py())
        return labels, first_bad(arr, flags != LABEL_BAD)
    values = np.where(valid, _floats(arr), np.nan)
    if numeric:
        return values, first_bad(arr, ~valid | np.isfinite(values))
    labels = np.where(values == 1.0, 1.0, np.where((values == 0.0) | (values == -1.0), 0.0,
                                                     np.nan))
    return np.where(valid, labels, np.nan), first_bad(arr, ~valid | ~np.isnan(labels))
