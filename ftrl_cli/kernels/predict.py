"""Scoring: margins of CSR rows against a dense weight vector, and their probabilities.

The kernels write into arrays they are given. A kernel that allocates its result makes
numba load its array module when the kernel is loaded, about 20 ms of every ``ftrl predict``;
the small functions below allocate with numpy instead.
"""

import numpy as np

from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.memory import prefetch

NO_BASE = np.empty(0)  # what the kernels take for "no record has a base margin"


def base_margins(base: np.ndarray | None, n: int) -> np.ndarray:
    """``base`` as the kernels take it: ``n`` float64 margins, or `NO_BASE` for None.

    >>> base_margins(None, 3).shape, base_margins([1, 2], 2)
    ((0,), array([1., 2.]))
    """
    if base is None:
        return NO_BASE
    base = np.ascontiguousarray(base, dtype=np.float64)
    if base.shape != (n,):
        raise ValueError(f"base has shape {base.shape}, expected ({n},)")
    return base


def score(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, weights: np.ndarray,
          bias: float, logistic: bool = True, base: np.ndarray | None = None) -> np.ndarray:
    """Each CSR row's probability (its margin if not ``logistic``) under ``weights``/``bias``.

    ``base``, if given, is each row's base margin, added to its margin.

    >>> score(np.array([0, 1, 1]), np.array([2]), np.array([3.0]), np.ones(4), -3.0)
    array([0.5       , 0.04742587])
    >>> score(np.array([0, 1, 1]), np.array([2]), np.array([3.0]), np.ones(4), -3.0,
    ...       base=np.array([0.0, 3.0]))
    array([0.5, 0.5])
    """
    out = np.empty(len(indptr) - 1)
    _score_into(indptr, indices, values, weights, bias, logistic, base_margins(base, len(out)),
                out)
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
def _score_into(indptr, indices, values, weights, bias, logistic, base, out):
    has_base = base.shape[0] != 0
    n = indptr.shape[0] - 1
    for r in range(n):
        if r + 1 < n:
            for k in range(indptr[r + 1], indptr[r + 2]):
                prefetch(weights, indices[k])
        m = bias
        for k in range(indptr[r], indptr[r + 1]):
            m += weights[indices[k]] * values[k]
        if has_base:
            m += base[r]
        out[r] = _logistic(m) if logistic else m


@njit(nogil=True, cache=True)
def _logistic_into(m, out):
    for i in range(m.shape[0]):
        out[i] = _logistic(m[i])
