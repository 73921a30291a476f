"""``ftrl predict``: score records with a trained model, one line per record, in order."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from ftrl_cli import checkpoint
from ftrl_cli._jit import first_run_notice
from ftrl_cli._runtime import prepare_for_run
from ftrl_cli.atomic import write_fully
from ftrl_cli.commands.options import check_inputs
from ftrl_cli.errors import FtrlError
from ftrl_cli.kernels.predict import score as score_rows
from ftrl_cli.kernels.text import LINE_BYTES, format_values
from ftrl_cli.outputs import open_output
from ftrl_cli.pipeline import prefetch
from ftrl_cli.prediction_table import wants_parquet
from ftrl_cli.progress_line import ProgressLine, is_terminal, progress_line
from ftrl_cli.readers import MAX_LINE_BYTES, ErrorPolicy, read_batches, resolve_spec
from ftrl_cli.readers.base import Batch
from ftrl_cli.readers.columns import check_columns
from ftrl_cli.readers.compat import model_reader
from ftrl_cli.readers.rejects import error_policy
from ftrl_cli.sampling import negative_rate, recalibrated


def scored_batches(inputs: list[str], model: str | checkpoint.Checkpoint, reader: dict,
                   raw: bool = False, label_hint: str | None = None,
                   recalibrate: bool = True, verify: bool = True,
                   errors: ErrorPolicy | None = None, max_line_bytes: int = MAX_LINE_BYTES,
                   progress: ProgressLine | None = None, key_column: str | None = None,
                   read: dict | None = None,
                   scorer: Callable[[Batch], np.ndarray] | None = None,
                   ) -> Iterator[tuple[Batch, np.ndarray]]:
    """Yield each input batch with its predictions (probabilities, or margins if ``raw``;
    a squared-loss model's predictions are its margins).

    ``model`` is a model file or its checkpoint, loaded with ``weights_only``.  The input is
    read in the model's format (see ``readers.compat.model_reader``), its labels as the
    model's loss reads them; with ``label_hint`` a csv/tsv input must have the label column
    (the hint ends the error).  A model trained on down-sampled negatives has its scores
    recalibrated for the unsampled traffic unless ``recalibrate`` is false (see
    ``ftrl_cli.sampling``). ``verify`` checks a model file's checksums.  ``errors`` and
    ``max_line_bytes`` go to ``read_batches``. ``progress`` counts the records and bytes read.
    ``key_column`` (Parquet input) is read into each Batch's ``key``.  ``read``: more
    ``read_batches`` arguments (a byte range: ``start``, ``stop``; ``workers``).  ``scorer``:
    the model's `model_scorer`, made once by a caller that scores many inputs with it.
    """
    check_inputs(inputs)
    ckpt = model if isinstance(model, checkpoint.Checkpoint) else checkpoint.load(
        model, weights_only=True, verify=verify)
    loss = ckpt.loss
    trained = ckpt.spec
    spec = resolve_spec(inputs, hash_bits=trained.hash_bits, hash_mode=trained.hash_mode,
                        label_column=trained.label_column,
                        ignore_columns=trained.ignore_columns,
                        numeric_columns=trained.numeric_columns,
                        interactions=trained.interactions,
                        vw_interactions=trained.vw_interactions,
                        **model_reader(inputs, trained, reader))
    spec = replace(spec, numeric_labels=not loss.probabilistic)
    if key_column is not None and spec.format != "parquet":
        raise FtrlError(f"--key-column applies to parquet input; this input is {spec.format}")
    check_columns(inputs, spec, label_hint=label_hint)
    score = scorer or model_scorer(ckpt, raw, recalibrate)
    first_run_notice()
    # Scoring has no order dependency: both cores parse and score, batches stay in order.
    on_open = progress.on_open if progress is not None else None
    key = {} if key_column is None else {"key_column": key_column}  # Parquet only
    batches = read_batches(inputs, spec, score=score, errors=errors,
                           max_line_bytes=max_line_bytes, on_open=on_open,
                           **{"workers": 2, **key, **(read or {})})
    for batch in prefetch(batches):
        yield batch, batch.scores
        if progress is not None:
            progress.add(len(batch))


def model_scorer(ckpt: checkpoint.Checkpoint, raw: bool = False,
                 recalibrate: bool = True) -> Callable[[Batch], np.ndarray]:
    """What ``scored_batches`` scores a Batch with: the model's predictions (margins if
    ``raw``), recalibrated for a down-sampled model unless ``recalibrate`` is false.

    >>> import tempfile
    >>> from ftrl_cli.model import Model
    >>> from ftrl_cli.config import OptimizerConfig
    >>> from ftrl_cli.readers import FeatureSpec
    >>> p = tempfile.mktemp(suffix=".parquet")
    >>> checkpoint.save(Model(OptimizerConfig(), 4), FeatureSpec("vw", hash_bits=4), p)
    >>> score = model_scorer(checkpoint.load(p, weights_only=True))
    >>> score(Batch(np.array([0, 0]), np.zeros(0, np.int32), np.zeros(0), 16, np.zeros(1),
    ...             np.ones(1), np.ones(1), "x"))
    array([0.5])
    """
    w, bias = ckpt.serving_weights()
    undo = recalibrated(negative_rate(ckpt.meta), raw) if recalibrate else None
    logistic = ckpt.loss.probabilistic and not raw

    def score(batch: Batch) -> np.ndarray:
        s = score_rows(batch.indptr, batch.indices, batch.data, w, bias, logistic=logistic,
                       base=batch.base)
        return s if undo is None else undo(s)

    return score


def format_lines(batch: Batch, preds: np.ndarray) -> bytes:
    """Text for a batch: ``prediction`` per line, ``tag prediction`` where a tag exists, an
    empty line where a record was skipped.

    >>> b = Batch(np.zeros(3, np.int32), np.zeros(0, np.int32), np.zeros(0), 4, np.zeros(2),
    ...           np.ones(2), np.arange(1, 3), "x", ["a", None])
    >>> format_lines(b, np.array([0.5, 0.25]))
    b'a 0.500000000\\n0.250000000\\n'
    >>> b.skipped = [(1, None), (2, None)]
    >>> format_lines(b, np.array([0.5, 0.25]))
    b'a 0.500000000\\n\\n0.250000000\\n\\n'
    """
    buf = np.empty(len(preds) * LINE_BYTES, dtype=np.uint8)
    text = buf[: format_values(np.ascontiguousarray(preds, dtype=np.float64), buf)].tobytes()
    if batch.tags is not None:
        lines = text.decode("ascii").splitlines()
        text = "".join(f"{t} {v}\n" if t else f"{v}\n"
                       for t, v in zip(batch.tags, lines)).encode("utf-8")
    if batch.skipped:
        rows = text.splitlines(keepends=True)
        for i, _ in reversed(batch.skipped):
            rows.insert(i, b"\n")
        text = b"".join(rows)
    return text


def write_table(inputs: list[str], model_path: str, output: str, raw: bool, reader: dict,
                recalibrate: bool, verify: bool, key_column: str | None) -> None:
    """The predictions as a Parquet table at ``output``: the key column (Parquet input) or
    the tags (vw input) beside them."""
    import pyarrow as pa

    from ftrl_cli.prediction_table import prediction_schema, write_predictions

    check_inputs(inputs)
    ckpt = checkpoint.load(model_path, weights_only=True, verify=verify)
    fmt = model_reader(inputs, ckpt.spec, reader)["format"]
    scored = scored_batches(inputs, ckpt, reader, raw, recalibrate=recalibrate,
                            key_column=key_column)
    key = ("tag", pa.string()) if fmt == "vw" else None
    if key_column is not None:
        from ftrl_cli.readers.parquet import parquet_schema

        schema = parquet_schema(inputs[0])
        if key_column not in schema.names:
            raise FtrlError(f"{inputs[0]}: no key column '{key_column}' in the columns")
        key = (key_column, schema.field(key_column).type)
    with open_output(output) as out:
        write_predictions(out, scored, prediction_schema(key))


def run_predict(inputs: list[str], model_path: str, output: str | None, raw: bool,
                reader: dict, recalibrate: bool = True, verify: bool = True,
                errors: dict | None = None, max_line_bytes: int = MAX_LINE_BYTES,
                key_column: str | None = None, dask: str | None = None) -> None:
    """Write the predictions: text lines, or a Parquet table for an ``-o`` file named
    ``.parquet``/``.pq`` (see ``ftrl_cli.prediction_table``). ``dask``: score on that
    cluster (see ``ftrl_cli.distributed``)."""
    if dask is not None:
        from ftrl_cli.distributed.commands import predict_on_dask

        predict_on_dask(dask, inputs, model_path, output, raw, recalibrate, verify, reader,
                        key_column, errors or {}, max_line_bytes)
        return
    prepare_for_run()
    if key_column is not None and not wants_parquet(output):
        raise FtrlError("--key-column needs -o FILE.parquet (the predictions as a table)")
    if wants_parquet(output):
        write_table(inputs, model_path, output, raw, reader, recalibrate, verify, key_column)
        return
    to_stdout = output is None or output == "-"
    with error_policy(**(errors or {})) as policy, \
            progress_line(inputs, show=not (to_stdout and is_terminal(sys.stdout))) as line:
        # (predictions printed on the terminal would run into the line)
        _write(scored_batches(inputs, model_path, reader, raw, recalibrate=recalibrate,
                              verify=verify, errors=policy, max_line_bytes=max_line_bytes,
                              progress=line), output)


def _write(scored: Iterator[tuple[Batch, np.ndarray]], output: str | None) -> None:
    if output is None or output == "-":
        binary = getattr(sys.stdout, "buffer", None)  # absent when stdout is redirected in-process
        for batch, preds in scored:
            text = format_lines(batch, preds)
            if binary is not None:
                write_fully(binary.write, text)
                binary.flush()
            else:
                sys.stdout.write(text.decode("utf-8"))
        return
    with open_output(output) as out:
        for batch, preds in scored:
            out.write(format_lines(batch, preds))
            out.flush()  # a FIFO's or device's reader gets each batch as it is scored
