"""``ftrl predict --dask`` and ``ftrl evaluate --dask``: the options that apply, checked,
and the same output as the single-process commands."""

from __future__ import annotations

import json

from ftrl_cli.distributed.pieces import expand_inputs
from ftrl_cli.errors import FtrlError


def _refuse_skip(errors: dict) -> None:
    if errors.get("on_error") == "skip" or errors.get("rejects"):
        raise FtrlError("--on-error skip is not available with --dask")


def predict_on_dask(address: str, inputs: list[str], model: str, output: str | None,
                    raw: bool, recalibrate: bool, verify: bool, reader: dict,
                    key_column: str | None, errors: dict, max_line_bytes: int) -> None:
    """``ftrl predict --dask``: text lines to ``output`` (a file, ``FOLDER/`` or stdout)."""
    from ftrl_cli._runtime import prepare_for_run
    from ftrl_cli.distributed.cluster import connect
    from ftrl_cli.distributed.scoring import predict

    if key_column is not None:
        raise FtrlError("--key-column is not available with --dask")
    _refuse_skip(errors)
    inputs = expand_inputs(inputs)  # before a cluster starts: stdin, a glob matching nothing
    prepare_for_run()
    with connect(address) as client:
        predict(client, inputs, model, output, raw=raw, recalibrate=recalibrate,
                verify=verify, reader=reader, max_line_bytes=max_line_bytes)


def evaluate_on_dask(address: str, inputs: list[str], model: str | None,
                     predictions: str | None, as_json: bool, plot: str | None,
                     recalibrate: bool, metrics_out: str | None, verify: bool, reader: dict,
                     errors: dict, max_line_bytes: int) -> None:
    """``ftrl evaluate -m MODEL --dask``: the report printed (and ``--metrics-out``)."""
    from ftrl_cli._runtime import prepare_for_run
    from ftrl_cli.commands.evaluate import format_report
    from ftrl_cli.commands.options import check_writable
    from ftrl_cli.distributed.cluster import connect
    from ftrl_cli.distributed.scoring import evaluate
    from ftrl_cli.run_metrics import write_metrics

    if predictions is not None or model is None:
        raise FtrlError("--dask evaluates a model (-m); --predictions is read on one machine")
    if plot is not None:
        raise FtrlError("--plot is not available with --dask")
    _refuse_skip(errors)
    if metrics_out is not None:
        check_writable(metrics_out)
    inputs = expand_inputs(inputs)
    prepare_for_run()
    with connect(address) as client:
        report = evaluate(client, inputs, model, recalibrate=recalibrate, verify=verify,
                          reader=reader, max_line_bytes=max_line_bytes)
    if metrics_out is not None:
        write_metrics(metrics_out, report)
    print(json.dumps(report, indent=2) if as_json else format_report(report))
