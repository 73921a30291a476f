"""Numba kernel for libsvm/svmlight text: ``label index[:value] ... [# comment]``."""

from __future__ import annotations

import math

import numpy as np

from ftrl_cli.kernels.jit import njit
from ftrl_cli.readers._parse_common import (
    BAD,
    CR,
    DONE,
    E_INDEX,
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
    NNZ,
    NNZ_FULL,
    NUMERIC_LABELS,
    POS,
    ROWS,
    ROWS_FULL,
    at,
    borrow,
    find_newline,
    is_space,
    label_error,
    parse_label,
    row_fix,
    save,
    scan_float,
)
from ftrl_cli.readers._parse_common import set_error as _set_error

_COLON = 58
_HASH = 35
_LINE_STOP = np.zeros(256, np.uint8)
_LINE_STOP[[10, 35]] = 1


@njit(nogil=True, cache=True)
def parse_libsvm(
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
):
    """Parse libsvm records from ``buf[st[POS]:end]``; returns a status."""
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
    pos = st[POS]
    line = st[LINE]
    rows = st[ROWS]
    nnz = st[NNZ]
    nfix = st[NFIX]
    maxrows = st[MAXROWS]
    numeric = st[NUMERIC_LABELS] != 0
    cap = data.shape[0]
    fcap = fix_idx.shape[0]
    status = DONE
    while True:
        if pos >= end:
            status = DONE if final else NEED_MORE
            break
        # one pass finds both the comment and the end of the line
        le = pos
        while le < end and _LINE_STOP[at(buf, le)] == 0:
            le += 1
        eol = le
        if le < end and buf[le] == _HASH:
            eol = find_newline(buf, le, end)
        if eol == end and not final:
            status = NEED_MORE
            break
        nxt = eol + 1 if eol < end else end
        while le > pos and (is_space(buf[le - 1]) or buf[le - 1] == CR):
            le -= 1
        q = pos
        while q < le and is_space(buf[q]):
            q += 1
        if q == le:
            pos = nxt
            line += 1
            continue
        if rows >= maxrows:
            status = ROWS_FULL
            break
        p = q
        while p < le and not is_space(at(buf, p)):
            p += 1
        label, inexact = parse_label(buf, q, p, numeric)
        if math.isnan(label):
            _set_error(st, label_error(numeric), line, q, p, 0)
            status = ERROR
            break
        rec_nnz = nnz
        rec_nfix = nfix
        if inexact:
            if nfix >= fcap:
                status = FIX_FULL
                break
            nfix = row_fix(fix_idx, fix_kind, fix_s, fix_e, fix_mult, nfix, rows, FIX_LABEL,
                           q, p)
        while p < le:
            if is_space(buf[p]):
                p += 1
                continue
            fs = p
            idx = 0
            ndig = 0
            while p < le and at(buf, p) >= 48 and at(buf, p) <= 57:
                # the index only matters modulo 2**hash_bits, so it never overflows
                idx = ((idx & mask) * 10 + (buf[p] - 48)) & mask
                ndig += 1
                p += 1
            if ndig == 0 or (p < le and buf[p] != _COLON and not is_space(buf[p])):
                while p < le and not is_space(at(buf, p)):
                    p += 1
                _set_error(st, E_INDEX, line, fs, p, 0)
                status = ERROR
                break
            value = 1.0
            kind = 1
            vs = p + 1
            if p < le and buf[p] == _COLON:
                kind, value, p = scan_float(buf, vs, le)
                if kind == BAD or not math.isfinite(value) or (p < le and not is_space(buf[p])):
                    while p < le and not is_space(at(buf, p)):
                        p += 1
                    _set_error(st, E_VALUE, line, fs, p, 0)
                    status = ERROR
                    break
            inexact = kind == INEXACT
            if value == 0.0 and not inexact:
                continue
            if nnz >= cap:
                status = NNZ_FULL
                break
            if inexact:
                if nfix >= fcap:
                    status = FIX_FULL
                    break
                fix_idx[nfix] = nnz
                fix_kind[nfix] = FIX_DATA
                fix_s[nfix] = vs
                fix_e[nfix] = p
                fix_mult[nfix] = 1.0
                nfix += 1
            indices[nnz] = idx
            data[nnz] = value
            nnz += 1
        if status != DONE:
            nnz = rec_nnz
            nfix = rec_nfix
            break
        labels[rows] = label
        weights[rows] = 1.0
        lines[rows] = line
        tag_s[rows] = -1
        tag_e[rows] = -1
        rows += 1
        indptr[rows] = nnz
        pos = nxt
        line += 1
    save(st, pos, line, rows, nnz, nfix)
    return status
