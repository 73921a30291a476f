"""How the workers' changes of one round become the next round's model.

Each worker trains from the round's model on its own records and reports, for every row
(coordinate) its records touched, the state before and after: weight, ``linear`` (z),
``accumulator`` (n) and the step stamp.  Per row:

* touched by one worker: its state after the round, as it is (so one worker gives exactly
  the single-process model);
* touched by several: the round's ``linear`` (z) and ``accumulator`` (n) plus the sum of
  those workers' increments (z and n are sums over the steps taken, so the increments of
  steps taken apart add up as the steps would), scaled down to twice their mean where more
  than two workers touched the row; the weight is recomputed from the merged z and n with
  the closed form every FTRL step ends with (``kernels.merge.weights_from_slots``).

Why not the plain sum: the workers' steps all start from the same weights, so on a
coordinate every worker sees often (the bias, a frequent category) each of them moves the
weight most of the way to where its records want it, and ``c`` summed increments move it
``c`` times as far.  Two is the edge of stability for such a step; from four workers on the
plain sum diverged on the bench data (logloss 2.0 instead of 0.47).  The mean alone (model
averaging, McDonald et al. 2010) is stable but counts a shared row's records ``1/c``: it
lost 0.8% of logloss with four workers where the capped sum lost 0.2% (``BENCHMARKS.md``).
A rare feature seen by one or two workers in the round keeps every increment.

The optimizer's iteration counter and the example count advance by the steps taken by all.
"""

from __future__ import annotations

import numpy as np

from ftrl_cli.kernels import layout as L
from ftrl_cli.kernels.merge import weights_from_slots

COLS = L.BASE_COLS  # weight, linear, accumulator, stamp
MAX_SUMMED = 2  # at most this many workers' increments count in full (see above)


def merge(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], lr: float, l1: float,
          l2: float, beta: float, power: float) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, state)`` of the merged rows, from each worker's ``(rows, before, after)``
    (rows ascending; ``before``/``after`` their first `COLS` state columns), in the workers'
    order.

    >>> before = np.array([[0.0, 0.0, 0.1, 0.0]])
    >>> a = (np.array([3]), before, np.array([[-0.1, 1.0, 0.2, 1.0]]))
    >>> b = (np.array([3, 5]), np.vstack([before, before]),
    ...      np.array([[-0.2, 2.0, 0.5, 1.0], [0.3, -1.0, 0.4, 1.0]]))
    >>> rows, st = merge([a], 0.1, 0.0, 0.0, 0.0, -0.5)  # one worker: its state
    >>> rows.tolist(), st.tolist() == a[2].tolist()
    ([3], True)
    >>> rows, st = merge([a, b], 0.1, 0.0, 0.0, 0.0, -0.5)
    >>> rows.tolist(), st[0, 1:3].round(12).tolist(), st[1].tolist() == b[2][1].tolist()
    ([3, 5], [3.0, 0.6], True)
    """
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return np.zeros(0, np.int64), np.zeros((0, COLS))
    rows = np.concatenate([p[0] for p in parts])
    before = np.concatenate([p[1] for p in parts]).astype(np.float64, copy=False)
    after = np.concatenate([p[2] for p in parts]).astype(np.float64, copy=False)
    # stable: a row's entries keep the workers' order, the first is the first worker's
    order = np.argsort(rows, kind="stable")
    rows, before, after = rows[order], before[order], after[order]
    first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    merged = after[first].copy()
    counts = np.diff(np.r_[first, len(rows)])
    shared = counts > 1
    if shared.any():
        # the increments' sum, or twice their mean where more than two workers touched the
        # row, added to the first one's state: first + total - the first's increment
        inc = after - before
        total = np.add.reduceat(inc, first)
        total *= (np.minimum(counts, MAX_SUMMED) / counts)[:, None]
        add = total - inc[first]
        merged[shared, L.Z] += add[shared, L.Z]
        merged[shared, L.N] += add[shared, L.N]
        z = np.ascontiguousarray(merged[shared, L.Z])
        n = np.ascontiguousarray(merged[shared, L.N])
        w = np.empty_like(z)
        weights_from_slots(z, n, lr, l1, l2, beta, power, w)
        merged[shared, L.W] = w
    return rows[first], merged
