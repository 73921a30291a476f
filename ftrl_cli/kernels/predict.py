"""Scoring: margins of CSR rows against a dense weight vector."""

import numpy as np

from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.memory import prefetch


# Serial on purpose: each parse thread scores the batches it parsed, and a parallel loop's
# idle workers would spin and take CPU from them.
@njit(nogil=True, cache=True)
def margins(indptr, indices, values, weights, bias):
    """``out[r] = bias + sum_k weights[indices[k]] * values[k]`` over row r's entries."""
    n = indptr.shape[0] - 1
    out = np.empty(n, dtype=np.float64)
    for r in range(n):
        if r + 1 < n:
            for k in range(indptr[r + 1], indptr[r + 2]):
                prefetch(weights, indices[k])
        m = bias
        for k in range(indptr[r], indptr[r + 1]):
            m += weights[indices[k]] * values[k]
        out[r] = m
    return out


@njit(nogil=True, cache=True)
def probabilities(m):
    """Logistic function, stable for large ``|m|``."""
    out = np.empty(m.shape[0], dtype=np.float64)
    for i in range(m.shape[0]):
        x = m[i]
        if x >= 0.0:
            out[i] = 1.0 / (1.0 + np.exp(-x))
        else:
            e = np.exp(x)
            out[i] = e / (1.0 + e)
    return out
