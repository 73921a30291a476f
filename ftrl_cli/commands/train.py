"""``ftrl train``: stream records through the model, then write one checkpoint."""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import numpy as np

from ftrl_cli import checkpoint
from ftrl_cli._jit import first_run_notice
from ftrl_cli._runtime import prepare_for_run
from ftrl_cli.commands.options import build_optimizer_config, check_inputs, check_writable
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.errors import FtrlError, InputError, NonFiniteError
from ftrl_cli.model import Model
from ftrl_cli.pipeline import prefetch
from ftrl_cli.progress import Progress
from ftrl_cli.readers import read_batches, resolve_spec
from ftrl_cli.readers.columns import check_columns


def run_train(*, inputs: list[str], output: str, init_model: str | None, passes: int,
              batch_size: int, use_bias: bool, state_dtype: str, quiet: bool, reader: dict,
              hashing_given: bool, optimizer_config: str | None,
              optimizer_flags: dict, reader_thread: bool = True,
              crosses: dict | None = None) -> None:
    """``crosses``: ``interactions``/``vw_interactions`` given on the command line; None
    continues with the ``--init-model``'s crosses (none for a new model)."""
    prepare_for_run()
    check_inputs(inputs)
    check_writable(output)
    if passes > 1 and "-" in inputs:
        raise FtrlError("--passes > 1 needs files: stdin can be read only once")
    dtype = np.dtype(state_dtype).type
    ckpt = checkpoint.load(init_model) if init_model else None
    if ckpt is not None and not hashing_given:
        # Continue with the model's own hashing unless the user says otherwise.
        h = ckpt.spec
        reader = {**reader, "hash_bits": h.hash_bits, "hash_mode": h.hash_mode,
                  "label_column": h.label_column,
                  "ignore_columns": h.ignore_columns, "numeric_columns": h.numeric_columns}
    if crosses is None and ckpt is not None:
        crosses = {"interactions": ckpt.spec.interactions,
                   "vw_interactions": ckpt.spec.vw_interactions}
    spec = resolve_spec(inputs, **reader, **(crosses or {}))
    base = ckpt.optimizer if ckpt is not None else OptimizerConfig()
    cfg = build_optimizer_config(base, optimizer_config, optimizer_flags)
    # The model records the columns it was trained on, for scoring headerless files.
    columns = check_columns(inputs, spec, label_hint="use --label-column",
                            ignored=ckpt is None or hashing_given)
    if ckpt is not None:
        checkpoint.check_compatible(ckpt, spec, use_bias)
        model = checkpoint.restore(ckpt, cfg, dtype)
    else:
        model = Model(cfg, spec.hash_bits, use_bias, dtype)
    if not quiet:
        first_run_notice()
    progress = Progress(None if quiet else sys.stderr)
    start = time.perf_counter()
    for _ in range(passes):
        train_pass(model, inputs, spec, batch_size, progress, reader_thread)
    checkpoint.save(model, replace(spec, columns=columns), output)
    progress.summary(passes, model.iterations, time.perf_counter() - start)


def train_pass(model: Model, inputs: list[str], spec, batch_size: int,
               progress: Progress, reader_thread: bool = True) -> None:
    """One pass over ``inputs``; the last, partial step is applied at the end, as in Keras."""
    # Two parse workers keep up to four blocks in flight already; one batch queued beside
    # them is enough to keep the learner busy, and keeps peak memory flat in the row count.
    # Without the reader thread everything runs on this one.
    batches = read_batches(inputs, spec, workers=2 if reader_thread else 1)
    last = None  # the last non-empty batch: where the end-of-pass step is reported
    try:
        for batch in prefetch(batches, depth=1) if reader_thread else batches:
            last = batch if len(batch) else last
            missing = np.flatnonzero(np.isnan(batch.labels))
            if missing.size:
                raise InputError(batch.source, int(batch.lines[missing[0]]),
                                 "record has no label (training needs 0/1 or -1/1)")
            preds = model.train_csr(batch.indptr, batch.indices, batch.data, batch.labels,
                                    batch.weights, batch_size, batch.base)
            progress.update(batch.labels, preds, batch.weights, np.diff(batch.indptr))
        model.flush()
    except NonFiniteError as e:
        # The end-of-pass step (row None) follows the last record read.
        row = len(last) - 1 if e.row is None else e.row
        raise InputError(last.source, int(last.lines[row]), e.message) from None
