"""Numba kernel for delimited text (csv, tsv, criteo) with RFC 4180 quoting.

Each column has a role: ignored, the label, categorical (hashed ``column=value``), numeric
(the column's own coordinate times the value) or log-binned integer (criteo counts).
"""

from __future__ import annotations

import math

import numpy as np

from ftrl_cli.hashing import hash_decimal, hash_text
from ftrl_cli.kernels.jit import njit
from ftrl_cli.readers._cross_kernel import note
from ftrl_cli.readers._parse_common import (
    BAD,
    CR,
    DONE,
    E_AFTER_QUOTE,
    E_COLUMNS,
    E_INTEGER,
    E_UNTERMINATED,
    E_VALUE,
    ERROR,
    FIX_DATA,
    FIX_FULL,
    FIX_LABEL,
    INEXACT,
    LINE,
    MAXROWS,
    NEED_MORE,
    NFIX,
    NL,
    NNZ,
    NNZ_FULL,
    NUMERIC_LABELS,
    POS,
    ROWS,
    ROWS_FULL,
    SPACE,
    TAB,
    borrow,
    field_end,
    is_space,
    label_error,
    parse_float,
    parse_int,
    parse_label,
    row_fix,
    save,
    set_error,
)

R_IGNORE, R_LABEL, R_CATEGORICAL, R_NUMERIC, R_LOG_BIN = range(5)
# log bins inside [BIN_LO, BIN_HI) come from a per-column table of coordinates
BIN_LO = -1024
BIN_HI = 2048

_DQ = 34
_OK = -1


@njit(nogil=True, cache=True)
def log_bin(v):
    """Bin of a count: ``v`` itself up to 2, then ``floor(ln(v)**2)``."""
    if v <= 2:
        return v
    return np.int64(math.floor(math.log(v) ** 2))


@njit(nogil=True, cache=True)
def _bool_label(arr, s, e):
    n = e - s
    if n == 4:
        if (
            (arr[s] | 32) == 116
            and (arr[s + 1] | 32) == 114
            and (arr[s + 2] | 32) == 117
            and (arr[s + 3] | 32) == 101
        ):
            return 1.0
    elif n == 5:
        if (
            (arr[s] | 32) == 102
            and (arr[s + 1] | 32) == 97
            and (arr[s + 2] | 32) == 108
            and (arr[s + 3] | 32) == 115
            and (arr[s + 4] | 32) == 101
        ):
            return 0.0
    return math.nan


@njit(nogil=True, cache=True)
def _unescape(buf, s, e, scratch):
    """Copy ``buf[s:e]`` to ``scratch`` turning each ``""`` into ``"``; returns the length."""
    n = 0
    p = s
    while p < e:
        scratch[n] = buf[p]
        n += 1
        p += 2 if buf[p] == _DQ else 1
    return n


@njit(nogil=True, cache=True)
def _label_field(buf, cs, ce, numeric):
    """0/1, -1/1 (or any number with ``numeric``) or true/false in any case (every
    delimited format): ``(label, inexact)`` as ``parse_label``, NaN if anything else."""
    label, inexact = parse_label(buf, cs, ce, numeric)
    if math.isnan(label):
        label = _bool_label(buf, cs, ce)
    return label, inexact


@njit(nogil=True, cache=True)
def parse_delimited(
    buf,
    end,
    final,
    st,
    indptr,
    indices,
    data,
    labels,
    weights,
    lines,
    tag_s,
    tag_e,
    fix_idx,
    fix_kind,
    fix_s,
    fix_e,
    fix_mult,
    mask,
    delim,
    quoting,
    roles,
    seeds,
    num_coord,
    bin_table,
    small_bins,
    strings,
    cross,
    col_terms,
    scratch,
    hashes,
    keys,
    terms,
):
    """Parse delimited records from ``buf[st[POS]:end]``; returns a status.

    ``num_coord`` and ``bin_table`` hold full 32-bit hashes (masked here).  With ``cross``
    each feature's full hash, column seed and the column's term mask (``col_terms``) go to
    ``hashes``, ``keys`` and ``terms`` (see ``_cross_kernel``).

    The per-field work is written out in the loop rather than in a helper returning a
    tuple of counters: it is the hottest code of the package.
    """
    # helpers get reference-count-free views (see ``borrow``)
    buf = borrow(buf)
    st = borrow(st)
    indices = borrow(indices)
    data = borrow(data)
    fix_idx = borrow(fix_idx)
    fix_kind = borrow(fix_kind)
    fix_s = borrow(fix_s)
    fix_e = borrow(fix_e)
    fix_mult = borrow(fix_mult)
    scratch = borrow(scratch)
    hashes = borrow(hashes)
    keys = borrow(keys)
    terms = borrow(terms)
    pos = st[POS]
    line = st[LINE]
    rows = st[ROWS]
    nnz = st[NNZ]
    nfix = st[NFIX]
    maxrows = st[MAXROWS]
    ncols = roles.shape[0]
    cap = data.shape[0]
    fcap = fix_idx.shape[0]
    numeric_labels = st[NUMERIC_LABELS] != 0
    status = DONE
    while True:
        if pos >= end:
            status = DONE if final else NEED_MORE
            break
        q = pos
        while q < end and (buf[q] == SPACE or buf[q] == CR or (buf[q] == TAB and delim != TAB)):
            q += 1
        if q == end and not final:
            status = NEED_MORE
            break
        if q == end or buf[q] == NL:
            pos = q + 1 if q < end else end
            line += 1
            continue
        if rows >= maxrows:
            status = ROWS_FULL
            break
        rec_line = line
        rec_nnz = nnz
        rec_nfix = nfix
        label = math.nan
        p = pos
        f = 0
        while True:
            fs = p
            esc = False
            if quoting and p < end and buf[p] == _DQ:
                q = p + 1
                closed = False
                while q < end:
                    c = buf[q]
                    if c == _DQ:
                        if q + 1 >= end and not final:
                            break
                        if q + 1 < end and buf[q + 1] == _DQ:
                            esc = True
                            q += 2
                            continue
                        closed = True
                        break
                    if c == NL:
                        line += 1
                    q += 1
                if not closed:
                    if final:
                        set_error(st, E_UNTERMINATED, rec_line, fs, q, f)
                        status = ERROR
                    else:
                        status = NEED_MORE
                    break
                cs = p + 1
                ce = q
                p = q + 1
                if p < end and buf[p] == CR and (p + 1 == end or buf[p + 1] == NL):
                    p += 1
                if p < end and buf[p] != delim and buf[p] != NL:
                    set_error(st, E_AFTER_QUOTE, rec_line, fs, p + 1, f)
                    status = ERROR
                    break
                if p == end and not final:
                    status = NEED_MORE
                    break
            else:
                q = field_end(buf, p, end, delim)
                if q == end and not final:
                    status = NEED_MORE
                    break
                cs = p
                ce = q
                p = q
                if (q == end or buf[q] == NL) and ce > cs and buf[ce - 1] == CR:
                    ce -= 1
            role = roles[f] if f < ncols else R_IGNORE
            f += 1
            if role == R_CATEGORICAL:
                if ce > cs:
                    if nnz >= cap:
                        status = NNZ_FULL
                        break
                    if esc:
                        n = _unescape(buf, cs, ce, scratch)
                        h = hash_text(scratch, 0, n, seeds[f - 1], strings)
                    else:
                        h = hash_text(buf, cs, ce, seeds[f - 1], strings)
                    if cross:
                        note(hashes, keys, terms, nnz, h, seeds[f - 1], col_terms[f - 1])
                    indices[nnz] = np.int64(h) & mask
                    data[nnz] = 1.0
                    nnz += 1
            elif role != R_IGNORE:
                while cs < ce and is_space(buf[cs]):
                    cs += 1
                while ce > cs and is_space(buf[ce - 1]):
                    ce -= 1
                if ce > cs:
                    v = 0
                    kind = BAD
                    value = 0.0
                    inexact_label = False
                    # a doubled quote is never part of a valid label or number
                    if role == R_LOG_BIN:
                        ok, v = parse_int(buf, cs, ce)
                        err = E_INTEGER if esc or not ok else 0
                    elif role == R_LABEL:
                        label, inexact_label = _label_field(buf, cs, ce, numeric_labels)
                        bad = esc or math.isnan(label)
                        err = label_error(numeric_labels) if bad else 0
                    else:
                        kind, value = parse_float(buf, cs, ce)
                        bad = esc or kind == BAD or not math.isfinite(value)
                        err = E_VALUE if bad else 0
                    if err != 0:
                        set_error(st, err, rec_line, fs, p, f - 1)
                        status = ERROR
                        break
                    if role == R_LOG_BIN:
                        if nnz >= cap:
                            status = NNZ_FULL
                            break
                        b = small_bins[v] if 0 <= v < small_bins.shape[0] else log_bin(v)
                        if BIN_LO <= b < BIN_HI:
                            hb = bin_table[f - 1, b - BIN_LO]
                        else:
                            hb = np.int64(hash_decimal(b, seeds[f - 1], strings))
                        if cross:
                            note(hashes, keys, terms, nnz, hb, seeds[f - 1], col_terms[f - 1])
                        indices[nnz] = hb & mask
                        data[nnz] = 1.0
                        nnz += 1
                    elif inexact_label:
                        if nfix >= fcap:
                            status = FIX_FULL
                            break
                        nfix = row_fix(fix_idx, fix_kind, fix_s, fix_e, fix_mult, nfix, rows,
                                       FIX_LABEL, cs, ce)
                    elif role == R_NUMERIC and (value != 0.0 or kind == INEXACT):
                        if nnz >= cap:
                            status = NNZ_FULL
                            break
                        if kind == INEXACT:
                            if nfix >= fcap:
                                status = FIX_FULL
                                break
                            fix_idx[nfix] = nnz
                            fix_kind[nfix] = FIX_DATA
                            fix_s[nfix] = cs
                            fix_e[nfix] = ce
                            fix_mult[nfix] = 1.0
                            nfix += 1
                        if cross:
                            note(hashes, keys, terms, nnz, num_coord[f - 1], seeds[f - 1],
                                 col_terms[f - 1])
                        indices[nnz] = num_coord[f - 1] & mask
                        data[nnz] = value
                        nnz += 1
            if p < end and buf[p] == delim:
                p += 1
                continue
            break
        if status == DONE and f != ncols:
            set_error(st, E_COLUMNS, rec_line, pos, p, f)
            status = ERROR
        if status != DONE:
            nnz = rec_nnz
            nfix = rec_nfix
            line = rec_line
            break
        labels[rows] = label
        weights[rows] = 1.0
        lines[rows] = rec_line
        tag_s[rows] = -1
        tag_e[rows] = -1
        rows += 1
        indptr[rows] = nnz
        pos = p + 1 if p < end else end
        line += 1
    save(st, pos, line, rows, nnz, nfix)
    return status


def small_log_bins(n: int) -> np.ndarray:
    """``log_bin(v)`` for ``v`` in ``range(n)``, so the kernel rarely needs a logarithm.

    Exactly what the kernel's ``math.log`` (C's ``log``) gives: numpy's vectorised ``log``
    may differ from it in the last bit, which can only move a bin edge by one value, so
    the values next to every edge are recomputed with ``math.log``.

    >>> small_log_bins(5).tolist()
    [0, 1, 2, 1, 1]
    """
    v = np.arange(n)
    approx = np.floor(np.log(np.maximum(v, 1)) ** 2)
    bins = np.where(v <= 2, v, approx).astype(np.int16)
    for edge in np.flatnonzero(np.diff(bins)) + 1:
        for u in range(max(3, edge - 2), min(n, edge + 3)):
            bins[u] = math.floor(math.log(u) ** 2)
    return bins


@njit(nogil=True, cache=True)
def bin_hashes(seed, strings, out):
    """Write into ``out`` the full hashes of the log bins ``BIN_LO..BIN_HI-1`` of a column
    whose seed is ``seed``, in the hash mode ``strings`` (true) or ``all``."""
    for b in range(BIN_LO, BIN_HI):
        out[b - BIN_LO] = np.int64(hash_decimal(b, seed, strings))
