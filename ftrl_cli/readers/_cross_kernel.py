"""Numba kernels of feature crosses: namespace matching for the parsers, products per row.

The parse kernels record, beside each feature's coordinate, its full 32-bit hash, its
namespace key (the namespace's hash seed, or with Vowpal Wabbit's letters its first byte)
and its term mask (which terms of the spec its namespace matches).  ``cross_rows`` then
appends each record's products after its own features.  A product's hash combines the full
hashes of its parts as Vowpal Wabbit does, with the FNV prime::

    h(a, b)    = (h(a) * 16777619) ^ h(b)            (mod 2**32)
    h(a, b, c) = (h(a, b) * 16777619) ^ h(c)

its coordinate is ``h & (2**hash_bits - 1)`` and its value the product of the values.
"""

from __future__ import annotations

import numpy as np

from ftrl_cli.kernels.jit import njit
from ftrl_cli.readers.crosses_spec import (
    K_ANY,
    K_GLOB,
    K_LETTER,
    R_DISTINCT,
    R_LESS,
    R_ORDERED,
)

FNV_PRIME = np.uint32(16777619)
_STAR = 42
_QMARK = 63
_SPACE = 32


@njit(nogil=True, cache=True, inline="always")
def note(hashes, keys, terms, k, h, key, term_mask):
    """What crosses need of feature ``k``: its full hash, namespace key and term mask."""
    hashes[k] = h
    keys[k] = key
    terms[k] = term_mask


@njit(nogil=True, cache=True)
def glob_match(buf, s, e, pat, ps, pe):
    """Whether ``buf[s:e]`` matches the glob ``pat[ps:pe]`` (``*`` and ``?`` only).

    >>> glob_match(np.frombuffer(b"C12", np.uint8), 0, 3, np.frombuffer(b"C*", np.uint8), 0, 2)
    True
    """
    i, p, star, mark = s, ps, -1, s
    while i < e:
        if p < pe and (pat[p] == _QMARK or pat[p] == buf[i]) and pat[p] != _STAR:
            i += 1
            p += 1
        elif p < pe and pat[p] == _STAR:
            star = p
            mark = i
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            i = mark
        else:
            return False
    while p < pe and pat[p] == _STAR:
        p += 1
    return p == pe


@njit(nogil=True, cache=True)
def namespace_terms(buf, s, e, pat, off, kinds):
    """The term mask of the namespace named ``buf[s:e]`` (see ``Crosses.term_arrays``)."""
    mask = np.uint64(0)
    first = buf[s] if e > s else _SPACE
    for t in range(kinds.shape[0]):
        ps, pe = off[t], off[t + 1]
        kind = kinds[t]
        if kind == K_ANY:
            hit = True
        elif kind == K_LETTER:
            hit = first == pat[ps]
        elif kind == K_GLOB:
            hit = glob_match(buf, s, e, pat, ps, pe)
        else:
            hit = pe - ps == e - s
            k = 0
            while hit and k < e - s:
                hit = buf[s + k] == pat[ps + k]
                k += 1
        if hit:
            mask |= np.uint64(1) << np.uint64(t)
    return mask


@njit(nogil=True, cache=True, inline="always")
def _allowed(rule, ka, kb, keys):
    if rule == R_ORDERED:
        return kb >= ka
    if rule == R_LESS:
        return keys[ka] < keys[kb]
    if rule == R_DISTINCT:
        return keys[ka] != keys[kb]
    return keys[ka] != keys[kb] or kb >= ka


@njit(nogil=True, cache=True, inline="always")
def _mix(h):
    return np.uint32(np.uint32(h) * FNV_PRIME)


@njit(nogil=True, cache=True)
def _by_key(members, n, keys):
    """Sort ``members[:n]`` by namespace key, in place (a row has a few dozen features)."""
    for i in range(1, n):
        k = members[i]
        j = i - 1
        while j >= 0 and keys[members[j]] > keys[k]:
            members[j + 1] = members[j]
            j -= 1
        members[j + 1] = k


@njit(nogil=True, cache=True)
def _pairs(out_idx, out_val, o, a, na, b, nb, rule, hashes, keys, data, mask):
    """The products of two member lists under ``rule``; returns the new output length.

    ``a`` and ``b`` are rows of ``(feature, hash, key, value)`` member tables (see
    ``cross_rows``).  For a term paired with itself ``a`` is ``b``: in record order for
    ``R_ORDERED``, sorted by key for ``R_LESS`` (each later namespace once, none with
    itself); the inner loops then read contiguous columns and vectorise.
    """
    ak, ah, akey, av = a
    bk, bh, bkey, bv = b
    for i in range(na):
        ha = _mix(ah[i])
        va = av[i]
        if rule == R_ORDERED or rule == R_LESS:
            j = i
            if rule == R_LESS:
                j = i + 1
                while j < nb and bkey[j] == akey[i]:
                    j += 1
            for jj in range(j, nb):
                out_idx[o + jj - j] = np.int64(ha ^ bh[jj]) & mask
                out_val[o + jj - j] = va * bv[jj]
            o += nb - j
            continue
        for j in range(nb):
            if bkey[j] == akey[i] and (rule == R_DISTINCT or bk[j] < ak[i]):
                continue
            out_idx[o] = np.int64(ha ^ bh[j]) & mask
            out_val[o] = va * bv[j]
            o += 1
    return o


@njit(nogil=True, cache=True)
def _triples(out_idx, out_val, o, g, groups, rules, members, count, hashes, keys, data, mask):
    """The products of a group of three terms (each pair of picks checked by its rule)."""
    t0, t1, t2 = groups[g, 0], groups[g, 1], groups[g, 2]
    r01, r02, r12 = rules[g, 0], rules[g, 1], rules[g, 2]
    for i in range(count[t0]):
        ka = members[t0, i]
        ha = _mix(hashes[ka])
        for j in range(count[t1]):
            kb = members[t1, j]
            if not _allowed(r01, ka, kb, keys):
                continue
            hab = _mix(ha ^ np.uint32(hashes[kb]))
            vab = data[ka] * data[kb]
            for q in range(count[t2]):
                kc = members[t2, q]
                if _allowed(r02, ka, kc, keys) and _allowed(r12, kb, kc, keys):
                    out_idx[o] = np.int64(hab ^ np.uint32(hashes[kc])) & mask
                    out_val[o] = vab * data[kc]
                    o += 1
    return o


@njit(nogil=True, cache=True)
def _collect(terms, s, e, members, count):
    """Each term's features of the row ``[s, e)``, in record order."""
    count[:] = 0
    for k in range(s, e):
        m = terms[k]
        t = 0
        while m != 0:
            if m & np.uint64(1):
                members[t, count[t]] = k
                count[t] += 1
            m >>= np.uint64(1)
            t += 1


@njit(nogil=True, cache=True)
def cross_rows(indptr, indices, data, hashes, keys, terms, groups, rules, n_terms, mask):
    """Each row's features followed by its products: ``(indptr, indices, data)``.

    ``hashes``, ``keys`` and ``terms`` are the parsers' per-feature full hash, namespace
    key and term mask; ``groups``/``rules`` as in ``Crosses``.
    """
    n = indptr.shape[0] - 1
    longest = 1
    for r in range(n):
        longest = max(longest, indptr[r + 1] - indptr[r])
    members = np.empty((n_terms, longest), np.int64)
    count = np.zeros(n_terms, np.int64)
    # a bound on the products; pages past what is written are never touched
    bound = indptr[n]
    for r in range(n):
        _collect(terms, indptr[r], indptr[r + 1], members, count)
        for g in range(groups.shape[0]):
            c0 = count[groups[g, 0]]
            if groups[g, 2] >= 0:
                bound += c0 * count[groups[g, 1]] * count[groups[g, 2]]
            elif groups[g, 0] == groups[g, 1]:  # R_ORDERED or R_LESS: at most i <= j
                bound += c0 * (c0 + 1) // 2
            else:
                bound += c0 * count[groups[g, 1]]
    out_idx = np.empty(bound, indices.dtype)
    out_val = np.empty(bound, np.float64)
    out_ptr = np.empty(n + 1, indptr.dtype)
    out_ptr[0] = 0
    # a term crossed with itself under R_LESS reads its members sorted by key
    by_key = np.zeros(n_terms, np.bool_)
    for g in range(groups.shape[0]):
        if groups[g, 2] < 0 and rules[g, 0] == R_LESS:
            by_key[groups[g, 0]] = True
    # per term: its features, their hashes, keys and values, side by side
    mhash = np.empty((n_terms, longest), np.uint32)
    mkey = np.empty((n_terms, longest), np.uint32)
    mval = np.empty((n_terms, longest), np.float64)
    o = 0
    for r in range(n):
        s, e = indptr[r], indptr[r + 1]
        _collect(terms, s, e, members, count)
        for t in range(n_terms):
            if by_key[t]:
                _by_key(members[t], count[t], keys)
            for i in range(count[t]):
                k = members[t, i]
                mhash[t, i] = hashes[k]
                mkey[t, i] = keys[k]
                mval[t, i] = data[k]
        for k in range(s, e):
            out_idx[o] = indices[k]
            out_val[o] = data[k]
            o += 1
        for g in range(groups.shape[0]):
            if groups[g, 2] >= 0:
                o = _triples(out_idx, out_val, o, g, groups, rules, members, count, hashes,
                             keys, data, mask)
            else:
                t0, t1 = groups[g, 0], groups[g, 1]
                o = _pairs(out_idx, out_val, o,
                           (members[t0], mhash[t0], mkey[t0], mval[t0]), count[t0],
                           (members[t1], mhash[t1], mkey[t1], mval[t1]), count[t1],
                           rules[g, 0], hashes, keys, data, mask)
        out_ptr[r + 1] = o
    return out_ptr, out_idx[:o], out_val[:o]
