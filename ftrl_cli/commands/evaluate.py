"""``ftrl evaluate``: metrics of a model, or of a prediction file, against labelled records."""

from __future__ import annotations

import json

import numpy as np

from ftrl_cli import checkpoint
from ftrl_cli._runtime import prepare_for_run
from ftrl_cli.commands.options import check_inputs, check_writable
from ftrl_cli.commands.predict import scored_batches
from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.metrics import evaluate, evaluate_regression
from ftrl_cli.plots import check_plot_path, evaluation_figure, regression_figure, write_figure
from ftrl_cli.progress_line import progress_line
from ftrl_cli.readers import MAX_LINE_BYTES, ErrorPolicy, read_batches, resolve_spec
from ftrl_cli.readers.columns import check_columns
from ftrl_cli.readers.rejects import error_policy
from ftrl_cli.run_metrics import write_metrics


def _labelled(batch) -> None:
    missing = np.flatnonzero(np.isnan(batch.labels))
    if missing.size:
        raise InputError(batch.source, int(batch.lines[missing[0]]),
                         "record has no label (evaluate needs labels)")


def _finite(batch, p: np.ndarray) -> None:
    bad = np.flatnonzero(np.isnan(p))
    if bad.size:
        raise InputError(batch.source, int(batch.lines[bad[0]]),
                         "the margin is NaN (the values overflow with the model's weights); "
                         "check the values")


def run_evaluate(inputs: list[str], model_path: str | None, predictions: str | None,
                 as_json: bool, reader: dict, recalibrate: bool = True,
                 metrics_out: str | None = None, verify: bool = True,
                 errors: dict | None = None, max_line_bytes: int = MAX_LINE_BYTES,
                 plot: str | None = None, dask: str | None = None) -> None:
    """``plot``: also draw the predictions to this .png, .svg or .html file. ``dask``:
    score on that cluster (see ``ftrl_cli.distributed``)."""
    if dask is not None:
        from ftrl_cli.distributed.commands import evaluate_on_dask

        evaluate_on_dask(dask, inputs, model_path, predictions, as_json, plot, recalibrate,
                         metrics_out, verify, reader, errors or {}, max_line_bytes)
        return
    prepare_for_run()
    if (model_path is None) == (predictions is None):
        raise FtrlError("give exactly one of -m/--model and --predictions")
    if predictions is not None and not recalibrate:
        raise FtrlError("--no-recalibrate applies to a model's scores (-m), not to --predictions")
    if metrics_out is not None:
        check_writable(metrics_out)
    if plot is not None:
        check_plot_path(plot, "--plot")
    with error_policy(**(errors or {})) as policy:
        report, y, p, w, regression = _report(inputs, model_path, predictions, reader,
                                              recalibrate, policy, max_line_bytes, verify)
    if policy.skip:
        report["skipped_records"] = policy.skipped
    if metrics_out is not None:
        write_metrics(metrics_out, report)
    if plot is not None:  # first: a reader of the metrics that stops early (| head) cannot stop it
        draw = regression_figure if regression else evaluation_figure
        write_figure(draw(y, p, w), plot, "ftrl evaluate",
                     [("Metrics", report),
                      ("Run", {"model" if model_path else "predictions": model_path or predictions,
                               "input": " ".join(inputs)})])
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))


def _report(inputs: list[str], model_path: str | None, predictions: str | None, reader: dict,
            recalibrate: bool, policy: ErrorPolicy, max_line_bytes: int,
            verify: bool = True) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, bool]:
    """The metrics of the model's (or the prediction file's) scores on ``inputs``, with the
    labels, scores and weights they come from, and whether they are a regression's."""
    ys, ps, ws = [], [], []
    metrics = evaluate
    with progress_line(inputs) as line:
        if model_path is not None:
            hint = "evaluate needs the label column the model was trained with"
            check_inputs(inputs)
            ckpt = checkpoint.load(model_path, weights_only=True, verify=verify)
            if not ckpt.loss.probabilistic:
                metrics = evaluate_regression
            for batch, p in scored_batches(inputs, ckpt, reader, label_hint=hint,
                                           recalibrate=recalibrate, errors=policy,
                                           max_line_bytes=max_line_bytes, progress=line):
                _labelled(batch)
                _finite(batch, p)
                ys.append(batch.labels)
                ps.append(p)
                ws.append(batch.weights)
        else:
            check_inputs(inputs + [predictions])
            spec = resolve_spec(inputs, hash_bits=12, **reader)
            check_columns(inputs, spec, label_hint="evaluate needs labels")
            for batch in read_batches(inputs, spec, errors=policy, max_line_bytes=max_line_bytes,
                                      on_open=line.on_open):
                line.add(len(batch))
                _labelled(batch)
                ys.append(batch.labels)
                ws.append(batch.weights)
            ps.append(read_predictions(predictions))
    y = np.concatenate(ys) if ys else np.empty(0)
    p = np.concatenate(ps) if ps else np.empty(0)
    w = np.concatenate(ws) if ws else np.empty(0)
    if len(y) == 0:
        raise FtrlError("no labelled records in the input")
    if len(p) != len(y):
        raise FtrlError(f"{predictions}: {len(p)} predictions for {len(y)} records")
    policy.finish()
    try:
        return metrics(y, p, w), y, p, w, metrics is evaluate_regression
    except ValueError as e:  # checked above; what remains (weights sum to zero...) is one line
        raise FtrlError(f"cannot evaluate: {e}") from None


def read_predictions(path: str) -> np.ndarray:
    """Probabilities from a prediction file: ``prob``, ``tag prob`` (as ``ftrl predict``
    writes) or ``prob tag`` (as Vowpal Wabbit writes) on each line.

    A file is read in one order: the first line where only one field is a probability in
    [0, 1] decides it, and a line where both are (a numeric tag) follows it; in a file where
    no line decides, the tag comes first, as ftrl writes it.  A line in the other order is
    an error.
    """
    def probability(field: str) -> float | None:
        try:
            v = float(field)
        except ValueError:
            return None
        return v if 0.0 <= v <= 1.0 else None

    values: list[float] = []
    pending: list[tuple[int, float]] = []  # (position, the first field) of ambiguous lines
    order: tuple[str, int] | None = None  # ("first" or "last", the line that decided)
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) == 1:
                v = probability(fields[0])
                if v is None:
                    try:
                        float(fields[0])
                    except ValueError:
                        raise InputError(path, lineno,
                                         f"not a number: {fields[0]!r}") from None
                    raise InputError(path, lineno,
                                     f"not a probability in [0, 1]: {fields[0]}")
                values.append(v)
                continue
            if len(fields) > 2:
                raise InputError(path, lineno, "expected 'probability', 'tag probability' or "
                                               f"'probability tag', got {line.strip()!r}")
            first, last = probability(fields[0]), probability(fields[1])
            if first is None and last is None:
                raise InputError(path, lineno, f"no probability in [0, 1] in {line.strip()!r}")
            if first is not None and last is not None:
                if order is None:
                    pending.append((len(values), first))
                values.append(last if order is None or order[0] == "last" else first)
                continue
            here = "first" if last is None else "last"
            if order is None:
                order = (here, lineno)
                if here == "first":
                    for i, v in pending:
                        values[i] = v
            elif order[0] != here:
                raise InputError(path, lineno, f"the probability comes {here} here but "
                                               f"{order[0]} on line {order[1]}")
            values.append(first if here == "first" else last)
    return np.array(values)


def format_report(report: dict) -> str:
    """The metrics as aligned ``name  value`` lines (plain numbers, for awk and friends), in
    the report's order.

    >>> print(format_report(evaluate([0, 1] * 600, [0.25, 0.75] * 600)).splitlines()[0])
    count               1200
    >>> print(format_report(evaluate_regression([1.0, 3.0], [1.0, 2.0])).splitlines()[3])
    r2               0.500000
    """
    rows = [(k.replace("_", " "), str(v) if isinstance(v, int) else f"{v:.6f}")
            for k, v in report.items()]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
