"""The part of a model in training that its model file leaves out.

A model file holds what predicting and a warm start need: a warm start goes on from weights
brought up to date.  A run resumed from a checkpoint must go on bit for bit as if it had
never stopped, so a resumable checkpoint also holds the raw state: each row's step stamp,
with EMA the weight, average and iteration as training left them (not caught up), with
gradient accumulation the order of the accumulating rows, and the records gathered into a
step not applied yet (``--batch-size K``).
"""

from __future__ import annotations

import base64

import numpy as np

from ftrl_cli.checkpoint import Checkpoint
from ftrl_cli.kernels import layout as L
from ftrl_cli.model import Model


def exact_columns(model: Model) -> dict[str, np.ndarray]:
    """The raw columns, in the row order ``checkpoint.save`` writes (the touched rows).

    >>> from ftrl_cli.config import OptimizerConfig
    >>> m = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4)
    >>> _ = m.train_csr(np.array([0, 1]), np.array([3], np.int32), np.ones(1), np.ones(1))
    >>> sorted(exact_columns(m))
    ['state_stamp']
    """
    rows = np.flatnonzero(model.touched)
    cols = {"state_stamp": model.state[rows, L.T].astype(np.float64)}
    if model.config.use_ema:
        cols["state_weight"] = model.state[rows, L.W].astype(np.float64)
        cols["state_average"] = model.state[rows, model.cols[L.COL_AVG]].astype(np.float64)
        cols["state_ema_iteration"] = model.state[rows, model.cols[L.COL_EST]].astype(np.float64)
    if model.config.gradient_accumulation_steps:
        order = np.full(model.state.shape[0], -1, np.int64)
        npend = int(model.ctr[L.CTR_NPEND])
        order[model.pending[:npend]] = np.arange(npend)
        cols["pending_order"] = order[rows]
    return cols


def partial_step(model: Model) -> dict:
    """The step being gathered: its records, active rows (in order) and gradient sums.

    >>> from ftrl_cli.config import OptimizerConfig
    >>> m = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4)
    >>> _ = m.train_csr(np.array([0, 1]), np.array([3], np.int32), np.ones(1), np.ones(1),
    ...                 batch_size=4)
    >>> partial_step(m)["records"]
    1
    """
    nact = int(model.ctr[L.CTR_NACT])
    active = model.active[:nact].astype(np.int64)
    return {"records": int(model.ctr[L.CTR_ROWS]), "rows": _encode(active),
            "gradients": _encode(model.gbuf[active].astype(np.float64))}


def restore_exact(model: Model, ckpt: Checkpoint, step: dict) -> None:
    """Put the raw state of ``ckpt`` (written with `exact_columns`) and the partial
    ``step`` into ``model``, just restored from ``ckpt`` by ``checkpoint.restore``."""
    c = ckpt.columns
    rows = np.where(c["is_bias"], model.n_features, c["index"]).astype(np.int64)
    st = model.state
    st[rows, L.T] = c["state_stamp"]
    if model.config.use_ema:
        st[rows, L.W] = c["state_weight"]
        st[rows, model.cols[L.COL_AVG]] = c["state_average"]
        st[rows, model.cols[L.COL_EST]] = c["state_ema_iteration"]
    if model.config.gradient_accumulation_steps:
        order = c["pending_order"]
        pend = rows[order >= 0][np.argsort(order[order >= 0])]
        model.pending[: len(pend)] = pend
    active = _decode(step["rows"], np.int64)
    model.active[: len(active)] = active
    model.gbuf[active] = _decode(step["gradients"], np.float64)
    model.mark[active] |= L.MARK_ACTIVE
    model.ctr[L.CTR_NACT] = len(active)
    model.ctr[L.CTR_ROWS] = int(step["records"])


def _encode(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _decode(text: str, dtype: type) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).copy()
