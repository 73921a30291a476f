"""A plain NumPy FTRL learner over sparse records, written from Keras's update rule: the
reference for the compiled kernels' base margins and non-finite guard.

A record is a list of ``(coordinate, value)``; each record's margin is
``bias + sum(w[j] * v) + base``; a step is ``batch_size`` records (mean gradient), applied to
the coordinates present in them and the bias, as ``kernels.train`` does.
"""

from __future__ import annotations

import numpy as np
from test_kernels import keras_update_numpy


def ftrl_reference(records, labels, n_features, lr, batch_size=1, base=None,
                   initial_accumulator_value=0.1, squared=False):
    """``(kernel, bias, predictions, stopped)``: ``stopped`` is the row at which training
    stops (a non-finite margin, or the last row of a step that made a weight non-finite), or
    None.  ``squared``: Dense(1) on squared error (prediction = margin, gradient 2 (p - y))."""
    w = np.zeros(n_features + 1)
    z = np.zeros(n_features + 1)
    n = np.full(n_features + 1, initial_accumulator_value)
    bias = n_features
    preds = []
    with np.errstate(all="ignore"):
        for start in range(0, len(records), batch_size):
            rows = range(start, min(start + batch_size, len(records)))
            grad = {}
            for r in rows:
                margin = w[bias]
                for j, v in records[r]:
                    margin += w[j] * v
                if base is not None:
                    margin += base[r]
                if not np.isfinite(margin):
                    return w[:-1], w[-1], np.array(preds), r
                p = margin if squared else 1.0 / (1.0 + np.exp(-margin))
                preds.append(p)
                d = 2.0 * (p - labels[r]) if squared else p - labels[r]
                for j, v in records[r]:
                    grad[j] = grad.get(j, 0.0) + d * v
                grad[bias] = grad.get(bias, 0.0) + d
            for j, g in grad.items():
                w[j], z[j], n[j] = keras_update_numpy(w[j], z[j], n[j], g / len(rows), lr,
                                                      0.0, 0.0, 0.0, 0.0, -0.5)
            if not np.isfinite([w[j] for j in grad]).all():
                return w[:-1], w[-1], np.array(preds), rows[-1]
    return w[:-1], w[-1], np.array(preds), None


def to_csr(records):
    """``(indptr, indices, data)`` of the records, in their order (duplicates kept)."""
    indptr = np.cumsum([0] + [len(r) for r in records]).astype(np.int64)
    indices = np.array([j for r in records for j, _ in r], dtype=np.int32)
    data = np.array([v for r in records for _, v in r], dtype=np.float64)
    return indptr, indices, data
