"""Some records of a batch, picked by a mask, as a batch of their own."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ftrl_cli.readers.base import Batch


def take_rows(batch: Batch, keep: np.ndarray) -> Batch:
    """The records of ``batch`` where ``keep`` is true, in order, every per-record array cut.

    >>> b = Batch(np.array([0, 1, 3, 3]), np.array([5, 6, 7], np.int32), np.ones(3), 8,
    ...           np.array([1.0, 0.0, 1.0]), np.ones(3), np.array([1, 2, 3]), "x",
    ...           base=np.array([0.1, 0.2, 0.3]))
    >>> part = take_rows(b, np.array([False, True, True]))
    >>> part.indptr.tolist(), part.indices.tolist(), part.lines.tolist(), part.base.tolist()
    ([0, 2, 2], [6, 7], [2, 3], [0.2, 0.3])
    """
    if keep.all():
        return batch
    counts = np.diff(batch.indptr)
    entries = np.repeat(keep, counts)
    lo, hi = int(batch.indptr[0]), int(batch.indptr[-1])
    indptr = np.zeros(int(np.count_nonzero(keep)) + 1, dtype=batch.indptr.dtype)
    np.cumsum(counts[keep], out=indptr[1:])
    return replace(
        batch, indptr=indptr, indices=batch.indices[lo:hi][entries],
        data=batch.data[lo:hi][entries], labels=batch.labels[keep],
        weights=batch.weights[keep], lines=batch.lines[keep],
        tags=None if batch.tags is None else [t for t, k in zip(batch.tags, keep) if k],
        scores=None if batch.scores is None else batch.scores[keep],
        base=None if batch.base is None else batch.base[keep])
