"""Numba kernels hashing Arrow columns straight from their buffers.

A column of a record batch becomes *elements*: one per row for a scalar column, one per list
element for a list column.  ``hash_strings`` hashes every element of a string array (its
offsets, data and validity bitmap) as the csv kernel hashes a field's text,
``hash_integers`` the values of an integer array as their decimal text, ``gather_codes``
a dictionary-encoded column from its dictionary's hashes.  ``compact_rows`` then lays a
table of scalar columns (one row per record, one column per feature column) out as CSR
rows, ``merge_rows`` the elements of any columns (bags too), in column order, exactly as
the csv kernel would for the same record, with what crosses need of each feature.  A value
of 0.0 marks an element that is no feature (null, empty text, a numeric zero).  The
kernels write through strided views as well, so a column can go straight into its column
of the table.

>>> import numpy as np
>>> data = np.frombuffer(b"ab" + bytes(4), np.uint8)
>>> h, v = np.zeros(3, np.uint32), np.zeros(3)
>>> hash_strings(np.array([0, 1, 1, 2]), data, np.zeros(0, np.uint8), 0, 5, False, h, v)
>>> v.tolist()  # the empty string is missing
[1.0, 0.0, 1.0]
"""

from __future__ import annotations

import math

import numpy as np

from ftrl_cli.hashing import hash_decimal, hash_text
from ftrl_cli.kernels.jit import njit
from ftrl_cli.readers._cross_kernel import note
from ftrl_cli.readers._parse_common import is_space
from ftrl_cli.readers._parse_delimited import _label_field

# what ``string_labels`` says of each label
LABEL_OK, LABEL_BAD, LABEL_INEXACT = 0, 1, 2


@njit(nogil=True, cache=True, inline="always")
def is_valid(bitmap, offset, i):
    """Whether element ``i`` is not null (an empty ``bitmap``: no nulls)."""
    if bitmap.shape[0] == 0:
        return True
    j = offset + i
    return (bitmap[j >> 3] >> (j & 7)) & 1 == 1


@njit(nogil=True, cache=True)
def hash_strings(offsets, data, bitmap, bit_offset, seed, strings, out_hash, out_value):
    """Hash the ``len(offsets) - 1`` strings of an Arrow string array into ``out_hash``.

    ``out_value`` gets 1.0 for a feature, 0.0 for a null or empty string (missing, as an
    empty csv field is).  ``data`` must have ``HASH_PAD`` readable bytes after the last
    string (see ``ftrl_cli.hashing``).
    """
    for i in range(offsets.shape[0] - 1):
        s = np.int64(offsets[i])
        e = np.int64(offsets[i + 1])
        if e > s and is_valid(bitmap, bit_offset, i):
            out_hash[i] = hash_text(data, s, e, seed, strings)
            out_value[i] = 1.0
        else:
            out_hash[i] = 0
            out_value[i] = 0.0


@njit(nogil=True, cache=True)
def string_labels(offsets, data, bitmap, bit_offset, numeric, out_label, out_flag):
    """Labels from an Arrow string array as the csv kernel reads a label field.

    Spaces and tabs around the text are ignored; a null or empty label is NaN (no label).
    ``out_flag`` says ``LABEL_BAD`` for a label that is not one, ``LABEL_INEXACT`` for a
    number (``numeric``) that Python must convert to be correctly rounded.
    """
    for i in range(offsets.shape[0] - 1):
        s = np.int64(offsets[i])
        e = np.int64(offsets[i + 1])
        while s < e and is_space(data[s]):
            s += 1
        while e > s and is_space(data[e - 1]):
            e -= 1
        out_flag[i] = LABEL_OK
        out_label[i] = math.nan
        if e > s and is_valid(bitmap, bit_offset, i):
            label, inexact = _label_field(data, s, e, numeric)
            out_label[i] = label
            if inexact:
                out_flag[i] = LABEL_INEXACT
            elif math.isnan(label):
                out_flag[i] = LABEL_BAD


@njit(nogil=True, cache=True)
def hash_integers(values, bitmap, bit_offset, seed, strings, out_hash, out_value):
    """Hash integers (of at most 18 digits) as their decimal text, as ``hash_strings``
    hashes that text; a null is missing."""
    for i in range(values.shape[0]):
        # without a branch: count columns are often null at random
        ok = is_valid(bitmap, bit_offset, i)
        h = hash_decimal(np.int64(values[i]), seed, strings)
        out_hash[i] = h if ok else np.uint32(0)
        out_value[i] = 1.0 if ok else 0.0


@njit(nogil=True, cache=True)
def merge_rows(base, bag, ptrs, hashes, values, seeds, col_terms, mask, cross, indptr,
               indices, data, out_hashes, out_keys, out_terms):
    """CSR rows of every column's elements, column after column within a row.

    ``hashes``/``values`` hold the columns' elements one column after another, column ``k``'s
    from ``base[k]``: element ``base[k] + r`` is row ``r``'s, or for a bag column (``bag[k]
    >= 0``) the elements ``base[k] + ptrs[bag[k], r]`` up to ``base[k] + ptrs[bag[k], r+1]``.
    An element with value 0.0 is skipped.  Returns the number of features written.  With
    ``cross`` each feature's full hash, column seed and the column's term mask go to
    ``out_hashes``, ``out_keys`` and ``out_terms`` (see ``_cross_kernel``).
    """
    ncols = base.shape[0]
    nrows = indptr.shape[0] - 1
    nnz = 0
    indptr[0] = 0
    for r in range(nrows):
        for k in range(ncols):
            if bag[k] < 0:
                lo = base[k] + r
                hi = lo + 1
            else:
                lo = base[k] + ptrs[bag[k], r]
                hi = base[k] + ptrs[bag[k], r + 1]
            for e in range(lo, hi):
                v = values[e]
                if v != 0.0:
                    h = hashes[e]
                    if cross:
                        note(out_hashes, out_keys, out_terms, nnz, h, seeds[k], col_terms[k])
                    indices[nnz] = np.int64(h) & mask
                    data[nnz] = v
                    nnz += 1
        indptr[r + 1] = nnz
    return nnz


@njit(nogil=True, cache=True)
def gather_codes(codes, bitmap, bit_offset, dict_hash, dict_value, out_hash, out_value):
    """The hash and value of each row's dictionary entry (``codes`` index the dictionary's
    ``dict_hash``/``dict_value``); a null row is missing.

    >>> h, v = np.zeros(3, np.uint32), np.zeros(3)
    >>> gather_codes(np.array([1, 0, 1]), np.array([0b101], np.uint8), 0,
    ...              np.array([7, 9], np.uint32), np.ones(2), h, v)
    >>> h.tolist(), v.tolist()
    ([9, 0, 9], [1.0, 0.0, 1.0])
    """
    for i in range(codes.shape[0]):
        if is_valid(bitmap, bit_offset, i):
            c = codes[i]
            out_hash[i] = dict_hash[c]
            out_value[i] = dict_value[c]
        else:
            out_hash[i] = 0
            out_value[i] = 0.0


@njit(nogil=True, cache=True)
def starts_with(old_offsets, old_data, new_offsets, new_data):
    """Whether the strings of one string array are the first strings of another (each
    given by its offsets and bytes).

    >>> b = np.frombuffer(b"abcd", np.uint8)
    >>> old, new = np.array([0, 2]), np.array([0, 2, 3])
    >>> starts_with(old, b, new, b), starts_with(np.array([0, 1]), b, new, b)
    (True, False)
    """
    n = old_offsets.shape[0] - 1
    if new_offsets.shape[0] - 1 < n:
        return False
    for i in range(n):
        s, e = np.int64(old_offsets[i]), np.int64(old_offsets[i + 1])
        t = np.int64(new_offsets[i])
        if np.int64(new_offsets[i + 1]) - t != e - s:
            return False
        for j in range(e - s):
            if old_data[s + j] != new_data[t + j]:
                return False
    return True


@njit(nogil=True, cache=True)
def compact_rows(hashes, present, numbers, slots, seeds, col_terms, mask, cross, indptr,
                 indices, data, out_hashes, out_keys, out_terms):
    """CSR rows of a row-major table: row ``r``'s features are its columns' ``hashes[r, k]``
    where ``present[r, k]`` is not 0, in column order, with the value 1.0, or for a numeric
    column (``slots[k] >= 0``) ``numbers[r, slots[k]]``.

    Returns the number of features written; ``indices``, ``data`` (and with ``cross``
    ``out_hashes``, ``out_keys``, ``out_terms``, as in ``merge_rows``) need room for every
    cell.  Each cell is written then kept or overwritten, without a branch: nulls come in
    no order a branch predictor could follow.

    >>> ptr, idx, val = np.zeros(3, np.int32), np.zeros(4, np.int32), np.zeros(4)
    >>> none = np.zeros(1, np.uint32)
    >>> compact_rows(np.array([[5, 6], [7, 8]], np.uint32), np.array([[1, 0], [1, 1]], np.uint8),
    ...              np.array([[0.0], [2.5]]), np.array([-1, 0]), np.zeros(2, np.int64),
    ...              np.zeros(2, np.uint64), 3, False, ptr, idx, val, none, none,
    ...              np.zeros(1, np.uint64))
    3
    >>> ptr.tolist(), idx[:3].tolist(), val[:3].tolist()
    ([0, 1, 3], [1, 3, 0], [1.0, 1.0, 2.5])
    """
    nrows, ncols = hashes.shape
    nnz = 0
    indptr[0] = 0
    for r in range(nrows):
        for k in range(ncols):
            h = hashes[r, k]
            s = slots[k]
            if cross:
                note(out_hashes, out_keys, out_terms, nnz, h, seeds[k], col_terms[k])
            indices[nnz] = np.int64(h) & mask
            data[nnz] = 1.0 if s < 0 else numbers[r, s]
            nnz += present[r, k] != 0
        indptr[r + 1] = nnz
    return nnz
