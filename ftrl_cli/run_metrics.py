"""``--metrics-out FILE.json``: what a run did, for the scripts and monitors around a cron job.

The file is written like every output (atomically for a regular file, see
``ftrl_cli.outputs``), so a monitor never reads half of it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from typing import Any

from ftrl_cli.outputs import open_output, resolve

_CHUNK = 1 << 20


def file_sha256(path: str) -> str | None:
    """The SHA-256 of a regular file's bytes, as ``sha256sum`` prints it; None for a device,
    FIFO or descriptor, whose bytes cannot be read back.

    >>> import tempfile
    >>> p = tempfile.mktemp(); _ = open(p, "wb").write(b"abc")
    >>> file_sha256(p)[:16]
    'ba7816bf8f01cfea'
    """
    dest = resolve(path)
    if dest.kind != "replace" or not os.path.isfile(dest.path):
        return None
    digest = hashlib.sha256()
    with open(dest.path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _finite(value: float | None) -> float | None:
    # JSON has no NaN: a loss that was never measured is null
    return value if value is not None and math.isfinite(value) else None


def train_metrics(*, model_path: str, examples: int, passes: int, iterations: int,
                  average_loss: float, seconds: float, holdout_losses: list[float] | None,
                  best_pass: int | None, skipped: int = 0,
                  negatives_dropped: int | None = None) -> dict[str, Any]:
    """The metrics of a finished ``ftrl train`` run.

    >>> m = train_metrics(model_path="m.parquet", examples=10, passes=1, iterations=10,
    ...                   average_loss=0.5, seconds=2.0, holdout_losses=None, best_pass=None)
    >>> m["rows_per_second"], m["holdout_loss"], m["model"]["sha256"]
    (5.0, None, None)
    """
    return {
        "command": "train",
        "examples": examples,
        "passes": passes,
        "optimizer_iterations": iterations,
        "average_loss": _finite(average_loss),
        "holdout_loss": _finite(holdout_losses[best_pass - 1]) if best_pass else None,
        "holdout_loss_per_pass": ([_finite(x) for x in holdout_losses]
                                  if holdout_losses is not None else None),
        "best_pass": best_pass or None,
        "skipped_records": skipped,
        "negatives_dropped": negatives_dropped,
        "seconds": seconds,
        "rows_per_second": examples / seconds if seconds > 0 else None,
        "model": {"path": os.path.abspath(model_path), "sha256": file_sha256(model_path)},
    }


def write_metrics(path: str, metrics: dict[str, Any]) -> None:
    """Write ``metrics`` as JSON to ``path`` (atomically for a regular file).

    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "run.json")
    >>> write_metrics(p, {"examples": 3})
    >>> json.load(open(p))
    {'examples': 3}
    """
    text = json.dumps(metrics, indent=2, allow_nan=False) + "\n"
    with open_output(path) as fh:
        fh.write(text.encode("utf-8"))
