"""Scoring, evaluation and training on a Dask cluster (``dask.distributed``).

The same work as ``ftrl predict``, ``evaluate`` and ``train``, spread over the workers of a
``distributed.Client``; the CLI's ``--dask ADDRESS|local:N`` calls these functions.  Every
worker reads the inputs and the model from their paths, so both must be on storage the
workers share.  Dask is imported only when one of these is called.

>>> from ftrl_cli import distributed as fd
>>> with fd.connect("local:2") as client:  # doctest: +SKIP
...     fd.predict(client, ["logs/*.vw"], "model.parquet", "scores/")
...     report = fd.evaluate(client, ["test.vw"], "model.parquet")
...     fd.train(client, ["logs/*.vw"], "new.parquet", learning_rate=0.1, sync_every=20000)
"""

from __future__ import annotations

from typing import Any


def connect(address: str):
    """A client for ``address`` (``tcp://host:8786``, or ``local:N`` for N local worker
    processes), as a context manager; see ``ftrl_cli.distributed.cluster``."""
    from ftrl_cli.distributed.cluster import connect as _connect

    return _connect(address)


def predict(client: Any, paths: list[str], model: str, output: str | None = None,
            **options: Any) -> int:
    """``ftrl predict`` on the cluster; see ``ftrl_cli.distributed.scoring.predict``."""
    from ftrl_cli.distributed.scoring import predict as _predict

    return _predict(client, paths, model, output, **options)


def evaluate(client: Any, paths: list[str], model: str, **options: Any) -> dict:
    """``ftrl evaluate -m`` on the cluster; see ``ftrl_cli.distributed.scoring.evaluate``."""
    from ftrl_cli.distributed.scoring import evaluate as _evaluate

    return _evaluate(client, paths, model, **options)


def train(client: Any, paths: list[str], output: str, **options: Any) -> dict:
    """``ftrl train`` on the cluster; see ``ftrl_cli.distributed.training.train``."""
    from ftrl_cli.distributed.training import train as _train

    return _train(client, paths, output, **options)
