"""What a worker process keeps between its tasks: the models it loaded itself from their
paths (never sent through the scheduler), and the training replicas (``replica``).

Module globals live as long as the worker process; a restarted worker starts empty and loads
again.  A model file is known by its path, size and modification time, so a model replaced
at the same path is loaded anew.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from ftrl_cli import checkpoint
from ftrl_cli.readers.base import Batch

KEEP_MODELS = 2  # models kept per worker: a job scores with one, a comparison with two

_lock = threading.Lock()
_models: OrderedDict[tuple, checkpoint.Checkpoint] = OrderedDict()
_scorers: dict[tuple, Callable[[Batch], np.ndarray]] = {}
loads = 0  # how many times this process read a model file (what the tests look at)


def _key(path: str, verify: bool) -> tuple:
    st = os.stat(path)
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns, verify)


def model(path: str, verify: bool = True) -> checkpoint.Checkpoint:
    """The checkpoint at ``path`` (weights only), loaded once per worker and kept.

    >>> import tempfile
    >>> from ftrl_cli.config import OptimizerConfig
    >>> from ftrl_cli.model import Model
    >>> from ftrl_cli.readers import FeatureSpec
    >>> p = tempfile.mktemp(suffix=".parquet")
    >>> checkpoint.save(Model(OptimizerConfig(), 4), FeatureSpec("vw", hash_bits=4), p)
    >>> model(p) is model(p)
    True
    """
    global loads
    if not os.path.exists(path):
        return checkpoint.load(path, weights_only=True, verify=verify)  # its one-line error
    key = _key(path, verify)
    with _lock:
        if key in _models:
            _models.move_to_end(key)
            return _models[key]
        ckpt = checkpoint.load(path, weights_only=True, verify=verify)
        loads += 1
        _models[key] = ckpt
        while len(_models) > KEEP_MODELS:
            old, _ = _models.popitem(last=False)
            for k in [k for k in _scorers if k[0] == old]:
                del _scorers[k]
        return ckpt


def scorer(path: str, verify: bool, raw: bool, recalibrate: bool
           ) -> tuple[checkpoint.Checkpoint, Callable[[Batch], np.ndarray]]:
    """The model at ``path`` and its ``model_scorer``, both kept between tasks."""
    from ftrl_cli.commands.predict import model_scorer

    ckpt = model(path, verify)
    key = (_key(path, verify), raw, recalibrate)
    with _lock:
        if key not in _scorers:
            _scorers[key] = model_scorer(ckpt, raw, recalibrate)
        return ckpt, _scorers[key]


def load_count() -> int:
    """How many model files this process has read (for ``client.run``)."""
    return loads
