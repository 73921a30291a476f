"""Resumable checkpoints of a running ``ftrl train``: written between batches, read back by
``--resume``.

One Parquet file written by ``checkpoint.save`` (so it is a model file too, replaced
atomically): the model, the raw training state (``ftrl_cli.training_state``) and, under the
metadata key ``resume``, where the run stands and what decides its result.  With a holdout,
the copy of the model after the best pass so far is a second file beside it, named by that
pass, written before the checkpoint that names it and removed after the next one no longer
does: a crash between any two writes leaves a checkpoint whose files are all there.
"""

from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass

from ftrl_cli import checkpoint
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.early_stopping import EarlyStopping
from ftrl_cli.errors import FtrlError
from ftrl_cli.feature_names import NameBook, names_to_save
from ftrl_cli.model import Model
from ftrl_cli.model_snapshot import ModelSnapshot
from ftrl_cli.progress import Progress
from ftrl_cli.readers.base import Batch, FeatureSpec
from ftrl_cli.resume import FORMAT_VERSION, META_KEY, Every, RunState, check_resumable
from ftrl_cli.sampling import NegativeSampler
from ftrl_cli.signals import Interrupted, Interrupts
from ftrl_cli.training_state import exact_columns, partial_step, restore_exact


def best_file(path: str, best_pass: int) -> str:
    """The file beside checkpoint ``path`` that holds the model after pass ``best_pass``.

    >>> best_file("m.ckpt.parquet", 2)
    'm.ckpt.parquet.best-pass-2.npz'
    """
    return f"{path}.best-pass-{best_pass}.npz"


@dataclass
class Resumed:
    """What an interrupted run left: its model, position and counters."""

    model: Model
    state: RunState
    meta: dict
    checkpoint: checkpoint.Checkpoint | None = None  # the file read (its feature names)

    def where(self, inputs: list[str]) -> str:
        """Where the run goes on, for the message that says so."""
        pos, n = self.state.position, self.state.pass_index + 1
        if pos is None:
            return f"the start of pass {n}"
        return f"{inputs[pos.input]}:{pos.line} (pass {n})"

    def restore_progress(self, progress: Progress, sampler: NegativeSampler | None) -> None:
        """Give ``progress`` and ``sampler`` the counts of the run so far."""
        progress.restore(self.meta["progress"])
        if sampler is not None:
            sampler.dropped = int(self.meta["negatives_dropped"])

    def early_stopping(self, path: str, patience: int) -> EarlyStopping | None:
        """The early stopping of the passes before (None: no holdout)."""
        d = self.meta.get("early_stopping")
        if d is None:
            return None
        best = None
        if d.get("best_file"):
            where = os.path.join(os.path.dirname(os.path.abspath(path)), d["best_file"])
            try:
                best = ModelSnapshot.load(where)
            except (OSError, ValueError, KeyError) as e:
                raise FtrlError(f"{where}: cannot read the best pass's model ({e}); the run "
                                "cannot be resumed") from None
        return EarlyStopping.from_dict(patience, d, best)


def load(path: str, config: OptimizerConfig, dtype: type, files: list[str],
         header: dict) -> Resumed:
    """The interrupted run of checkpoint ``path``, after checking that it may go on as the
    run of ``header`` (inputs, file digests, options) reading ``files``."""
    if not os.path.exists(path):
        raise FtrlError(f"{path}: no checkpoint to resume from (run without --resume to "
                        "start from the beginning)")
    ckpt = checkpoint.load(path)
    meta = ckpt.meta.get(META_KEY)
    if meta is None:
        raise FtrlError(f"{path}: a model file, not a checkpoint of an interrupted run")
    check_resumable(meta, path, header["inputs"], files, header["options"])
    model = checkpoint.restore(ckpt, config, dtype)
    restore_exact(model, ckpt, meta["step"])
    return Resumed(model, RunState.from_dict(meta["state"]), meta, ckpt)


class RunCheckpoints:
    """Writes the checkpoints of one run at batch ends: when ``every`` says one is due, and
    on a stopping signal (then raising `Interrupted`)."""

    def __init__(self, path: str, every: Every | None, model: Model, spec: FeatureSpec,
                 extra: dict, header: dict, progress: Progress,
                 sampler: NegativeSampler | None, interrupts: Interrupts | None,
                 started: float) -> None:
        self.path = path
        self.every = every
        self.model = model
        self.spec = spec
        self.extra = extra
        self.header = header  # inputs, file digests, options
        self.progress = progress
        self.sampler = sampler
        self.interrupts = interrupts
        self.stopping: EarlyStopping | None = None
        self.started = started  # perf_counter() of the start, the interrupted runs' included
        self._last_time = time.perf_counter()
        self._records = 0
        self._best_written: int | None = None
        self.names: NameBook | None = None  # feature names written with each checkpoint

    def seconds(self) -> float:
        """Seconds of training so far, the interrupted runs' included."""
        return time.perf_counter() - self.started

    def after_batch(self, state: RunState, batch: Batch) -> None:
        """``batch`` (of ``state``'s pass, read up to ``state``) is learnt from."""
        self._records += len(batch)
        signum = self.interrupts.signum if self.interrupts is not None else None
        due = self.every is not None and self.every.due(
            self._records, time.perf_counter() - self._last_time)
        if due or signum is not None:
            self.write(state)
        if signum is not None:
            raise Interrupted(signum, f"{batch.source}:{int(batch.lines[-1])} "
                                      f"(pass {state.pass_index + 1})")

    def write(self, state: RunState) -> None:
        """Write a checkpoint of the run standing at ``state``."""
        old_best = self._best_written
        stopping = None
        if self.stopping is not None:
            stopping = {**self.stopping.to_dict(), "best_file": self._save_best()}
        meta = {
            "format_version": FORMAT_VERSION, **self.header, "state": state.to_dict(),
            "step": partial_step(self.model), "progress": self.progress.counters(),
            "negatives_dropped": self.sampler.dropped if self.sampler is not None else 0,
            "early_stopping": stopping, "seconds": self.seconds(),
        }
        names_meta, names_columns = names_to_save(self.names, self.model, others=True)
        checkpoint.save(self.model, self.spec, self.path,
                        extra={**self.extra, **names_meta, META_KEY: meta},
                        columns={**exact_columns(self.model), **(names_columns or {})})
        if old_best is not None and old_best != self._best_written:
            _remove(best_file(self.path, old_best))
        self._records = 0
        self._last_time = time.perf_counter()

    def _save_best(self) -> str | None:
        best = self.stopping.best
        if best is None:
            return None
        if self._best_written != self.stopping.best_pass:
            best.save(best_file(self.path, self.stopping.best_pass))
            self._best_written = self.stopping.best_pass
        return os.path.basename(best_file(self.path, self.stopping.best_pass))

    def adopt(self, stopping: EarlyStopping | None) -> None:
        """Checkpoint ``stopping`` with the run (its best pass's file, if any, exists)."""
        self.stopping = stopping
        if stopping is not None and stopping.best is not None:
            self._best_written = stopping.best_pass

    def finish(self) -> None:
        """The run is done and its model written: its checkpoint files go (a best pass's
        file left by a run killed before the checkpoint naming it too)."""
        _remove(self.path)
        for left in glob.glob(glob.escape(self.path) + ".best-pass-*.npz"):
            _remove(left)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass

