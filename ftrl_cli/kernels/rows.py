"""Row selection of a CSR batch: the kept rows' entries copied into new, compact arrays.

The kernel writes into arrays it is given (see ``kernels.predict`` for why it allocates
nothing itself).
"""

from __future__ import annotations

import numpy as np

from ftrl_cli.kernels.jit import njit


def select_rows(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CSR arrays of the rows at positions ``rows`` (in that order).

    >>> ip, ix, d = select_rows(np.array([0, 2, 3, 5]), np.array([1, 4, 2, 0, 3], np.int32),
    ...                         np.arange(5.0), np.array([0, 2]))
    >>> ip.tolist(), ix.tolist(), d.tolist()
    ([0, 2, 4], [1, 4, 0, 3], [0.0, 1.0, 3.0, 4.0])
    """
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    new_indptr = np.zeros(len(rows) + 1, dtype=indptr.dtype)
    np.cumsum(indptr[rows + 1] - indptr[rows], out=new_indptr[1:])
    nnz = int(new_indptr[-1])
    new_indices = np.empty(nnz, dtype=indices.dtype)
    new_data = np.empty(nnz, dtype=data.dtype)
    _gather_into(indptr, indices, data, rows, new_indptr, new_indices, new_data)
    return new_indptr, new_indices, new_data


@njit(nogil=True, cache=True)
def _gather_into(indptr, indices, data, rows, new_indptr, new_indices, new_data):
    for r in range(rows.shape[0]):
        src = indptr[rows[r]]
        dst = new_indptr[r]
        for k in range(new_indptr[r + 1] - dst):
            new_indices[dst + k] = indices[src + k]
            new_data[dst + k] = data[src + k]


def nonzero_rows(table: np.ndarray, first: int, second: int) -> np.ndarray:
    """Indices (int64, ascending) of the rows of a 2-D table whose column ``first`` or
    ``second`` is not zero: one compiled pass, no table-sized temporaries.

    >>> nonzero_rows(np.array([[0.0, 1.0], [0.0, 0.0], [2.0, 0.0]]), 0, 1).tolist()
    [0, 2]
    """
    out = np.empty(table.shape[0], dtype=np.int64)  # only the pages written become resident
    n = _nonzero_rows_into(table, first, second, out)
    return out[:n].copy()


@njit(nogil=True, cache=True)
def _nonzero_rows_into(table, first, second, out):
    n = 0
    for i in range(table.shape[0]):
        if table[i, first] != 0 or table[i, second] != 0:
            out[n] = i
            n += 1
    return n
