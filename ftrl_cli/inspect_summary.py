"""What ``ftrl inspect`` says of a model file, computed from its columns and metadata.

``summarize`` returns one JSON-ready dict (the ``--json`` output); its keys are documented in
README.md.  ``top_weights`` and ``look_up`` answer ``--top K`` and ``--feature NAME``.

>>> import tempfile, numpy as np
>>> from ftrl_cli import checkpoint
>>> from ftrl_cli.config import OptimizerConfig
>>> from ftrl_cli.hashing import feature_index
>>> from ftrl_cli.model import Model
>>> from ftrl_cli.readers.base import FeatureSpec
>>> m = Model(OptimizerConfig(learning_rate=0.5), hash_bits=8)
>>> i = feature_index("u", "a", 8, "strings")
>>> _ = m.train_csr(np.array([0, 1]), np.array([i], np.int32), np.ones(1), np.ones(1))
>>> p = tempfile.mktemp(suffix=".parquet")
>>> checkpoint.save(m, FeatureSpec("vw", 8, hash_mode="strings"), p)
>>> ckpt = checkpoint.load(p)
>>> top_weights(ckpt, 1)[0]["index"] == i, look_up(ckpt, "u=a")["weight"] > 0
(True, True)
>>> abs_quantiles(np.array([0.0, -4.0, 1.0, 2.0, 3.0]))["max"]
4.0
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ftrl_cli.checkpoint import Checkpoint
from ftrl_cli.feature_names import COLLISIONS, FEATURE, META_KEY, naming_of

QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999))


def abs_quantiles(weights: np.ndarray) -> dict[str, float | None]:
    """Quantiles of ``|w|`` over the non-zero weights (None without any)."""
    nz = np.abs(weights[weights != 0.0])
    if not nz.size:
        return {**{k: None for k, _ in QUANTILES}, "max": None}
    qs = np.quantile(nz, [q for _, q in QUANTILES])
    return {**{k: float(v) for (k, _), v in zip(QUANTILES, qs)}, "max": float(nz.max())}


def _kernel(ckpt: Checkpoint) -> np.ndarray:
    return np.flatnonzero(~ckpt.columns["is_bias"])


def summarize(ckpt: Checkpoint) -> dict[str, Any]:
    """The summary of a loaded model (see README.md, ``ftrl inspect``).

    >>> import tempfile, numpy as np
    >>> from ftrl_cli import checkpoint
    >>> from ftrl_cli.config import OptimizerConfig
    >>> from ftrl_cli.model import Model
    >>> from ftrl_cli.readers.base import FeatureSpec
    >>> m = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4)
    >>> _ = m.train_csr(np.array([0, 1]), np.array([3], np.int32), np.ones(1), np.ones(1))
    >>> p = tempfile.mktemp(suffix=".parquet"); checkpoint.save(m, FeatureSpec("vw", 4), p)
    >>> s = summarize(checkpoint.load(p))
    >>> s["touched"], s["nonzero_weights"], s["coordinates"]
    (1, 1, 16)
    """
    meta, c = ckpt.meta, ckpt.columns
    spec = ckpt.spec
    kernel = _kernel(ckpt)
    w = c["weight"][kernel]
    touched = int(kernel.size)
    nonzero = int(np.count_nonzero(w))
    bias = c["weight"][c["is_bias"]]
    loss = ckpt.loss
    names = meta.get(META_KEY)
    if names is not None:
        names = {k: v for k, v in names.items() if k not in ("others", "pending")}
    return {
        "model": ckpt.path,
        "file_bytes": os.path.getsize(ckpt.path),
        "created_by": meta.get("created_by"),
        "format": spec.format,
        "hashing": {**spec.hashing_config(), **(meta.get("hashing") or {})},
        "features": {"columns": list(spec.columns) if spec.columns is not None else None,
                     "label_column": spec.label_column,
                     "ignore_columns": list(spec.ignore_columns),
                     "numeric_columns": list(spec.numeric_columns),
                     "interactions": list(spec.interactions),
                     "vw_interactions": list(spec.vw_interactions)},
        "loss": {"name": loss.name, "keras_loss": loss.keras_loss,
                 "keras_layer": loss.keras_layer},
        "use_bias": ckpt.use_bias,
        "optimizer": meta.get("optimizer"),
        "counters": meta.get("counters", {}),
        "coordinates": spec.n_features,
        "touched": touched,
        "touched_share": touched / spec.n_features,
        "nonzero_weights": nonzero,
        "zero_weights": touched - nonzero,
        "l1_zero_share": (touched - nonzero) / touched if touched else None,
        "bias": float(bias[0]) if ckpt.use_bias and bias.size else None,
        "abs_weight_quantiles": abs_quantiles(w),
        "sampling": meta.get("sampling"),
        "feature_names": names,
    }


def _row(ckpt: Checkpoint, i: int) -> dict[str, Any]:
    c = ckpt.columns
    has = FEATURE in c
    return {"index": int(c["index"][i]), "weight": float(c["weight"][i]),
            "linear": float(c["linear"][i]), "accumulator": float(c["accumulator"][i]),
            "feature": c[FEATURE][i] if has else None,
            "collisions": int(c[COLLISIONS][i]) if has and c[FEATURE][i] is not None
            else None}


def top_weights(ckpt: Checkpoint, k: int) -> list[dict[str, Any]]:
    """The ``k`` kernel coordinates of largest ``|weight|`` (ties: lower index first), with
    their recorded names."""
    kernel = _kernel(ckpt)
    w = np.abs(ckpt.columns["weight"][kernel])
    order = np.lexsort((ckpt.columns["index"][kernel], -w))[:k]
    return [_row(ckpt, int(kernel[i])) for i in order]


def look_up(ckpt: Checkpoint, name: str) -> dict[str, Any]:
    """Where feature ``name`` (as ``ftrl_cli.feature_names.Naming.parse`` reads it) lands
    and what the model holds there; ``recorded`` is the name recorded at that coordinate,
    which differs from ``name`` when another feature collided there first."""
    naming = naming_of(ckpt.spec)
    coord = naming.coordinate(naming.parse(name))
    kernel = _kernel(ckpt)
    hit = kernel[ckpt.columns["index"][kernel] == coord]
    out: dict[str, Any] = {"name": name, "index": coord, "touched": bool(hit.size)}
    if hit.size:
        row = _row(ckpt, int(hit[0]))
        out.update(weight=row["weight"], linear=row["linear"],
                   accumulator=row["accumulator"], collisions=row["collisions"],
                   recorded=row["feature"])
    else:
        out.update(weight=0.0, linear=None, accumulator=None, collisions=None, recorded=None)
    return out
