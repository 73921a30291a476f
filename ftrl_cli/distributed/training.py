"""``ftrl train --dask``: synchronous rounds of the exact kernel on every worker.

Each round, every worker trains its replica (``replica``) on the next ``--sync-every``
records of its stream, starting from the round's model; the driver merges the changes of
the rows touched in the round (``merge_rule``) into its own model and sends the merged
changes back with the next round's tasks.  One worker sees every record in input order
with the model of a single-process run: its model is that run's, bit for bit.

A worker lost mid-round: Dask runs its task again on another worker (which opens the lost
worker's stream where it stood), the round completes, and the run says so.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import uuid
from typing import Any

import numpy as np

from ftrl_cli.config import OptimizerConfig
from ftrl_cli.distributed.merge_rule import merge
from ftrl_cli.distributed.pieces import Piece, expand_inputs, piece_bytes, split_inputs
from ftrl_cli.distributed.replica import Setup, drop, train_share
from ftrl_cli.errors import FtrlError
from ftrl_cli.kernels import layout as L
from ftrl_cli.model import Model
from ftrl_cli.schedules import Schedule

SYNC_EVERY = 1000  # records per worker per round


def refuse_options(*, inputs: list[str], batch_size: int, holdout: Any, resumable: bool,
                   sampling_rate: float | None, plot_loss: str | None, errors: dict | None,
                   sync_every: int, feature_names: bool = False) -> None:
    """The one-line error for a ``train`` option that does not work with ``--dask``.

    >>> refuse_options(inputs=["a.vw"], batch_size=4, holdout=None, resumable=False,
    ...                sampling_rate=None, plot_loss=None, errors=None, sync_every=10)
    Traceback (most recent call last):
    ...
    ftrl_cli.errors.FtrlError: --batch-size 4 is not available with --dask (each worker ...
    """
    if "-" in inputs:
        raise FtrlError("--dask reads files (the workers cannot read this stdin)")
    if sync_every < 1:
        raise FtrlError("--sync-every must be at least 1 record")
    if batch_size != 1:
        raise FtrlError(f"--batch-size {batch_size} is not available with --dask (each worker "
                        "takes one step per record)")
    if holdout is not None:
        raise FtrlError("holdout and early stopping are not available with --dask; with "
                        "--passes > 1 give --holdout-off")
    if resumable:
        raise FtrlError("--checkpoint-every and --resume are not available with --dask")
    if sampling_rate is not None:
        raise FtrlError("--negative-sampling is not available with --dask")
    if plot_loss is not None:
        raise FtrlError("--plot-loss is not available with --dask")
    if errors and (errors.get("on_error") == "skip" or errors.get("rejects")):
        raise FtrlError("--on-error skip is not available with --dask")
    if feature_names:
        raise FtrlError("--feature-names is not available with --dask")


def refuse_config(cfg: OptimizerConfig) -> None:
    """Optimizer settings whose state cannot be merged across workers."""
    if cfg.use_ema:
        raise FtrlError("--use-ema is not available with --dask (the moving average of "
                        "weights trained apart has no exact merge)")
    if cfg.gradient_accumulation_steps:
        raise FtrlError("--gradient-accumulation-steps is not available with --dask")
    if isinstance(cfg.learning_rate, Schedule) or callable(cfg.learning_rate):
        raise FtrlError("a --learning-rate schedule is not available with --dask; give a "
                        "number")


def assign(pieces: list[Piece], workers: int) -> list[list[Piece]]:
    """The pieces cut into ``workers`` runs of consecutive pieces of about equal bytes.

    >>> ps = [Piece("a", i * 10, i * 10 + 10) for i in range(4)]
    >>> [[p.start for p in run] for run in assign(ps, 2)]
    [[0, 10], [20, 30]]
    """
    sizes = [(p.stop if p.stop is not None else _size(p.path)) - p.start for p in pieces]
    total = sum(sizes) or 1
    runs: list[list[Piece]] = [[] for _ in range(workers)]
    done = 0
    for p, s in zip(pieces, sizes):
        k = min(workers - 1, int(workers * (done + s / 2) / total))
        runs[k].append(p)
        done += s
    return runs


def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path)
                   for f in fs)
    return os.path.getsize(path)


def _alive(client: Any) -> list[str]:
    return sorted(client.scheduler_info()["workers"])


def _full_state(model: Model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.flatnonzero(model.touched).astype(np.int64)
    return rows, np.take(model.state, rows, axis=0), model.ctr.copy()


def train_rounds(client: Any, model: Model, inputs: list[str], spec, *, passes: int,
                 sync_every: int, init_model: str | None, verify: bool,
                 max_line_bytes: int, quiet: bool, piece_size: int | None = None) -> dict:
    """Train ``model`` in place on ``inputs`` on the cluster of ``client``; returns the
    run's figures (examples, loss and weight sums, rounds, workers, lost workers)."""
    paths = [os.path.abspath(p) for p in expand_inputs(inputs)]
    workers = _alive(client)
    if not workers:
        raise FtrlError("--dask: the cluster has no workers")
    k = len(workers)
    if piece_size is None:
        # small pieces cost little here (a stream reads them one after another), and even a
        # small input then gives every worker records
        piece_size = piece_bytes(sum(_size(p) for p in paths), k, least=4096)
    streams = assign(split_inputs(paths, spec.format, piece_size), k)
    cfg = model.config
    setup = Setup(token=uuid.uuid4().hex, config=cfg, hash_bits=model.hash_bits,
                  use_bias=model.use_bias, dtype=np.dtype(model.state.dtype).name,
                  loss=model.loss.name, spec=spec, streams=tuple(map(tuple, streams)),
                  passes=passes, max_line_bytes=max_line_bytes,
                  init_model=os.path.abspath(init_model) if init_model else None,
                  verify=verify)
    setup_f = client.scatter(setup, broadcast=True, hash=False)
    lr = float(cfg.learning_rate)
    rule = (lr, cfg.l1_regularization_strength, cfg.l2_regularization_strength, cfg.beta,
            cfg.learning_rate_power)
    who = {s: workers[s] for s in range(k)}
    position = [0] * k
    done = [not run for run in streams]
    merged_f = None
    version = 0
    figures = {"examples": 0, "loss": 0.0, "weight": 0.0, "rounds": 0, "workers": k,
               "lost": 0}
    next_report = 1
    start = time.perf_counter()
    try:
        while not all(done):
            active = [s for s in range(k) if not done[s]]
            for _, old, new in _place(client, who, active):
                figures["lost"] += 1
                print(f"ftrl: round {version + 1}: worker {old} was lost; its stream goes on "
                      f"on {new}", file=sys.stderr)
            results = _round(client, setup_f, version, merged_f, who, active, position,
                             sync_every, model)
            for s in active:
                r = results[s]
                if r["worker"] != who[s]:
                    figures["lost"] += 1
                    print(f"ftrl: round {version + 1}: worker {who[s]} was lost; its share "
                          f"was trained again on {r['worker']}", file=sys.stderr)
                    who[s] = r["worker"]
                position[s] += r["records"]
                done[s] = r["end"]
                figures["examples"] += r["records"]
                figures["loss"] += r["loss"]
                figures["weight"] += r["weight"]
            parts = [(results[s]["rows"], results[s]["before"], results[s]["after"])
                     for s in active]
            rows, state = merge(parts, *rule)
            model.state[rows, :L.BASE_COLS] = state
            model.ctr[L.CTR_IT] += sum(results[s]["steps"] for s in active)
            model.ctr[L.CTR_EXAMPLES] += sum(results[s]["records"] for s in active)
            bad = ~np.isfinite(state[:, L.W])
            if bad.any():
                raise FtrlError("the merged weights are not finite; lower the learning rate "
                                "or --sync-every")
            if merged_f is not None:
                merged_f.release()
            merged_f = _send(client, (rows, state.astype(model.state.dtype), model.ctr.copy()))
            version += 1
            figures["rounds"] = version
            if not quiet and (version >= next_report or all(done)):
                next_report *= 2
                avg = figures["loss"] / figures["weight"] if figures["weight"] else math.nan
                secs = time.perf_counter() - start
                print(f"round {version:>6}  examples {figures['examples']:>12}  "
                      f"average loss {avg:.6f}  {figures['examples'] / max(secs, 1e-9):,.0f} "
                      "examples/s", file=sys.stderr)
    finally:
        with contextlib.suppress(Exception):
            client.run(drop, setup.token)
    return figures


def _send(client: Any, merged: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Any:
    """The merged changes, scattered to every worker once for the next round's tasks (as
    task arguments they would travel through the scheduler, which was slower)."""
    # (in a list: a scattered tuple would become a tuple of futures)
    return client.scatter([merged], broadcast=True, hash=False)[0]


def _place(client: Any, who: dict[int, str], active: list[int]) -> list[tuple[int, str, str]]:
    """Give a stream whose worker is gone to the live worker holding the fewest streams;
    the ``(stream, old worker, new worker)`` moved."""
    alive = _alive(client)
    if not alive:  # (a restarted worker takes a moment to come back)
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise FtrlError("--dask: every worker was lost") from None
        alive = _alive(client)
    moved = []
    for s in active:
        if who[s] not in alive:
            load = {w: sum(1 for t in active if who[t] == w) for w in alive}
            new = min(alive, key=lambda w: (load[w], w))
            moved.append((s, who[s], new))
            who[s] = new
    return moved


def _round(client: Any, setup_f, version: int, merged_f, who: dict[int, str],
           active: list[int], position: list[int], rows: int, model: Model) -> dict:
    """Every active stream's share of this round, run where its replica is."""
    def submit(s: int, full=None, worker: str | None = None):
        return client.submit(train_share, setup_f, version, merged_f, full, s, position[s],
                             rows, workers=[worker or who[s]], allow_other_workers=True,
                             pure=False, key=f"ftrl-share-{uuid.uuid4().hex[:8]}-{version}-{s}")

    futures = {s: submit(s) for s in active}
    results = {}
    full_f = None
    while futures:
        done = dict(zip(futures, client.gather(list(futures.values()))))
        futures = {}
        for s, r in done.items():
            if r["needs_model"]:
                # a worker without the replica (restarted, or new): the whole model, once
                if full_f is None:
                    full_f = client.scatter([_full_state(model)], hash=False)[0]
                futures[s] = submit(s, full_f, r["worker"])
            else:
                results[s] = r
    return results


def train(client: Any, paths: list[str], output: str, *, sync_every: int = SYNC_EVERY,
          init_model: str | None = None, passes: int = 1, use_bias: bool = True,
          state_dtype: str = "float64", loss: str | None = None, quiet: bool = True,
          reader: dict | None = None, interactions: str | None = None,
          vw_interactions: tuple[str, ...] = (), metrics_out: str | None = None,
          verify: bool = True, piece_size: int | None = None, **optimizer: Any) -> dict:
    """``ftrl train --dask`` from Python: train on ``paths`` with the workers of ``client``
    and write the model to ``output``; returns the run's figures (examples, iterations,
    average loss, seconds, rounds, workers, workers lost).

    ``reader`` holds ``ftrl train``'s input and hashing options under their Python names
    (``format``, ``hash_bits``, ``label_column``...); ``optimizer`` Keras's Ftrl arguments
    (``learning_rate=0.1``, ``l1_regularization_strength=1.0``...).  More than one pass
    trains on every record (no holdout).

    >>> from ftrl_cli.distributed import connect
    >>> with connect("local:2") as client:  # doctest: +SKIP
    ...     train(client, ["day1.vw"], "model.parquet", learning_rate=0.1)["workers"]
    2
    """
    from ftrl_cli.commands.train import run_train

    given = dict(reader or {})
    full = {"format": None, "header": True, "columns": None, "hash_bits": 22,
            "hash_mode": "strings", "label_column": "label", "ignore_columns": (),
            "numeric_columns": (), **given}
    flags = {k: str(v) if k == "learning_rate" else v for k, v in optimizer.items()}
    crosses = None
    if interactions is not None or vw_interactions:
        crosses = {"interactions": interactions, "vw_interactions": tuple(vw_interactions)}
    return run_train(inputs=list(paths), output=output, init_model=init_model, passes=passes,
                     batch_size=1, use_bias=use_bias, state_dtype=state_dtype, quiet=quiet,
                     reader=full, hashing_given=bool(set(given) - {"format", "header",
                                                                   "columns"}),
                     optimizer_config=None, optimizer_flags=flags, loss=loss,
                     holdout={"off": passes > 1}, crosses=crosses, verify=verify,
                     metrics_out=metrics_out, dask=client, sync_every=sync_every,
                     piece_size=piece_size)
