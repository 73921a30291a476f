"""Records as a model sees them: the hashed CSR input of a Keras export, from text lines.

>>> import os, tempfile
>>> from ftrl_cli import checkpoint
>>> meta = {"features": {"format": "vw", "hash_bits": 4, "hash_mode": "strings"},
...         "model": {"use_bias": True}}
>>> model = checkpoint.Checkpoint("m.parquet", meta, {})
>>> X, y = hash_records(["1 |u a b:2", "0 |u b"], model=model)
>>> X.shape, y.tolist(), X.sum(axis=1).A1.tolist()
((2, 16), [1.0, 0.0], [3.0, 1.0])
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from ftrl_cli import checkpoint
from ftrl_cli.errors import FtrlError
from ftrl_cli.keras_file import read_entry

if TYPE_CHECKING:
    import scipy.sparse as sp

_NO_WEIGHTS = {"is_bias": np.zeros(0, bool), "index": np.zeros(0, np.int64),
               "weight": np.zeros(0)}


def hash_records(lines: str | Iterable[str], model: str | os.PathLike | checkpoint.Checkpoint, *,
                 header: bool = True) -> tuple[sp.csr_matrix, np.ndarray]:
    """``(X, y)``: the CSR matrix of shape ``(n, 2**hash_bits)`` of ``lines`` hashed as
    ``model`` hashes its input, and their labels (NaN where a record has none).

    ``lines`` is text (a string of lines, or an iterable of lines) in the model's format;
    ``model`` a checkpoint, its path, or a ``.keras`` file written by ``ftrl export``. The
    records go through the readers exactly as ``ftrl predict`` reads them (the model's
    format, columns, hash mode and crosses); a csv/tsv model's text starts with its header
    unless ``header`` is false (the model's recorded columns then name them). Duplicate
    features of a record stay as separate entries, which add up in any product; a record's
    vw base margin has no place in a Keras input and is not returned.
    """
    import scipy.sparse as sp

    from ftrl_cli.commands.predict import scored_batches

    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    ckpt = _hashing_model(model) if isinstance(model, str) else model
    text = lines if isinstance(lines, str) else "".join(
        line if line.endswith("\n") else line + "\n" for line in lines)
    fd, path = tempfile.mkstemp(prefix="ftrl-records-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
        # Scored as margins with no weights: only the batches are wanted.
        blank = checkpoint.Checkpoint(ckpt.path, ckpt.meta, _NO_WEIGHTS)
        batches = [b for b, _ in scored_batches([path], blank, {"header": header}, raw=True,
                                                recalibrate=False)]
    except FtrlError as e:  # name the records, not the temporary file
        raise FtrlError(str(e).replace(path, "records")) from None
    finally:
        os.unlink(path)
    n = 1 << int(ckpt.spec.hash_bits)
    if not batches:
        return sp.csr_matrix((0, n)), np.zeros(0)
    X = sp.vstack([sp.csr_matrix((b.data, b.indices, b.indptr), shape=(len(b), n))
                   for b in batches], format="csr")
    return X, np.concatenate([b.labels for b in batches])


def _hashing_model(path: str) -> checkpoint.Checkpoint:
    """A checkpoint's metadata, or that of the ftrl entry of a ``.keras`` export."""
    if not path.endswith(".keras"):
        return checkpoint.load(path, weights_only=True)
    meta = read_entry(path) if os.path.exists(path) else None
    if meta is None or "features" not in meta:
        raise FtrlError(f"{path}: no ftrl feature spec in this .keras file "
                        "(not written by ftrl export)")
    return checkpoint.Checkpoint(path, meta, _NO_WEIGHTS)
