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
from ftrl_cli.early_stopping import run_passes
from ftrl_cli.errors import FtrlError, InputError, NonFiniteError
from ftrl_cli.holdout import Holdout, holdout_from_options, learn, no_holdout
from ftrl_cli.model import Model
from ftrl_cli.pipeline import prefetch
from ftrl_cli.progress import Progress
from ftrl_cli.readers import read_batches, resolve_spec
from ftrl_cli.readers.columns import check_columns


def run_train(*, inputs: list[str], output: str, init_model: str | None, passes: int,
              batch_size: int, use_bias: bool, state_dtype: str, quiet: bool, reader: dict,
              hashing_given: bool, optimizer_config: str | None,
              optimizer_flags: dict, reader_thread: bool = True,
              holdout: dict | None = None) -> None:
    prepare_for_run()
    check_inputs(inputs)
    check_writable(output)
    if passes > 1 and "-" in inputs:
        raise FtrlError("--passes > 1 needs files: stdin can be read only once")
    rule = holdout_from_options(passes, **(holdout or {}))
    dtype = np.dtype(state_dtype).type
    ckpt = checkpoint.load(init_model) if init_model else None
    if ckpt is not None and not hashing_given:
        # Continue with the model's own hashing unless the user says otherwise.
        h = ckpt.spec
        reader = {**reader, "hash_bits": h.hash_bits, "hash_mode": h.hash_mode,
                  "label_column": h.label_column,
                  "ignore_columns": h.ignore_columns, "numeric_columns": h.numeric_columns}
    spec = resolve_spec(inputs, **reader)
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
    done, holdout_lines = run_passes(model, passes, rule, progress, lambda: train_pass(
        model, inputs, spec, batch_size, progress, reader_thread, rule))
    checkpoint.save(model, replace(spec, columns=columns), output)
    progress.summary(done, model.iterations, time.perf_counter() - start, holdout_lines)


def train_pass(model: Model, inputs: list[str], spec, batch_size: int,
               progress: Progress, reader_thread: bool = True,
               holdout: Holdout | None = None) -> None:
    """One pass over ``inputs``; the last, partial step is applied at the end, as in Keras.

    With ``holdout``, its records are scored in their places instead of trained on.
    """
    split = holdout.splitter() if holdout is not None else no_holdout
    # Two parse workers keep up to four blocks in flight already; one batch queued beside
    # them is enough to keep the learner busy, and keeps peak memory flat in the row count.
    # Without the reader thread everything runs on this one.
    batches = read_batches(inputs, spec, workers=2 if reader_thread else 1)
    last = None  # the last non-empty batch trained on: where the end-of-pass step is reported
    try:
        for batch in prefetch(batches, depth=1) if reader_thread else batches:
            missing = np.flatnonzero(np.isnan(batch.labels))
            if missing.size:
                raise InputError(batch.source, int(batch.lines[missing[0]]),
                                 "record has no label (training needs 0/1 or -1/1)")
            train, held = split(batch)
            last = train if len(train) else last
            learn(model, train, held, batch_size, progress)
        model.flush()
    except NonFiniteError as e:
        # The end-of-pass step (row None) follows the last record read.
        row = len(last) - 1 if e.row is None else e.row
        raise InputError(last.source, int(last.lines[row]), e.message) from None
