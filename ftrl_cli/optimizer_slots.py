"""Per-variable state of ``Ftrl`` and the gradient forms it accepts.

:class:`Slots` holds one variable's optimizer arrays, flat: Keras's ``accumulator`` and
``linear`` slots plus the bookkeeping of lazy moving averages and gradient accumulation.
``dense_gradient`` and ``sparse_gradient`` check a gradient against its variable and turn it
into the flat float64 form the kernels of ``ftrl_cli.kernels.dense`` update in place.

>>> import numpy as np
>>> coords, g = sparse_gradient((np.array([1, 0, 1]), np.ones((3, 2))), np.zeros((3, 2)))
>>> coords.tolist(), g.tolist()
([0, 1, 2, 3], [1.0, 1.0, 2.0, 2.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ftrl_cli.config import OptimizerConfig

__all__ = ["Slots", "dense_gradient", "sparse_gradient"]


class Slots:
    """The optimizer's state of one variable, flat: Keras's slots plus the lazy bookkeeping.

    >>> from ftrl_cli.config import OptimizerConfig
    >>> s = Slots(np.zeros((2, 2)), OptimizerConfig(initial_accumulator_value=0.5))
    >>> s.view(s.n).tolist(), s.avg.size, s.acc.size
    ([[0.5, 0.5], [0.5, 0.5]], 0, 0)
    """

    def __init__(self, var: np.ndarray, config: OptimizerConfig) -> None:
        self.var = var
        self.flat = var.reshape(-1)
        dtype, size = var.dtype, var.size
        self.n = np.full(size, config.initial_accumulator_value, dtype=dtype)
        self.z = np.zeros(size, dtype=dtype)
        ema = bool(config.use_ema)
        self.avg = np.zeros(size if ema else 0, dtype=dtype)
        # Raw iteration up to which ``avg`` (and an overwritten weight) is current.
        self.est = np.zeros(size if ema else 0, dtype=np.int64)
        acc = bool(config.gradient_accumulation_steps)
        self.acc = np.zeros(size if acc else 0, dtype=dtype)
        self.mark = np.zeros(size if acc else 0, dtype=np.uint8)
        self.pending = np.zeros(size if acc else 0, dtype=np.int64)
        self.ctr = np.zeros(1, dtype=np.int64)

    def view(self, flat: np.ndarray) -> np.ndarray:
        """``flat`` (one of the slot arrays) shaped like the variable."""
        return flat.reshape(self.var.shape)


def dense_gradient(grad: Any, var: np.ndarray) -> np.ndarray:
    """A flat float64 copy of ``grad``, which must have ``var``'s shape.

    A copy: the gradient is scaled, accumulated and clipped in place.

    >>> dense_gradient([[1, 2], [3, 4]], np.zeros((2, 2))).tolist()
    [1.0, 2.0, 3.0, 4.0]
    >>> dense_gradient([1, 2], np.zeros(3))
    Traceback (most recent call last):
    ValueError: gradient of shape (2,) for a variable of shape (3,)
    """
    g = np.array(grad, dtype=np.float64)
    if g.shape != var.shape:
        raise ValueError(f"gradient of shape {g.shape} for a variable of shape {var.shape}")
    return g.reshape(-1)


def sparse_gradient(grad: Any, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, values)`` -> sorted unique flat coordinates and their summed gradients.

    ``grad`` is a tuple or has ``.indices`` and ``.values``; ``indices`` select entries of the
    variable's first axis and repeated indices add up.

    >>> coords, g = sparse_gradient((np.array([3, 1, 3]), np.array([1.0, 2.0, 4.0])), np.zeros(5))
    >>> coords.tolist(), g.tolist()
    ([1, 3], [2.0, 5.0])
    >>> sparse_gradient((np.array([5]), np.array([1.0])), np.zeros(5))
    Traceback (most recent call last):
    ValueError: sparse gradient: indices must be in [0, 5)
    """
    if hasattr(grad, "indices") and hasattr(grad, "values"):
        indices, values = grad.indices, grad.values
    else:
        indices, values = grad
    idx = np.asarray(indices)
    if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
        raise ValueError("sparse gradient: indices must be a 1-D integer array")
    idx = idx.astype(np.int64)
    rows = var.shape[0] if var.ndim else 1
    row_size = var.size // rows if rows else 0
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        raise ValueError(f"sparse gradient: indices must be in [0, {rows})")
    vals = np.array(values, dtype=np.float64)
    expected = (idx.size, *var.shape[1:])
    if vals.shape != expected and not (var.ndim == 0 and vals.shape == (idx.size,)):
        raise ValueError(f"sparse gradient: values of shape {vals.shape}, expected {expected}")
    g = vals.reshape(-1)
    coords = idx if row_size == 1 else (idx[:, None] * row_size + np.arange(row_size)).ravel()
    if coords.size > 1 and not bool(np.all(coords[1:] > coords[:-1])):
        coords, inverse = np.unique(coords, return_inverse=True)
        g = np.bincount(inverse.reshape(-1), weights=g, minlength=coords.size)
    return np.ascontiguousarray(coords, dtype=np.int64), g
