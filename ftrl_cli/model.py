"""The trainable model: Keras's ``Dense(1)`` on hashed features, with its optimizer state.

Python keeps the arrays and the counters; ``kernels.train`` does every per-record operation.

>>> import numpy as np, scipy.sparse as sp
>>> m = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4)
>>> X = sp.csr_matrix(np.array([[1.0, 0, 0, 0] + [0] * 12]))
>>> p = m.train(X, np.array([1.0]))
>>> float(p[0]), m.iterations
(0.5, 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ftrl_cli.config import OptimizerConfig
from ftrl_cli.errors import NonFiniteError
from ftrl_cli.kernels import layout as L
from ftrl_cli.kernels.compact import CN, CZ, compact_margins, compact_weights, train_compact
from ftrl_cli.kernels.ftrl import catch_up_all
from ftrl_cli.kernels.online import scratch_sizes, train_online
from ftrl_cli.kernels.predict import NO_BASE, base_margins, probabilities
from ftrl_cli.kernels.rows import nonzero_rows
from ftrl_cli.kernels.state_score import state_margins
from ftrl_cli.kernels.train import flush_step, train_rows
from ftrl_cli.losses import LOGISTIC, Loss
from ftrl_cli.schedules import Schedule
from ftrl_cli.table_memory import prefault, zeros

if TYPE_CHECKING:  # the CLI trains on the readers' arrays and never imports scipy
    import scipy.sparse as sp


# From this table size on, ``ftrl train`` asks for compact rows: above it they are faster
# (more rows per page and cache line) as well as half the memory; below it, with the table
# mostly in cache, recomputing each weight costs the learner some 15%.
COMPACT_FROM_BITS = 23


class Model:
    """Weights and optimizer slots of a hashed linear model on a logistic or squared loss."""

    def __init__(
        self,
        config: OptimizerConfig,
        hash_bits: int,
        use_bias: bool = True,
        dtype: type = np.float64,
        loss: Loss = LOGISTIC,
        compact: bool = False,
    ) -> None:
        """``compact``: keep 16-byte rows (``kernels.compact``) where the configuration allows
        it; any use that needs the full rows (`state`) converts the model, exactly."""
        self.config = config.validate_training()
        self.dtype = np.dtype(dtype)
        self.loss = loss
        self.hash_bits = hash_bits
        self.use_bias = use_bias
        self.n_features = 1 << hash_bits
        rows = self.n_features + 1  # the last row is the bias
        self.cols = np.full(L.N_OPTIONAL, -1, dtype=np.int64)
        ncol = L.BASE_COLS
        if config.use_ema:
            self.cols[L.COL_AVG], self.cols[L.COL_EST] = ncol, ncol + 1
            ncol += 2
        if config.gradient_accumulation_steps:
            self.cols[L.COL_ACC] = ncol
            ncol += 1
        self._ncol = ncol
        self._compact = compact and self._compactable()
        # All zeros: untouched rows get their accumulator on first touch (kernels.layout.T).
        self._state = zeros((rows, 2 if self._compact else ncol), dtype=dtype)
        prefault(self._state)  # in the background, while the input starts to be read
        # The gather buffers of multi-record steps: calloc'd, so the online path, which
        # never touches them, pays no memory for them.
        self.gbuf = np.zeros(rows, dtype=np.float64)
        self.mark = np.zeros(rows, dtype=np.uint8)
        self.active = np.zeros(rows, dtype=np.int64)
        self.pending = np.zeros(rows if config.gradient_accumulation_steps else 1, dtype=np.int64)
        self.ctr = np.zeros(L.N_CTR, dtype=np.int64)
        self.hp = config.hyper_parameters(use_bias, loss.code)
        self._slots = np.empty(0, dtype=np.int64)  # the online kernel's repeat scratch
        self._gsum = np.empty(0, dtype=np.float64)
        self._wtmp = np.empty(0, dtype=np.float64)

    # ---- the state rows ----
    def _compactable(self) -> bool:
        """Whether every weight is exactly a function of its (linear, accumulator)."""
        c = self.config
        lr = c.learning_rate
        return (self.dtype == np.float64 and not callable(lr) and not isinstance(lr, Schedule)
                and not c.weight_decay and not c.use_ema and not c.gradient_accumulation_steps
                and not c.clipnorm and not c.global_clipnorm and c.learning_rate_power == -0.5)

    @property
    def compact(self) -> bool:
        """Whether the state is kept in 16-byte rows (see ``kernels.compact``)."""
        return self._compact

    @property
    def state(self) -> np.ndarray:
        """The state rows in the full layout of ``kernels.layout`` (a compact model is
        converted on first use, and stays converted)."""
        if self._compact:
            rows = self.touched_rows()
            full = zeros((self._state.shape[0], self._ncol), dtype=self.dtype)
            full[rows] = self._full_rows(rows)
            self._state, self._compact = full, False
        return self._state

    def _full_rows(self, rows: np.ndarray) -> np.ndarray:
        """Full-layout copies of compact ``rows``: weights recomputed, stamped as restored
        checkpoint rows are."""
        sub = np.zeros((len(rows), self._ncol), dtype=self.dtype)
        sub[:, L.Z] = self._state[rows, CZ]
        sub[:, L.N] = self._state[rows, CN]
        compact_weights(self._state, rows, self.hp, self._constant_lr(), sub[:, L.W])
        sub[:, L.T] = max(self.examples - 1, 0) % L.STAMP_MOD + 1
        return sub

    def _constant_lr(self) -> float:
        return float(self.config.learning_rate)

    # ---- counters ----
    @property
    def iterations(self) -> int:
        """Keras's ``optimizer._iterations``: steps applied, accumulation micro-steps included."""
        return int(self.ctr[L.CTR_IT])

    @iterations.setter
    def iterations(self, value: int) -> None:
        self.ctr[L.CTR_IT] = value

    @property
    def examples(self) -> int:
        return int(self.ctr[L.CTR_EXAMPLES])

    @examples.setter
    def examples(self, value: int) -> None:
        self.ctr[L.CTR_EXAMPLES] = value

    @property
    def touched(self) -> np.ndarray:
        """Boolean mask of the rows (kernel coordinates, then the bias) ever updated.

        A compact row whose every gradient was exactly zero, with an initial accumulator of
        0, still holds the starting state and counts as untouched."""
        mask = np.zeros(self._state.shape[0], dtype=bool)
        mask[self.touched_rows()] = True
        return mask

    def touched_rows(self) -> np.ndarray:
        """The rows of `touched`, ascending (int64)."""
        if self._compact:
            return nonzero_rows(self._state, CZ, CN)
        return nonzero_rows(self._state, L.T, L.T)

    # ---- training ----
    def _kernel_args(self) -> tuple:
        kind, params = self.config.learning_rate_kernel(self.iterations)
        return (self._state, self.gbuf, self.mark, self.active, self.pending,
                self.ctr, self.hp, self.cols, kind, params)

    def _online(self, batch_size: int) -> bool:
        """Whether the fused one-record-per-step kernel computes exactly this configuration."""
        c = self.config
        return (batch_size == 1 and self.ctr[L.CTR_ROWS] == 0 and not c.use_ema
                and not c.gradient_accumulation_steps and not c.clipnorm
                and not c.global_clipnorm)

    def train(
        self,
        X: sp.csr_matrix,
        labels: np.ndarray,
        weights: np.ndarray | None = None,
        batch_size: int = 1,
        base: np.ndarray | None = None,
    ) -> np.ndarray:
        """Train on the rows of ``X`` in order; return each row's prediction before its step
        (a probability for the logistic loss, the margin for the squared loss)."""
        return self.train_csr(X.indptr, X.indices, X.data, labels, weights, batch_size, base)

    def train_csr(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        data: np.ndarray,
        labels: np.ndarray,
        weights: np.ndarray | None = None,
        batch_size: int = 1,
        base: np.ndarray | None = None,
    ) -> np.ndarray:
        """`train` on a CSR matrix given as its three arrays, the way the readers emit them.

        ``base``, if given, holds each row's base margin (Vowpal Wabbit's initial prediction):
        a row's margin is ``base + w.x + bias``.  Raises :class:`NonFiniteError` at the first
        row whose margin or update is not finite (then the model must not be saved).

        >>> m = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4)
        >>> m.train_csr(np.array([0, 1]), np.array([0], np.int32), np.ones(1), np.ones(1))
        array([0.5])
        >>> fresh = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4)
        >>> fresh.train_csr(np.array([0, 0]), np.array([], np.int32), np.ones(0), np.ones(1),
        ...                 base=np.array([-2.0])).round(4)  # sigmoid(-2 + 0 + 0)
        array([0.1192])
        >>> from ftrl_cli.losses import SQUARED
        >>> reg = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4, loss=SQUARED)
        >>> reg.train_csr(np.array([0, 0]), np.array([], np.int32), np.ones(0), np.ones(1),
        ...               base=np.array([-2.0]))  # the margin itself
        array([-2.])
        """
        n = len(indptr) - 1
        if weights is None:
            weights = np.ones(n)
        base = base_margins(base, n)
        preds = np.empty(n)
        if callable(self.config.learning_rate) and not isinstance(self.config.learning_rate,
                                                                  Schedule):
            # A Python callable is asked once per step, as Keras does.
            for r in range(n):
                lo, hi = int(indptr[r]), int(indptr[r + 1])
                one = base[r : r + 1] if len(base) else NO_BASE
                self._train_rows(np.array([0, hi - lo]), indices[lo:hi], data[lo:hi],
                                 labels[r : r + 1], weights[r : r + 1], one, batch_size,
                                 preds[r : r + 1], first_row=r)
            return preds
        self._train_rows(indptr, indices, data, labels, weights, base, batch_size, preds)
        return preds

    def _train_rows(self, indptr, indices, data, labels, weights, base, batch_size, preds,
                    first_row=0):
        if self._compact and not self._online(batch_size):
            _ = self.state  # the general path works on full rows
        state, gbuf, mark, active, pending, ctr, hp, cols, kind, params = self._kernel_args()
        indptr = np.asarray(indptr).astype(np.int64, copy=False)
        data = np.asarray(data).astype(np.float64, copy=False)
        labels = np.asarray(labels, dtype=np.float64)
        weights = np.asarray(weights, dtype=np.float64)
        online = self._online(batch_size)
        if online:
            nslots, ngsum = scratch_sizes(indptr)
            if nslots > len(self._slots) or ngsum > len(self._gsum):
                self._slots = np.empty(max(nslots, len(self._slots)), dtype=np.int64)
                self._gsum = np.empty(max(ngsum, len(self._gsum)), dtype=np.float64)
                self._wtmp = np.empty_like(self._gsum)
            slots = self._slots[:nslots]
        if online and self._compact:
            code = train_compact(indptr, indices, data, labels, weights, base, self._state,
                                 self._wtmp, slots, self._gsum, ctr, hp, kind, params, preds)
        elif online:
            code = train_online(indptr, indices, data, labels, weights, base, state, slots,
                                self._gsum, ctr, hp, kind, params, preds)
        else:
            code = train_rows(indptr, indices, data, labels, weights, base, state, gbuf, mark,
                              active, pending, ctr, hp, cols, kind, params, int(batch_size),
                              preds)
        if code != L.OK:
            row, fail = divmod(int(code), 2)
            message = NonFiniteError.MARGIN if fail == L.FAIL_MARGIN else NonFiniteError.WEIGHT
            raise NonFiniteError(first_row + row, message)

    def flush(self) -> None:
        """Apply the gathered partial step, as Keras does with an epoch's last, short batch.

        Raises :class:`NonFiniteError` (``row`` None) if it made a weight non-finite.
        """
        if self.ctr[L.CTR_ROWS] == 0:
            return  # nothing gathered (always so for the online and compact kernels)
        if not flush_step(*self._kernel_args()):
            raise NonFiniteError(None, NonFiniteError.WEIGHT)

    def predict_csr(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        data: np.ndarray,
        base: np.ndarray | None = None,
    ) -> np.ndarray:
        """Each row's prediction as `train_csr` would report it now, without learning from it.

        >>> m = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4)
        >>> x = (np.array([0, 1]), np.array([3], np.int32), np.ones(1))
        >>> _ = m.train_csr(*x, np.ones(1))
        >>> p = m.predict_csr(*x)
        >>> p.round(4), m.iterations  # scoring is not a step
        (array([0.6995]), 1)
        >>> bool(m.train_csr(*x, np.ones(1))[0] == p[0])  # what the next step sees
        True
        """
        n = len(indptr) - 1
        margins = np.empty(n)
        self.margins_into(np.asarray(indptr), indices, np.asarray(data, dtype=np.float64),
                          base_margins(base, n), margins)
        return self.predictions(margins)

    def margins_into(self, indptr, indices, data, base, out) -> None:
        """`predict_csr`'s margins, written to ``out``: lean, for many small calls.

        ``indptr`` may be a slice of a larger matrix's (it need not start at 0); ``base`` is
        as `base_margins` returns it.
        """
        if self._compact:
            compact_margins(indptr, indices, data, base, self._state, self.hp,
                            self._constant_lr(), out)
            return
        row = np.empty((1, self.state.shape[1]), dtype=self.state.dtype)
        state_margins(indptr, indices, data, base, self.state, self.ctr, self.hp, self.cols,
                      *self._ema_args(), row, out)

    def predictions(self, margins: np.ndarray) -> np.ndarray:
        """The model's predictions for these margins: their logistic function for the
        logistic loss, the margins themselves for the squared loss."""
        return probabilities(margins) if self.loss.probabilistic else margins

    # ---- the moving average ----
    def _ema_args(self) -> tuple[int, int, float]:
        accum = self.config.gradient_accumulation_steps or 1
        return accum, int(self.hp[L.HP_EMA_FREQ]), float(self.config.ema_momentum)

    def sync(self) -> None:
        """Bring every lazily kept moving average up to the current iteration, in place."""
        if self.config.use_ema:
            rows = self.touched_rows()
            catch_up_all(self.state, rows, self.cols, self.iterations, *self._ema_args())

    def synced_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, state[rows])`` of the touched rows, moving averages brought up to date.

        A copy: reading the model (to save or serve it) leaves the training state exactly as
        it was, so training that goes on afterwards is bit-for-bit an uninterrupted run.
        """
        rows = self.touched_rows()
        if self._compact:
            return rows, self._full_rows(rows)
        # take() copies whole rows; indexing with [rows] goes element by element, 7x slower
        sub = np.take(self.state, rows, axis=0)
        if self.config.use_ema:
            catch_up_all(sub, np.arange(len(rows), dtype=np.int64), self.cols, self.iterations,
                         *self._ema_args())
        return rows, sub

    def finalizes_to_average(self) -> bool:
        """Keras's ``fit()`` ends by replacing the weights with their moving average."""
        return bool(self.config.use_ema)

    def serving_weights(self) -> tuple[np.ndarray, float]:
        """``(kernel, bias)`` as the trained model predicts: EMA-finalized where Keras does."""
        rows, sub = self.synced_rows()
        col = self.cols[L.COL_AVG] if self.finalizes_to_average() else L.W
        values = zeros(self.n_features + 1)
        values[rows] = sub[:, col]
        bias = float(values[self.n_features]) if self.use_bias else 0.0
        return values[: self.n_features], bias
