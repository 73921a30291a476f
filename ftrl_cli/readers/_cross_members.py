"""Which features make each product of ``_cross_kernel.cross_rows``, for naming crosses.

``cross_members`` walks the rows as ``cross_rows`` does, in the same order and under the
same rules, but writes the positions of each product's two or three features instead of
the product: ``ftrl_cli.feature_names_read`` names a cross by the names of its parts.
"""

from __future__ import annotations

import numpy as np

from ftrl_cli.kernels.jit import njit
from ftrl_cli.readers._cross_kernel import _allowed, _by_key, _collect
from ftrl_cli.readers.crosses_spec import R_DISTINCT, R_LESS, R_ORDERED


@njit(nogil=True, cache=True)
def cross_members(indptr, keys, terms, groups, rules, n_terms):
    """``(n_products, 3)`` feature positions of each row's products (-1: no third part),
    rows one after another, each in the order ``cross_rows`` appends them.

    >>> from ftrl_cli.readers.crosses_spec import build
    >>> c = build(["a:b"], [])
    >>> cross_members(np.array([0, 3]), np.array([7, 8, 8]), np.array([1, 2, 2], np.uint64),
    ...               c.groups, c.rules, 2).tolist()
    [[0, 1, -1], [0, 2, -1]]
    """
    n = indptr.shape[0] - 1
    longest = 1
    for r in range(n):
        longest = max(longest, indptr[r + 1] - indptr[r])
    members = np.empty((n_terms, longest), np.int64)
    count = np.zeros(n_terms, np.int64)
    bound = 0
    for r in range(n):
        _collect(terms, indptr[r], indptr[r + 1], members, count)
        for g in range(groups.shape[0]):
            c0 = count[groups[g, 0]]
            if groups[g, 2] >= 0:
                bound += c0 * count[groups[g, 1]] * count[groups[g, 2]]
            else:
                bound += c0 * count[groups[g, 1]]
    out = np.empty((bound, 3), np.int64)
    by_key = np.zeros(n_terms, np.bool_)
    for g in range(groups.shape[0]):
        if groups[g, 2] < 0 and rules[g, 0] == R_LESS:
            by_key[groups[g, 0]] = True
    o = 0
    for r in range(n):
        _collect(terms, indptr[r], indptr[r + 1], members, count)
        for t in range(n_terms):
            if by_key[t]:
                _by_key(members[t], count[t], keys)
        for g in range(groups.shape[0]):
            t0, t1, t2 = groups[g, 0], groups[g, 1], groups[g, 2]
            if t2 >= 0:
                for i in range(count[t0]):
                    ka = members[t0, i]
                    for j in range(count[t1]):
                        kb = members[t1, j]
                        if not _allowed(rules[g, 0], ka, kb, keys):
                            continue
                        for q in range(count[t2]):
                            kc = members[t2, q]
                            if _allowed(rules[g, 1], ka, kc, keys) and \
                                    _allowed(rules[g, 2], kb, kc, keys):
                                out[o, 0], out[o, 1], out[o, 2] = ka, kb, kc
                                o += 1
                continue
            rule = rules[g, 0]
            nb = count[t1]
            for i in range(count[t0]):
                ka = members[t0, i]
                if rule == R_ORDERED or rule == R_LESS:
                    j = i
                    if rule == R_LESS:
                        j = i + 1
                        while j < nb and keys[members[t1, j]] == keys[ka]:
                            j += 1
                    for jj in range(j, nb):
                        out[o, 0], out[o, 1], out[o, 2] = ka, members[t1, jj], -1
                        o += 1
                    continue
                for j in range(nb):
                    kb = members[t1, j]
                    if keys[kb] == keys[ka] and (rule == R_DISTINCT or kb < ka):
                        continue
                    out[o, 0], out[o, 1], out[o, 2] = ka, kb, -1
                    o += 1
    return out[:o]
