"""Numba kernel for Vowpal Wabbit text: ``label [importance] ['tag]|ns[:scale] f[:v] ...``."""

from __future__ import annotations

import math

import numpy as np

from ftrl_cli.hashing import hash_text, murmur3_32_padded
from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.memory import load_u64le, trailing_zeros
from ftrl_cli.readers._cross_kernel import namespace_terms, note
from ftrl_cli.readers._parse_common import (
    BAD,
    CR,
    DONE,
    E_BASE,
    E_HEADER_TOKEN,
    E_SCALE,
    E_VALUE,
    E_WEIGHT,
    ERROR,
    FIX_BASE,
    FIX_DATA,
    FIX_FULL,
    FIX_LABEL,
    FIX_WEIGHT,
    INEXACT,
    LINE,
    MAXROWS,
    NEED_MORE,
    NFIX,
    NNZ,
    NNZ_FULL,
    NUMERIC_LABELS,
    ONES,
    POS,
    ROWS,
    ROWS_FULL,
    at,
    borrow,
    find_newline,
    is_space,
    label_error,
    parse_float,
    parse_label,
    row_fix,
    save,
    scan_float,
    set_error,
    zero_bytes,
)

_BAR = 124
_COLON = 58
_QUOTE = 39
_HASH = 35
_OK = -1
# bytes that end a feature name / a token: one table lookup instead of several compares
_NAME_STOP = np.zeros(256, np.uint8)
_NAME_STOP[[9, 32, 58, 124]] = 1
_TOKEN_STOP = np.zeros(256, np.uint8)
_TOKEN_STOP[[9, 32, 124]] = 1


_TABS = ONES * np.uint64(9)
_SPACES = ONES * np.uint64(32)
_COLONS = ONES * np.uint64(_COLON)
_BARS = ONES * np.uint64(_BAR)


@njit(nogil=True, cache=True, inline="always")
def _name_end(buf, p, le):
    """Index of the first tab, space, ``:`` or ``|`` in ``buf[p:le]``, or ``le``; eight bytes
    at a time, like ``field_end``."""
    while p + 8 <= le:
        w = load_u64le(buf, p)
        hits = (zero_bytes(w ^ _TABS) | zero_bytes(w ^ _SPACES) | zero_bytes(w ^ _COLONS)
                | zero_bytes(w ^ _BARS))
        if hits != 0:
            return p + np.int64(trailing_zeros(hits) >> np.uint64(3))
        p += 8
    while p < le and _NAME_STOP[at(buf, p)] == 0:
        p += 1
    return p


@njit(nogil=True, cache=True, inline="always")
def _name_hash(buf, fs, ne, seed, strings, k):
    """The hash of the name ``buf[fs:ne]``; with ``strings`` a nameless feature is the
    namespace seed plus its number ``k`` in the ``|ns`` group, as in Vowpal Wabbit."""
    if strings and fs == ne:
        return np.uint32(seed + k)
    return hash_text(buf, fs, ne, seed, strings)


@njit(nogil=True, cache=True)
def _string_value(buf, p, le, fs, ne, seed, strings, anon):
    """``name:`` with no number at ``p``: Vowpal Wabbit reads the next word (after spaces) as
    a string value, hashed with the name's hash as seed; none left: the name alone.

    Returns ``(hash, anon, end of what was read)``.
    """
    while p < le and is_space(buf[p]):
        p += 1
    ve = p
    while ve < le and not is_space(buf[ve]):
        ve += 1
    if ve == p:
        h = _name_hash(buf, fs, ne, seed, strings, anon)
        return h, anon + (strings and fs == ne), le
    inner = hash_text(buf, fs, ne, seed, strings)
    return hash_text(buf, p, ve, inner, strings), anon, ve


@njit(nogil=True, cache=True)
def _features(
    buf, p, le, line, nnz, nfix, indices, data, fix_idx, fix_kind, fix_s, fix_e, fix_mult, mask,
    strings, st, cross, letters, pat, pat_off, pat_kind, hashes, keys, terms
):
    """Parse the namespaces from the first ``|`` at ``p``: ``(status, nnz, nfix)``.

    With ``cross`` each feature's full hash, namespace key and term mask go to ``hashes``,
    ``keys`` and ``terms`` (see ``_cross_kernel``).
    """
    cap = data.shape[0]
    fcap = fix_idx.shape[0]
    while p < le:
        p += 1  # past '|'
        ns_s = p
        while p < le and _TOKEN_STOP[at(buf, p)] == 0:
            p += 1
        ns_e = p
        scale = 1.0
        colon = ns_s
        while colon < ns_e and buf[colon] != _COLON:
            colon += 1
        if colon < ns_e:
            kind, scale = parse_float(buf, colon + 1, ns_e)
            if kind == BAD or not math.isfinite(scale):
                set_error(st, E_SCALE, line, ns_s, ns_e, 0)
                return ERROR, nnz, nfix
        seed = hash_text(buf, ns_s, colon, 0, strings)
        anon = 0
        ns_key = np.uint32(0)
        ns_terms = np.uint64(0)
        if cross:
            ns_terms = namespace_terms(buf, ns_s, colon, pat, pat_off, pat_kind)
            if letters:
                # Vowpal Wabbit's feature space: the first byte, ' ' for a bare '|'
                ns_key = np.uint32(buf[ns_s] if colon > ns_s else 32)
            else:
                ns_key = np.uint32(seed)
        while p < le:
            c = buf[p]
            if c == _BAR:
                break
            if is_space(c):
                p += 1
                continue
            fs = p
            p = _name_end(buf, p, le)
            name_end = p
            value = scale
            inexact = False
            if p < le and buf[p] == _COLON:
                if p + 1 == le or _TOKEN_STOP[buf[p + 1]] != 0:
                    if nnz >= cap:
                        return NNZ_FULL, nnz, nfix
                    h, anon, p = _string_value(buf, p + 1, le, fs, name_end, seed, strings, anon)
                    if cross:
                        note(hashes, keys, terms, nnz, h, ns_key, ns_terms)
                    indices[nnz] = np.int64(h) & mask
                    data[nnz] = 1.0  # as Vowpal Wabbit: a string value is 1, unscaled
                    nnz += 1
                    continue
                kind, v, p = scan_float(buf, p + 1, le)
                value = v * scale
                if kind == BAD or not math.isfinite(value) or (p < le and _TOKEN_STOP[buf[p]] == 0):
                    while p < le and _TOKEN_STOP[at(buf, p)] == 0:
                        p += 1
                    set_error(st, E_VALUE, line, fs, p, 0)
                    return ERROR, nnz, nfix
                inexact = kind == INEXACT
            nameless = strings and fs == name_end
            if nameless:
                anon += 1  # Vowpal Wabbit numbers the zero-valued nameless features too
            if (value == 0.0 and not inexact) or scale == 0.0:
                continue
            if nnz >= cap:
                return NNZ_FULL, nnz, nfix
            if inexact:
                if nfix >= fcap:
                    return FIX_FULL, nnz, nfix
                fix_idx[nfix] = nnz
                fix_kind[nfix] = FIX_DATA
                fix_s[nfix] = name_end + 1
                fix_e[nfix] = p
                fix_mult[nfix] = scale
                nfix += 1
            # written out rather than through _name_hash: that parsed 5% slower
            if not strings:
                h = murmur3_32_padded(buf, fs, name_end, seed)
            elif nameless:
                h = np.uint32(seed + anon - 1)
            else:
                h = hash_text(buf, fs, name_end, seed, True)
            if cross:
                note(hashes, keys, terms, nnz, h, ns_key, ns_terms)
            indices[nnz] = np.int64(h) & mask
            data[nnz] = value
            nnz += 1
    return _OK, nnz, nfix


@njit(nogil=True, cache=True)
def parse_vw(
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
    strings,
    cross,
    letters,
    pat,
    pat_off,
    pat_kind,
    hashes,
    keys,
    terms,
):
    """Parse vw records from ``buf[st[POS]:end]``; returns a status (see ``_parse_common``).

    ``cross`` and the arguments after it are for feature crosses (see ``_features``).
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
    hashes = borrow(hashes)
    keys = borrow(keys)
    terms = borrow(terms)
    pat = borrow(pat)
    pat_off = borrow(pat_off)
    pat_kind = borrow(pat_kind)
    pos = st[POS]
    line = st[LINE]
    rows = st[ROWS]
    nnz = st[NNZ]
    nfix = st[NFIX]
    maxrows = st[MAXROWS]
    numeric = st[NUMERIC_LABELS] != 0
    fcap = fix_idx.shape[0]
    status = DONE
    while True:
        if pos >= end:
            status = DONE if final else NEED_MORE
            break
        eol = find_newline(buf, pos, end)
        if eol == end and not final:
            status = NEED_MORE
            break
        le = eol
        if le > pos and buf[le - 1] == CR:
            le -= 1
        q = pos
        while q < le and is_space(buf[q]):
            q += 1
        if q == le or buf[q] == _HASH:
            pos = eol + 1 if eol < end else end
            line += 1
            continue
        if rows >= maxrows:
            status = ROWS_FULL
            break
        bar = q
        while bar < le and buf[bar] != _BAR:
            bar += 1
        # the last word before '|' (or of a line without one: a record with no features) is a
        # tag if it starts with ' or touches the '|' (the line's end), as in Vowpal Wabbit
        he = bar
        ts = -1
        te = -1
        t_end = bar
        while t_end > q and is_space(buf[t_end - 1]):
            t_end -= 1
        if t_end > q:
            t_start = t_end
            while t_start > q and not is_space(buf[t_start - 1]):
                t_start -= 1
            if t_end == bar or buf[t_start] == _QUOTE:
                ts = t_start + 1 if buf[t_start] == _QUOTE else t_start
                te = t_end
                he = t_start
        label = math.nan
        weight = 1.0
        lfix_s = -1
        lfix_e = -1
        wfix_s = -1
        wfix_e = -1
        bfix_s = -1
        bfix_e = -1
        ntok = 0
        p = q
        bad = False
        while p < he:
            if is_space(buf[p]):
                p += 1
                continue
            s = p
            while p < he and not is_space(buf[p]):
                p += 1
            ntok += 1
            if ntok == 1:
                label, inexact = parse_label(buf, s, p, numeric)
                if math.isnan(label):
                    set_error(st, label_error(numeric), line, s, p, 0)
                    bad = True
                    break
                if inexact:
                    lfix_s = s
                    lfix_e = p
            elif ntok == 2:
                kind, weight = parse_float(buf, s, p)
                if kind == BAD or not math.isfinite(weight) or weight < 0.0:
                    set_error(st, E_WEIGHT, line, s, p, 0)
                    bad = True
                    break
                if kind == INEXACT:
                    wfix_s = s
                    wfix_e = p
            elif ntok == 3:
                # Vowpal Wabbit's initial prediction; converted by the caller (it is rare)
                kind, base = parse_float(buf, s, p)
                if kind == BAD or not math.isfinite(base):
                    set_error(st, E_BASE, line, s, p, 0)
                    bad = True
                    break
                bfix_s = s
                bfix_e = p
            else:
                set_error(st, E_HEADER_TOKEN, line, s, p, 0)
                bad = True
                break
        if bad:
            status = ERROR
            break
        if nfix + (lfix_s >= 0) + (wfix_s >= 0) + (bfix_s >= 0) > fcap:
            status = FIX_FULL
            break
        rec_nfix = nfix
        if lfix_s >= 0:
            nfix = row_fix(fix_idx, fix_kind, fix_s, fix_e, fix_mult, nfix, rows, FIX_LABEL,
                           lfix_s, lfix_e)
        if wfix_s >= 0:
            nfix = row_fix(fix_idx, fix_kind, fix_s, fix_e, fix_mult, nfix, rows, FIX_WEIGHT,
                            wfix_s, wfix_e)
        if bfix_s >= 0:
            nfix = row_fix(fix_idx, fix_kind, fix_s, fix_e, fix_mult, nfix, rows, FIX_BASE,
                            bfix_s, bfix_e)
        code, new_nnz, new_nfix = _features(
            buf,
            bar,
            le,
            line,
            nnz,
            nfix,
            indices,
            data,
            fix_idx,
            fix_kind,
            fix_s,
            fix_e,
            fix_mult,
            mask,
            strings,
            st,
            cross, letters, pat, pat_off, pat_kind, hashes, keys, terms,
        )
        if code != _OK:
            nfix = rec_nfix
            status = code
            break
        nnz = new_nnz
        nfix = new_nfix
        labels[rows] = label
        weights[rows] = weight
        lines[rows] = line
        tag_s[rows] = ts
        tag_e[rows] = te
        rows += 1
        indptr[rows] = nnz
        pos = eol + 1 if eol < end else end
        line += 1
    save(st, pos, line, rows, nnz, nfix)
    return status
