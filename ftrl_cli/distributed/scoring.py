"""``predict`` and ``evaluate`` on Dask: a task per piece of the inputs (``pieces``), each
scored by a worker with the model it loaded itself (``worker_cache``).

``predict`` writes the pieces' lines in input order, so ``-o FILE`` holds the bytes the
single-process command writes; ``-o FOLDER/`` gets one part per piece, written by the
worker that scored it, named so that sorting the names gives the input order.  ``evaluate``
merges the pieces' sums exactly (``evaluation``).  A worker lost mid-run: Dask runs its
pieces again elsewhere, and the output is still whole and in order.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ftrl_cli import checkpoint
from ftrl_cli.atomic import write_fully
from ftrl_cli.distributed import worker_cache
from ftrl_cli.distributed.evaluation import (
    logistic_sums,
    merge_logistic,
    merge_regression,
    regression_sums,
)
from ftrl_cli.distributed.pieces import (
    Piece,
    expand_inputs,
    lines_before,
    piece_bytes,
    split_inputs,
)
from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.outputs import check_writable, open_output
from ftrl_cli.readers import MAX_LINE_BYTES, resolve_spec
from ftrl_cli.readers.compat import model_reader

PARTS_PER_WORKER = 4  # pieces in flight per worker: enough to keep each busy, few results held


@contextlib.contextmanager
def piece_errors(piece: Piece) -> Iterator[None]:
    """Errors as the single-process run words them: a byte range's line numbers counted from
    the file's start, and an exception that crosses to the client intact."""
    try:
        yield
    except InputError as e:
        line = e.line + (lines_before(piece.path, piece.start) if piece.start else 0)
        raise FtrlError(str(InputError(e.source, line, e.message))) from None
    except FtrlError as e:
        # the subclasses' own arguments do not survive pickling; their message and code do
        err = FtrlError(str(e))
        err.exit_code = e.exit_code
        raise err from None


def _scored(piece: Piece, model: str, reader: dict, raw: bool, recalibrate: bool,
            verify: bool, max_line_bytes: int, label_hint: str | None = None):
    from ftrl_cli.commands.predict import scored_batches

    ckpt, score = worker_cache.scorer(model, verify, raw, recalibrate)
    return ckpt, scored_batches([piece.path], ckpt, reader, raw, label_hint=label_hint,
                                recalibrate=recalibrate, verify=verify,
                                max_line_bytes=max_line_bytes,
                                read={"workers": 1, **piece.read_args()}, scorer=score)


def score_piece(piece: Piece, model: str, reader: dict, raw: bool, recalibrate: bool,
                verify: bool, max_line_bytes: int, part: str | None = None) -> bytes | int:
    """A task: the prediction lines of ``piece`` (as ``ftrl predict`` formats them), or with
    ``part`` their count of bytes, written to that file atomically."""
    from ftrl_cli.commands.predict import format_lines

    with piece_errors(piece):
        _, scored = _scored(piece, model, reader, raw, recalibrate, verify, max_line_bytes)
        text = b"".join(format_lines(batch, preds) for batch, preds in scored)
        if part is None:
            return text
        with open_output(part) as out:
            write_fully(out.write, text)
        return len(text)


def evaluate_piece(piece: Piece, model: str, reader: dict, recalibrate: bool, verify: bool,
                   max_line_bytes: int) -> dict:
    """A task: the sums of ``evaluation`` over the records of ``piece``."""
    from ftrl_cli.commands.evaluate import _finite, _labelled

    with piece_errors(piece):
        hint = "evaluate needs the label column the model was trained with"
        ckpt, scored = _scored(piece, model, reader, False, recalibrate, verify,
                               max_line_bytes, label_hint=hint)
        ys, ps, ws = [], [], []
        for batch, p in scored:
            _labelled(batch)
            _finite(batch, p)
            ys.append(batch.labels)
            ps.append(p)
            ws.append(batch.weights)
        y, p, w = (np.concatenate(a) if a else np.empty(0) for a in (ys, ps, ws))
        if ckpt.loss.probabilistic:
            if not (np.all((p >= 0.0) & (p <= 1.0))):
                raise FtrlError("cannot evaluate: predictions must be probabilities in [0, 1]")
            return logistic_sums(y, p, w)
        if not (np.all(np.isfinite(y)) and np.all(np.isfinite(p))):
            raise FtrlError("cannot evaluate: labels and predictions must be finite")
        return regression_sums(y, p, w)


def in_order(client: Any, fn: Callable, pieces: list[Piece], args: tuple,
             name: str) -> Iterator[Any]:
    """The results of ``fn(piece, *args)`` for each piece, in the pieces' order, with a
    bounded number of tasks in flight; the rest is cancelled when the caller stops early."""
    token = uuid.uuid4().hex[:12]
    workers = max(1, len(client.scheduler_info()["workers"]))
    window = PARTS_PER_WORKER * workers
    todo = iter(enumerate(pieces))
    running: deque = deque()

    def submit(n: int) -> None:
        for i, piece in itertools.islice(todo, n):
            running.append(client.submit(fn, piece, *args, key=f"ftrl-{name}-{token}-{i}",
                                         pure=False))

    submit(window)
    try:
        while running:
            future = running.popleft()
            result = future.result()
            future.release()
            submit(1)
            yield result
    finally:
        if running:
            client.cancel(list(running))


def _model_format(paths: list[str], model: str, reader: dict, verify: bool) -> str:
    """The inputs' format as the model reads them (the checks a single-process run makes
    first, made here once)."""
    from ftrl_cli.commands.options import check_inputs

    check_inputs(paths)
    ckpt = checkpoint.load(model, weights_only=True, verify=verify)
    trained = ckpt.spec
    spec = resolve_spec(paths, hash_bits=trained.hash_bits, hash_mode=trained.hash_mode,
                        label_column=trained.label_column,
                        ignore_columns=trained.ignore_columns,
                        numeric_columns=trained.numeric_columns,
                        interactions=trained.interactions,
                        vw_interactions=trained.vw_interactions,
                        **model_reader(paths, trained, reader))
    return spec.format


def plan(client: Any, paths: list[str], model: str, reader: dict | None, verify: bool,
         size: int | None) -> tuple[list[Piece], dict]:
    """The pieces of ``paths`` (globs expanded) and the reader options, checked on the
    client before any task runs."""
    from ftrl_cli.distributed.cluster import worker_addresses

    reader = dict(reader or {})
    paths = expand_inputs(list(paths))
    fmt = _model_format(paths, model, reader, verify)
    if size is None:
        total = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
        size = piece_bytes(total, len(worker_addresses(client)))
    return split_inputs([os.path.abspath(p) for p in paths], fmt, size), reader


def is_folder_output(output: str | None) -> bool:
    """``-o FOLDER/`` (a trailing slash, or a folder that exists) gets one part per piece."""
    return output is not None and output != "-" and (output.endswith(os.sep)
                                                     or os.path.isdir(output))


def part_names(folder: str, n: int) -> list[str]:
    """``part-00000.txt``... in ``folder``: sorting the names gives the pieces' order.

    >>> [os.path.basename(p) for p in part_names("out", 2)]
    ['part-00000.txt', 'part-00001.txt']
    """
    width = max(5, len(str(n - 1)))
    return [os.path.join(folder, f"part-{i:0{width}d}.txt") for i in range(n)]


def predict(client: Any, paths: list[str], model: str, output: str | None = None, *,
            raw: bool = False, recalibrate: bool = True, verify: bool = True,
            reader: dict | None = None, max_line_bytes: int = MAX_LINE_BYTES,
            piece_size: int | None = None) -> int:
    """Score ``paths`` with the model file ``model`` on the cluster of ``client``; write the
    lines to ``output`` (a file, ``FOLDER/`` for one part per piece, None or ``-`` for
    stdout). Returns the number of pieces.

    ``reader`` holds ``format``, ``header``, ``columns`` as ``ftrl predict`` takes them;
    ``piece_size`` is the byte size of a large file's ranges (default: `piece_bytes`).

    >>> from ftrl_cli.distributed import connect
    >>> with connect("local:2") as client:  # doctest: +SKIP
    ...     predict(client, ["day1.vw", "day2.vw"], "model.parquet", "scores.txt")
    4
    """
    if output is not None and output.lower().endswith((".parquet", ".pq")):
        raise FtrlError("--dask writes text predictions; -o FILE.parquet is not available "
                        "with --dask")
    model = os.path.abspath(model)
    folder = is_folder_output(output)
    if output is not None and output != "-" and not folder:
        check_writable(output)
    pieces, reader = plan(client, paths, model, reader, verify, piece_size)
    args = (model, reader, raw, recalibrate, verify, max_line_bytes)
    if folder:
        os.makedirs(output, exist_ok=True)
        if any(n.startswith("part-") for n in os.listdir(output)):
            raise FtrlError(f"{output}: holds parts of another run; remove them or give "
                            "another folder")
        parts = [os.path.abspath(p) for p in part_names(output, len(pieces))]
        futures = [client.submit(score_piece, piece, *args, part, pure=False,
                                 key=f"ftrl-part-{uuid.uuid4().hex[:12]}-{i}")
                   for i, (piece, part) in enumerate(zip(pieces, parts))]
        try:
            client.gather(futures)
        finally:
            client.cancel(futures)
        return len(pieces)
    results = in_order(client, score_piece, pieces, args, "score")
    if output is None or output == "-":
        binary = getattr(sys.stdout, "buffer", None)
        for text in results:
            if binary is not None:
                write_fully(binary.write, text)
                binary.flush()
            else:
                sys.stdout.write(text.decode("utf-8"))
        return len(pieces)
    with open_output(output) as out:
        for text in results:
            write_fully(out.write, text)
    return len(pieces)


def evaluate(client: Any, paths: list[str], model: str, *, recalibrate: bool = True,
             verify: bool = True, reader: dict | None = None,
             max_line_bytes: int = MAX_LINE_BYTES, piece_size: int | None = None) -> dict:
    """The metrics ``ftrl evaluate -m model`` reports on ``paths``, computed on the cluster
    of ``client``: count, logloss, calibration and AUC are those of a single-process run
    (a squared-loss model: RMSE, MAE, R²).

    >>> from ftrl_cli.distributed import connect
    >>> with connect("local:2") as client:  # doctest: +SKIP
    ...     evaluate(client, ["test.vw"], "model.parquet")["count"]
    500
    """
    model = os.path.abspath(model)
    pieces, reader = plan(client, paths, model, reader, verify, piece_size)
    regression = not checkpoint.load(model, weights_only=True, verify=verify).loss.probabilistic
    parts = list(in_order(client, evaluate_piece, pieces,
                          (model, reader, recalibrate, verify, max_line_bytes), "evaluate"))
    try:
        return (merge_regression if regression else merge_logistic)(parts)
    except ValueError as e:
        if str(e) == "no rows to evaluate":
            raise FtrlError("no labelled records in the input") from None
        raise FtrlError(f"cannot evaluate: {e}") from None
