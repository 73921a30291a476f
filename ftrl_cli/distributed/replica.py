"""The worker's side of training: a copy of the model kept in the worker process across
rounds (a *replica*), and a task that trains one share of a round on it.

The replica of round ``r`` is the driver's model of round ``r``: each task brings the
previous round's merged changes, which the replica takes over (its own changes included),
so the driver never sends the whole model.  A worker without the replica (it joined late,
or was restarted after a crash) answers ``needs_model`` and gets the whole model once.

A worker's records are a *stream*: its pieces of the inputs, one after another, ``passes``
times.  Round ``r`` of a stream is its next ``rows`` records; the worker keeps the stream
open between rounds, and one that takes over a lost worker's stream opens it and passes
over the records done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ftrl_cli import checkpoint
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.distributed.pieces import Piece
from ftrl_cli.distributed.scoring import piece_errors
from ftrl_cli.errors import InputError, NonFiniteError
from ftrl_cli.kernels import layout as L
from ftrl_cli.losses import by_name
from ftrl_cli.model import Model
from ftrl_cli.readers import Batch, FeatureSpec, read_batches


@dataclass(frozen=True)
class Setup:
    """What every worker needs to build the first round's model and read its stream."""

    token: str  # this training run
    config: OptimizerConfig
    hash_bits: int
    use_bias: bool
    dtype: str
    loss: str
    spec: FeatureSpec
    streams: tuple[tuple[Piece, ...], ...]
    passes: int
    max_line_bytes: int
    init_model: str | None = None
    verify: bool = True

    def new_model(self) -> Model:
        """The model of round 0: fresh, or the ``--init-model`` read from its path."""
        dtype = np.dtype(self.dtype).type
        if self.init_model is not None:
            ckpt = checkpoint.load(self.init_model, verify=self.verify)
            return checkpoint.restore(ckpt, self.config, dtype)
        return Model(self.config, self.hash_bits, self.use_bias, dtype, by_name(self.loss))


class Stream:
    """The records of one stream, handed out ``rows`` at a time."""

    def __init__(self, setup: Setup, index: int) -> None:
        self.setup = setup
        self.position = 0
        self._batches = self._read(setup.streams[index])
        self._held: tuple[Piece, Batch, int] | None = None  # a batch begun, where it stands

    def _read(self, pieces: tuple[Piece, ...]) -> Iterator[tuple[Piece, Batch]]:
        s = self.setup
        for _ in range(s.passes):
            for piece in pieces:
                with piece_errors(piece):
                    for batch in read_batches([piece.path], s.spec, workers=1,
                                              max_line_bytes=s.max_line_bytes,
                                              **piece.read_args()):
                        if len(batch):
                            yield piece, batch

    def take(self, rows: int) -> list[tuple[Piece, Batch, int, int]]:
        """The next ``rows`` records (fewer at the stream's end) as ``(piece, batch, lo,
        hi)`` slices."""
        out = []
        while rows > 0:
            if self._held is None:
                nxt = next(self._batches, None)
                if nxt is None:
                    break
                self._held = (*nxt, 0)
            piece, batch, at = self._held
            hi = min(len(batch), at + rows)
            out.append((piece, batch, at, hi))
            rows -= hi - at
            self.position += hi - at
            self._held = None if hi == len(batch) else (piece, batch, hi)
        return out

    def skip(self, records: int) -> None:
        """Pass over ``records`` records (a stream taken over from a lost worker)."""
        while records > 0:
            done = sum(hi - lo for _, _, lo, hi in self.take(min(records, 1 << 20)))
            if not done:
                break
            records -= done


@dataclass
class Replica:
    setup: Setup
    model: Model
    version: int
    streams: dict[int, Stream]


_lock = threading.Lock()
_replicas: dict[str, Replica] = {}


def drop(token: str) -> bool:
    """Free the replica of run ``token`` (the driver calls this on every worker at the end)."""
    with _lock:
        return _replicas.pop(token, None) is not None


def _replica(setup: Setup, version: int, merged, full) -> Replica | None:
    rep = _replicas.get(setup.token)
    if full is not None:
        model = setup.new_model() if rep is None else rep.model
        rows, state, counters = full
        model.state[:] = 0
        model.state[rows] = state
        model.ctr[:] = counters
        rep = Replica(setup, model, version, {} if rep is None else rep.streams)
    elif rep is None and version == 0:
        rep = Replica(setup, setup.new_model(), 0, {})
    if rep is None:
        return None
    if rep.version == version - 1 and merged is not None:
        rows, state, counters = merged
        rep.model.state[rows, :L.BASE_COLS] = state
        rep.model.ctr[:] = counters
        rep.version = version
    if rep.version != version:
        return None
    _replicas.clear()  # one training run per worker at a time: an older one is over
    _replicas[setup.token] = rep
    return rep


def train_share(setup: Setup, version: int, merged, full, stream: int, position: int,
                rows: int) -> dict:
    """A task: train the replica on records ``[position, position + rows)`` of ``stream``
    and report the rows it touched, before and after (see ``merge_rule``), with the loss of
    each record's prediction before its step.

    ``merged`` is the previous round's merged change ``(rows, state, counters)``; ``full``
    the whole model of this round for a worker that has none.
    """
    from distributed import get_worker

    worker = get_worker().address
    with _lock:
        rep = _replica(setup, version, merged, full)
        if rep is None:
            return {"needs_model": True, "worker": worker}
        cursor = rep.streams.get(stream)
        if cursor is None or cursor.position != position:
            cursor = Stream(setup, stream)
            cursor.skip(position)
            rep.streams[stream] = cursor
        slices = cursor.take(rows)
        model = rep.model
        touched = _touched(model, slices)
        before = model.state[touched, :L.BASE_COLS].copy()
        it, ex = model.iterations, model.examples
        loss_sum = weight_sum = 0.0
        for piece, batch, lo, hi in slices:
            with piece_errors(piece):
                preds = _train(model, batch, lo, hi)
            w = batch.weights[lo:hi]
            loss_sum += float(model.loss.record_losses(batch.labels[lo:hi], preds, w).sum())
            weight_sum += float(w.sum())
        after = model.state[touched, :L.BASE_COLS].copy()
        return {"needs_model": False, "worker": worker, "rows": touched, "before": before,
                "after": after, "steps": model.iterations - it,
                "records": model.examples - ex, "loss": loss_sum, "weight": weight_sum,
                "end": len(slices) == 0 or sum(hi - lo for *_, lo, hi in slices) < rows}


def _touched(model: Model, slices) -> np.ndarray:
    """The rows the records of ``slices`` can change: their features and the bias."""
    parts = [batch.indices[batch.indptr[lo]:batch.indptr[hi]] for _, batch, lo, hi in slices]
    if model.use_bias:
        parts.append(np.array([model.n_features]))
    if not parts:
        return np.zeros(0, np.int64)
    return np.unique(np.concatenate(parts).astype(np.int64))


def _train(model: Model, batch: Batch, lo: int, hi: int) -> np.ndarray:
    """Train on records ``lo:hi`` of ``batch``, as ``ftrl train`` does (one step each)."""
    labels = batch.labels[lo:hi]
    missing = np.flatnonzero(np.isnan(labels))
    if missing.size:
        need = "0/1 or -1/1" if model.loss.probabilistic else "a number"
        raise InputError(batch.source, int(batch.lines[lo + missing[0]]),
                         f"record has no label (training needs {need})")
    try:
        return model.train_csr(batch.indptr[lo:hi + 1], batch.indices, batch.data, labels,
                               batch.weights[lo:hi], 1,
                               None if batch.base is None else batch.base[lo:hi])
    except NonFiniteError as e:
        row = hi - lo - 1 if e.row is None else e.row
        raise InputError(batch.source, int(batch.lines[lo + row]), e.message) from None
