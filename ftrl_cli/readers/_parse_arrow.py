"""Numba kernels hashing Arrow columns straight from their buffers.

A column of a record batch becomes *elements*: one per row for a scalar column, one per list
element for a list column.  ``hash_strings`` hashes every element of a string array (its
offsets, data and validity bitmap) as the csv kernel hashes a field's text,
``hash_integers`` the values of an integer array as their decimal text; ``merge_rows``
then lays the elements of all the columns out as CSR rows, in column order, exactly as the
csv kernel would for the same record, with what crosses need of each feature.  A value of
0.0 marks an element that is no feature (null, empty text, a numeric zero).

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
        if is_valid(bitmap, bit_offset, i):
            out_hash[i] = hash_decimal(np.int64(values[i]), seed, strings)
            out_value[i] = 1.0
        else:
            out_hash[i] = 0
            out_value[i] = 0.0


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
