"""A copy of what a model file is written from, to go back to after training on.

Only the rows ever touched are copied (a fraction of a 2^24-row table) with their step marks
and the counters; going back clears the rows touched since.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np

from ftrl_cli.atomic import atomic_binary
from ftrl_cli.kernels import layout as L
from ftrl_cli.model import Model


@dataclass
class ModelSnapshot:
    """The training state of a `Model` at one moment, between steps.

    >>> from ftrl_cli.config import OptimizerConfig
    >>> m = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4)
    >>> x = (np.array([0, 1]), np.array([3], np.int32), np.ones(1), np.ones(1))
    >>> _ = m.train_csr(*x)
    >>> snap = ModelSnapshot.capture(m)
    >>> _ = m.train_csr(np.array([0, 1]), np.array([7], np.int32), np.ones(1), np.ones(1))
    >>> snap.restore(m)
    >>> np.flatnonzero(m.touched).tolist(), m.iterations
    ([3, 16], 1)
    """

    rows: np.ndarray
    state: np.ndarray
    mark: np.ndarray
    pending: np.ndarray
    ctr: np.ndarray

    @classmethod
    def capture(cls, model: Model) -> ModelSnapshot:
        rows = model.touched_rows()
        return cls(rows, np.take(model.state, rows, axis=0), model.mark[rows],
                   model.pending[: model.ctr[L.CTR_NPEND]].copy(), model.ctr.copy())

    def restore(self, model: Model) -> None:
        """Put ``model`` back in the captured state (rows touched since become untouched)."""
        since = model.touched_rows()
        model.state[since] = 0
        model.mark[since] = 0
        model.state[self.rows] = self.state
        model.mark[self.rows] = self.mark
        model.pending[: len(self.pending)] = self.pending
        model.ctr[:] = self.ctr

    def save(self, path: str) -> None:
        """Write the snapshot to ``path`` (NumPy's npz), atomically.

        >>> import os, tempfile
        >>> from ftrl_cli.config import OptimizerConfig
        >>> m = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4)
        >>> p = os.path.join(tempfile.mkdtemp(), "best.npz")
        >>> ModelSnapshot.capture(m).save(p); ModelSnapshot.load(p).ctr.tolist()
        [0, 0, 0, 0, 0]
        """
        with atomic_binary(path) as fh:
            np.savez(fh, **dict(zip((f.name for f in fields(self)), astuple(self))))

    @classmethod
    def load(cls, path: str) -> ModelSnapshot:
        """A snapshot written by `save`."""
        with np.load(path) as z:
            return cls(**{f.name: z[f.name] for f in fields(cls)})
