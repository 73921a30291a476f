"""``ftrl train``: stream records through the model, then write one checkpoint."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

import numpy as np

from ftrl_cli import checkpoint, run_checkpoint, signals
from ftrl_cli._jit import first_run_notice
from ftrl_cli._runtime import prepare_for_run
from ftrl_cli.commands.options import build_optimizer_config, check_inputs, check_writable
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.early_stopping import EarlyStopping, run_passes
from ftrl_cli.errors import FtrlError, InputError, NonFiniteError
from ftrl_cli.feature_names import DEFAULT_MAX_NAMES, names_book, names_to_save
from ftrl_cli.feature_names_read import NameRecorder
from ftrl_cli.holdout import Holdout, holdout_from_options, learn, no_holdout
from ftrl_cli.losses import LOGISTIC, Loss, by_name
from ftrl_cli.model import COMPACT_FROM_BITS, Model
from ftrl_cli.pipeline import prefetch
from ftrl_cli.plots import check_plot_path, loss_figure, write_figure
from ftrl_cli.progress import Progress
from ftrl_cli.progress_line import ProgressLine, progress_line
from ftrl_cli.readers import MAX_LINE_BYTES, Batch, ErrorPolicy, read_batches, resolve_spec
from ftrl_cli.readers.columns import check_columns
from ftrl_cli.readers.rejects import error_policy
from ftrl_cli.readers.source import Source
from ftrl_cli.resume import RunState, checkpoint_options, default_checkpoint, file_digests
from ftrl_cli.run_metrics import train_metrics, write_metrics
from ftrl_cli.sampling import NegativeSampler, Sampling

BATCH_ROWS = 65536


def run_train(*, inputs: list[str], output: str, init_model: str | None, passes: int,
              batch_size: int, use_bias: bool, state_dtype: str, quiet: bool, reader: dict,
              hashing_given: bool, optimizer_config: str | None,
              optimizer_flags: dict, reader_thread: bool = True,
              sampling: Sampling | None = None, loss: str | None = None,
              holdout: dict | None = None, crosses: dict | None = None,
              verify: bool = True, checkpoint_every: str | None = None,
              checkpoint_path: str | None = None, resume: bool = False,
              options: dict | None = None, metrics_out: str | None = None,
              errors: dict | None = None, max_line_bytes: int = MAX_LINE_BYTES,
              plot_loss: str | None = None, feature_names: bool = False,
              max_names: int = DEFAULT_MAX_NAMES, dask: Any = None,
              sync_every: int | None = None, piece_size: int | None = None) -> dict:
    """``ftrl train``. ``crosses``: ``interactions``/``vw_interactions`` given on the command
    line; None continues with the ``--init-model``'s crosses (none for a new model). With
    ``checkpoint_every`` (``--checkpoint-every``) it writes resumable checkpoints to
    ``checkpoint_path`` (default: beside ``output``), and ``resume`` goes on from there;
    ``options`` are the command's options that decide the result, which a resumed run must
    repeat. ``metrics_out``: where to write the run's metrics as JSON. ``errors`` and
    ``max_line_bytes``: what to do with malformed records (``ftrl_cli.readers.rejects``).
    ``plot_loss``: draw the progressive (and holdout) loss to this .png, .svg or .html.
    ``feature_names``: record the first name seen at each coordinate, for at most
    ``max_names`` distinct names (``ftrl_cli.feature_names``); a model's names carry over.
    ``dask``: train on a Dask cluster (an address, ``local:N`` or a ``distributed.Client``)
    in rounds of ``sync_every`` records per worker (see ``ftrl_cli.distributed.training``);
    ``piece_size`` is the byte size of a large file's pieces there. Returns the run's
    figures (examples, iterations, average loss, seconds; with ``dask`` the rounds too)."""
    prepare_for_run()
    sampling = sampling or Sampling()
    if dask is not None:
        from ftrl_cli.distributed.pieces import expand_inputs
        from ftrl_cli.distributed.training import refuse_options

        refuse_options(inputs=inputs, batch_size=batch_size,
                       holdout=holdout_from_options(passes, **(holdout or {})),
                       resumable=checkpoint_every is not None or resume,
                       sampling_rate=sampling.rate, plot_loss=plot_loss, errors=errors,
                       sync_every=sync_every or 1, feature_names=feature_names)
        inputs = expand_inputs(inputs)
    check_inputs(inputs)
    check_writable(output)
    if metrics_out is not None:
        check_writable(metrics_out)
    every = checkpoint_options(checkpoint_every, resume, checkpoint_path, inputs)
    resumable = every is not None or resume
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
    if resumable and spec.format == "parquet":
        # a resumed read starts at a byte offset; Parquet is read by row group, not by line
        raise FtrlError("--checkpoint-every and --resume need text input; parquet input "
                        "cannot be resumed yet")
    base = ckpt.optimizer if ckpt is not None else OptimizerConfig()
    cfg = build_optimizer_config(base, optimizer_config, optimizer_flags)
    if dask is not None:
        from ftrl_cli.distributed.training import refuse_config

        refuse_config(cfg)
    # The model records the columns it was trained on, for scoring headerless files.
    columns = check_columns(inputs, spec, label_hint="use --label-column",
                            ignored=ckpt is None or hashing_given)
    ckpt_path = checkpoint_path or default_checkpoint(output)
    if ckpt is not None:
        checkpoint.check_compatible(ckpt, spec, use_bias)
        sampling.check_warm_start(ckpt.meta, init_model)
    # what a resumed run must find unchanged
    files = [*inputs, *(f for f in (init_model, optimizer_config) if f)]
    header = {"inputs": list(inputs), "files": file_digests(files) if resumable else [],
              "options": options or {}}
    resumed = None
    if resume:
        resumed = run_checkpoint.load(ckpt_path, cfg, dtype, files, header)
        model = resumed.model
        if not quiet:
            print(f"resuming from {ckpt_path} at {resumed.where(inputs)}", file=sys.stderr)
    elif ckpt is not None:
        model = checkpoint.restore(ckpt, cfg, dtype)
    else:
        # Compact rows for large tables, or many features a record (crosses reach far more
        # of the table), where nothing will ask for the full ones (snapshots for early
        # stopping, resumable checkpoints, Dask's replicas): converting would need both
        # at once.
        large = spec.hash_bits >= COMPACT_FROM_BITS or spec.interactions or spec.vw_interactions
        model = Model(cfg, spec.hash_bits, use_bias, dtype, model_loss,
                      compact=bool(large) and batch_size == 1 and rule is None
                      and not resumable and dask is None)
    if not quiet:
        first_run_notice()
    progress = Progress(None if quiet else sys.stderr, loss=model_loss,
                        record=plot_loss is not None)
    sampler = None if sampling.rate is None else NegativeSampler(sampling.rate, sampling.seed)
    stopping = None if rule is None else EarlyStopping(rule.early_terminate)
    state = RunState()
    start = time.perf_counter()
    if resumed is not None:
        resumed.restore_progress(progress, sampler)
        stopping = resumed.early_stopping(ckpt_path, rule.early_terminate) if rule else None
        state = resumed.state
        start -= resumed.meta["seconds"]
    # Each file is read by its own header (daily exports may order their columns
    # differently); the model records the first input's names.
    read_spec, spec = spec, replace(spec, columns=columns)
    if dask is not None:
        return _train_on_dask(dask, model, inputs, (read_spec, spec), output, sampling,
                              passes, sync_every, init_model, verify, max_line_bytes, quiet,
                              metrics_out, piece_size, start)
    book = names_book(resumed.checkpoint if resumed is not None else ckpt, spec,
                      max_names, feature_names)
    recorder = (NameRecorder(book, read_spec) if book is not None and book.recording
                else None)
    if recorder is not None and state.pass_index > 0:
        recorder.active = False  # the names come from the first pass
    with error_policy(**(errors or {})) as policy, \
            signals.catching() if resumable else nullcontext() as interrupts, \
            progress_line(inputs, rounds=passes, show=quiet) as line:  # the table shows progress
        saver = None
        if resumable:
            saver = run_checkpoint.RunCheckpoints(
                ckpt_path, every, model, spec, sampling.metadata(), header, progress, sampler,
                interrupts, start)
            saver.adopt(stopping)
            saver.names = book
        rows = min(BATCH_ROWS, every.records) if every and every.records else BATCH_ROWS
        if resumed is not None:  # the bad records skipped before the interruption count
            policy.skipped = state.skipped
            policy.records = state.records + state.skipped if state.pass_index == 0 else 0

        def after_batch(at: RunState, batch) -> None:
            saver.after_batch(replace(at, skipped=policy.skipped), batch)

        def one_pass() -> None:
            nonlocal state
            index = state.pass_index
            # a later pass skips the same records; they were counted in the first one
            train_pass(model, inputs, read_spec, batch_size, progress, reader_thread, rule,
                       sampler, index, state, after_batch if saver else None, rows,
                       policy if index == 0 else policy.silent(), max_line_bytes, line,
                       recorder)
            state = RunState(state.pass_index + 1)
            if recorder is not None:
                recorder.finish()
                recorder.active = False

        done, holdout_lines = run_passes(model, passes, rule, progress, one_pass, stopping,
                                         state.pass_index)
    names_extra, names_columns = names_to_save(book, model)
    checkpoint.save(model, spec, output, extra={**sampling.metadata(), **names_extra},
                    columns=names_columns)
    if saver is not None:
        saver.finish()
    seconds = time.perf_counter() - start
    progress.summary(done, model.iterations, seconds, holdout_lines)
    if book is not None and book.recording and not quiet:
        print(book.summary_line(), file=sys.stderr)
    if policy.skip and not quiet:
        print(f"skipped records = {policy.skipped}", file=sys.stderr)
    if plot_loss is not None:
        write_figure(loss_figure(progress.loss_points(), model_loss.name), plot_loss,
                     "ftrl train", [("Run", {"model": output, "input": " ".join(inputs),
                                             "examples": progress.examples, "passes": done,
                                             "average loss": progress.average_loss})])
    if sampler is not None and not quiet:
        print(f"negatives dropped = {sampler.dropped} (kept at rate {sampler.rate:g})",
              file=sys.stderr)
    summary = {"examples": progress.examples, "iterations": model.iterations,
               "average_loss": progress.average_loss, "seconds": seconds}
    if metrics_out is not None:
        write_metrics(metrics_out, train_metrics(
            model_path=output, examples=progress.examples, passes=done,
            iterations=model.iterations, average_loss=progress.average_loss, seconds=seconds,
            holdout_losses=stopping.losses if stopping is not None else None,
            best_pass=stopping.best_pass if stopping is not None else None,
            skipped=policy.skipped,
            negatives_dropped=sampler.dropped if sampler is not None else None))
    return summary


def _train_on_dask(dask: Any, model: Model, inputs: list[str], specs: tuple, output: str,
                   sampling: Sampling, passes: int, sync_every: int | None,
                   init_model: str | None, verify: bool, max_line_bytes: int, quiet: bool,
                   metrics_out: str | None, piece_size: int | None, start: float) -> dict:
    """``run_train``'s work on a Dask cluster: rounds, then the same checkpoint and
    summary as a single-process run. ``specs``: the features as each input is read, and
    as the model records them."""
    read_spec, spec = specs
    from ftrl_cli.distributed.cluster import connect
    from ftrl_cli.distributed.training import SYNC_EVERY, train_rounds

    with (connect(dask) if isinstance(dask, str) else nullcontext(dask)) as client:
        figures = train_rounds(client, model, inputs, read_spec, passes=passes,
                               sync_every=sync_every or SYNC_EVERY, init_model=init_model,
                               verify=verify, max_line_bytes=max_line_bytes, quiet=quiet,
                               piece_size=piece_size)
    model.flush()
    checkpoint.save(model, spec, output, extra=sampling.metadata())
    seconds = time.perf_counter() - start
    average = figures["loss"] / figures["weight"] if figures["weight"] else float("nan")
    if not quiet:
        rate = figures["examples"] / seconds if seconds > 0 else float("inf")
        print(f"\nfinished run\nnumber of examples = {figures['examples']}\n"
              f"passes = {passes}\noptimizer iterations = {model.iterations}\n"
              f"average loss = {average:.6f}\nworkers = {figures['workers']}\n"
              f"rounds = {figures['rounds']}\nworkers lost = {figures['lost']}\n"
              f"seconds = {seconds:.2f} ({rate:,.0f} examples/s)", file=sys.stderr)
    if metrics_out is not None:
        write_metrics(metrics_out, {**train_metrics(
            model_path=output, examples=figures["examples"], passes=passes,
            iterations=model.iterations, average_loss=average, seconds=seconds,
            holdout_losses=None, best_pass=None, skipped=0, negatives_dropped=None),
            "dask": {"workers": figures["workers"], "rounds": figures["rounds"],
                     "workers_lost": figures["lost"]}})
    return {"examples": figures["examples"], "iterations": model.iterations,
            "average_loss": average, "seconds": seconds, "rounds": figures["rounds"],
            "workers": figures["workers"], "workers_lost": figures["lost"]}


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
               pass_index: int = 0, start: RunState | None = None,
               on_batch: Callable[[RunState, Batch], None] | None = None,
               batch_rows: int = BATCH_ROWS, errors: ErrorPolicy | None = None,
               max_line_bytes: int = MAX_LINE_BYTES, line: ProgressLine | None = None,
               names: NameRecorder | None = None) -> None:
    """One pass over ``inputs``; the last, partial step is applied at the end, as in Keras.

    With ``holdout``, its records are scored in their places instead of trained on. With
    ``sampler``, the negatives it drops from the records to train on (drawn afresh for each
    ``pass_index``) are neither trained on nor counted.  ``start``: where an interrupted
    pass stood; ``on_batch`` is told where the pass stands after each batch learnt from.
    ``errors`` says what to do with malformed records (see ``ftrl_cli.readers.rejects``).
    ``line`` counts the records read; ``names``, while active, reads the records' feature
    names.
    """
    seen = start.records if start is not None else 0
    split = holdout.splitter(seen) if holdout is not None else no_holdout
    sample = None
    if sampler is not None:
        # the sample is drawn among the records trained on: the held-out ones do not count
        trained = seen - holdout.held_before(seen) if holdout is not None else seen
        sample = sampler.sampler(pass_index, trained)
    # Two parse workers keep up to four blocks in flight already; one batch queued beside
    # them is enough to keep the learner busy, and keeps peak memory flat in the row count.
    # Without the reader thread everything runs on this one.
    batches = read_batches(inputs, spec, workers=2 if reader_thread else 1,
                           batch_rows=batch_rows,
                           start=start.position if start is not None else None,
                           errors=errors, max_line_bytes=max_line_bytes,
                           on_open=_opener(line, names))
    if names is not None and names.active and spec.format == "parquet":
        names.parquet(inputs)  # Parquet is not tapped: its feature columns read once more
    last = None  # the last non-empty batch trained on: where the end-of-pass step is reported
    try:
        for batch in prefetch(batches, depth=1) if reader_thread else batches:
            if not len(batch):  # only skipped records
                continue
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
            if on_batch is not None:
                seen += len(batch)
                on_batch(RunState(pass_index, batch.end, seen), batch)
        if errors is not None:
            errors.finish()
        model.flush()
    except NonFiniteError as e:
        # The end-of-pass step (row None) follows the last record read.
        row = len(last) - 1 if e.row is None else e.row
        raise InputError(last.source, int(last.lines[row]), e.message) from None


def _opener(line: ProgressLine | None, names: NameRecorder | None
            ) -> Callable[[Source], None] | None:
    """What to do with each source opened: count its bytes, tap it for names."""
    hooks = [h for h in (line.on_open if line is not None else None,
                         names.on_open if names is not None and names.active else None) if h]
    if len(hooks) < 2:
        return hooks[0] if hooks else None

    def both(source: Source) -> None:
        for hook in hooks:
            hook(source)
    return both
