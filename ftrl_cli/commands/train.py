"""``ftrl train``: stream records through the model, then write one checkpoint."""

from __future__ import annotations

import itertools
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
from ftrl_cli.losses import LOGISTIC, Loss, by_name
from ftrl_cli.model import Model
from ftrl_cli.pipeline import prefetch
from ftrl_cli.plots import check_plot_path, loss_figure, write_figure
from ftrl_cli.progress import Progress
from ftrl_cli.progress_line import ProgressLine, progress_line
from ftrl_cli.readers import read_batches, resolve_spec
from ftrl_cli.readers.columns import check_columns
from ftrl_cli.sampling import NegativeSampler, Sampling


def run_train(*, inputs: list[str], output: str, init_model: str | None, passes: int,
              batch_size: int, use_bias: bool, state_dtype: str, quiet: bool, reader: dict,
              hashing_given: bool, optimizer_config: str | None,
              optimizer_flags: dict, reader_thread: bool = True,
              sampling: Sampling | None = None, loss: str | None = None,
              holdout: dict | None = None, crosses: dict | None = None,
              verify: bool = True, plot_loss: str | None = None) -> None:
    """``crosses``: ``interactions``/``vw_interactions`` given on the command line; None
    continues with the ``--init-model``'s crosses (none for a new model). ``plot_loss``:
    draw the progressive (and holdout) loss to this .png, .svg or .html file."""
    prepare_for_run()
    sampling = sampling or Sampling()
    check_inputs(inputs)
    check_writable(output)
    if plot_loss is not None:
        check_plot_path(plot_loss, "--plot-loss")
    if passes > 1 and "-" in inputs:
        raise FtrlError("--passes > 1 needs files: stdin can be read only once")
    rule = holdout_from_options(passes, **(holdout or {}))
    dtype = np.dtype(state_dtype).type
    ckpt = checkpoint.load(init_model, verify=verify) if init_model else None
    if ckpt is not None and not hashing_given:
        # Continue with the model's own hashing unless the user says otherwise.
        h = ckpt.spec
        reader = {**reader, "hash_bits": h.hash_bits, "hash_mode": h.hash_mode,
                  "label_column": h.label_column,
                  "ignore_columns": h.ignore_columns, "numeric_columns": h.numeric_columns}
    model_loss = training_loss(ckpt, loss)
    sampling.check_loss(model_loss.name)
    if crosses is None and ckpt is not None:
        crosses = {"interactions": ckpt.spec.interactions,
                   "vw_interactions": ckpt.spec.vw_interactions}
    spec = replace(resolve_spec(inputs, **reader, **(crosses or {})),
                   numeric_labels=not model_loss.probabilistic)
    base = ckpt.optimizer if ckpt is not None else OptimizerConfig()
    cfg = build_optimizer_config(base, optimizer_config, optimizer_flags)
    # The model records the columns it was trained on, for scoring headerless files.
    columns = check_columns(inputs, spec, label_hint="use --label-column",
                            ignored=ckpt is None or hashing_given)
    if ckpt is not None:
        checkpoint.check_compatible(ckpt, spec, use_bias)
        sampling.check_warm_start(ckpt.meta, init_model)
        model = checkpoint.restore(ckpt, cfg, dtype)
    else:
        model = Model(cfg, spec.hash_bits, use_bias, dtype, model_loss)
    if not quiet:
        first_run_notice()
    progress = Progress(None if quiet else sys.stderr, loss=model_loss,
                        record=plot_loss is not None)
    sampler = None if sampling.rate is None else NegativeSampler(sampling.rate, sampling.seed)
    start = time.perf_counter()
    passes_started = itertools.count()
    with progress_line(inputs, rounds=passes, show=quiet) as line:  # the table shows progress
        done, holdout_lines = run_passes(model, passes, rule, progress, lambda: train_pass(
            model, inputs, spec, batch_size, progress, reader_thread, rule, sampler,
            next(passes_started), line))
    checkpoint.save(model, replace(spec, columns=columns), output, extra=sampling.metadata())
    progress.summary(done, model.iterations, time.perf_counter() - start, holdout_lines)
    if plot_loss is not None:
        write_figure(loss_figure(progress.loss_points(), model_loss.name), plot_loss,
                     "ftrl train", [("Run", {"model": output, "input": " ".join(inputs),
                                             "examples": progress.examples, "passes": done,
                                             "average loss": progress.average_loss})])
    if sampler is not None and not quiet:
        print(f"negatives dropped = {sampler.dropped} (kept at rate {sampler.rate:g})",
              file=sys.stderr)


def training_loss(ckpt: checkpoint.Checkpoint | None, name: str | None) -> Loss:
    """``--loss`` (logistic if not given); a warm start continues with the model's own loss
    and refuses another one."""
    if ckpt is None:
        return by_name(name) if name is not None else LOGISTIC
    if name is not None and by_name(name) != ckpt.loss:
        raise FtrlError(f"{ckpt.path}: the model was trained with --loss {ckpt.loss.name}; "
                        f"it cannot continue with --loss {name}")
    return ckpt.loss


def train_pass(model: Model, inputs: list[str], spec, batch_size: int,
               progress: Progress, reader_thread: bool = True,
               holdout: Holdout | None = None, sampler: NegativeSampler | None = None,
               pass_index: int = 0, line: ProgressLine | None = None) -> None:
    """One pass over ``inputs``; the last, partial step is applied at the end, as in Keras.

    With ``holdout``, its records are scored in their places instead of trained on. With
    ``sampler``, the negatives it drops from the records to train on (drawn afresh for each
    ``pass_index``) are neither trained on nor counted. ``line`` counts the records read.
    """
    split = holdout.splitter() if holdout is not None else no_holdout
    sample = sampler.sampler(pass_index) if sampler is not None else None
    # Two parse workers keep up to four blocks in flight already; one batch queued beside
    # them is enough to keep the learner busy, and keeps peak memory flat in the row count.
    # Without the reader thread everything runs on this one.
    batches = read_batches(inputs, spec, workers=2 if reader_thread else 1,
                           on_open=line.on_open if line is not None else None)
    last = None  # the last non-empty batch trained on: where the end-of-pass step is reported
    try:
        for batch in prefetch(batches, depth=1) if reader_thread else batches:
            missing = np.flatnonzero(np.isnan(batch.labels))
            if missing.size:
                need = "0/1 or -1/1" if model.loss.probabilistic else "a number"
                raise InputError(batch.source, int(batch.lines[missing[0]]),
                                 f"record has no label (training needs {need})")
            if line is not None:
                line.add(len(batch))
            train, held = split(batch)
            if sample is not None:
                train = sample(train)
            last = train if len(train) else last
            learn(model, train, held, batch_size, progress)
        model.flush()
    except NonFiniteError as e:
        # The end-of-pass step (row None) follows the last record read.
        row = len(last) - 1 if e.row is None else e.row
        raise InputError(last.source, int(last.lines[row]), e.message) from None
