"""Scoring: margins of CSR rows against a dense weight vector, and their probabilities.

The kernels write into arrays they are given. A kernel that allocates its result makes
numba load its array module when the kernel is loaded, about 20 ms of every ``ftrl predict``;
the small functions below allocate with numpy instead.
"""

import numpy as np

from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.memory import prefetch


def score(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, weights: np.ndarray,
          bias: float, logistic: bool = True) -> np.ndarray:
    """Each CSR row's probability (its margin if not ``logistic``) under ``weights``/``bias``.

    >>> score(np.array([0, 1, 1]), np.array([2]), np.array([3.0]), np.ones(4), -3.0)
    array([0.5       , 0.04742587])
    """
    out = np.empty(len(indptr) - 1)
    _score_into(indptr, indices, values, weights, bias, logistic, out)
    return out


def margins(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, weights: np.ndarray,
            bias: float) -> np.ndarray:
    """``bias + sum_k weights[indices[k]] * values[k]`` over each CSR row's entries.

    >>> margins(np.array([0, 2]), np.array([0, 3]), np.array([1.0, 2.0]), np.arange(4.0), 0.5)
    array([6.5])
    """
    return score(indptr, indices, values, weights, bias, logistic=False)


def probabilities(m: np.ndarray) -> np.ndarray:
    """The logistic function of each margin, stable for large ``|m|``.

    >>> probabilities(np.array([0.0, -800.0]))
    array([0.5, 0. ])
    """
    m = np.ascontiguousarray(m, dtype=np.float64)
    out = np.empty(m.shape[0])
    _logistic_into(m, out)
    return out


@njit(nogil=True, cache=True, inline="always")
def _logistic(x):
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


# Serial on purpose: each parse thread scores the batches it parsed, and a parallel loop's
# idle workers would spin and take CPU from them.
@njit(nogil=True, cache=True)
def _score_into(indptr, indices, values, weights, bias, logistic, out):
    n = indptr.shape[0] - 1
    for r in range(n):
        if r + 1 < n:
            for k in range(indptr[r + 1], indptr[r + 2]):
                prefetch(weights, indices[k])
        m = bias
        for k in range(indptr[r], indptr[r + 1]):
            m += weights[indices[k]] * values[k]
        out[r] = _logistic(m) if logistic else m


@njit(nogil=True, cache=True)
def _logistic_into(m, out):
    for i in range(m.shape[0]):
        out[i] = _logistic(m[i])
