"""The losses a model trains on: their kernel codes, their Keras names and per-record values.

``logistic`` is Keras's ``Dense(1, activation='sigmoid')`` on binary cross-entropy, labels 0/1
and predictions probabilities; ``squared`` is ``Dense(1)`` on mean squared error, labels any
finite number and predictions the margin itself.  Importance weights are Keras sample weights
under its default ``sum_over_batch_size`` reduction in both.

>>> by_name("squared").keras_loss, from_model_meta({}).name
('mean_squared_error', 'logistic')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ftrl_cli.errors import FtrlError
from ftrl_cli.kernels.layout import LOSS_LOGISTIC, LOSS_SQUARED

_EPS = 1e-15  # as metrics.EPS: one confident mistake costs ~34.5, not inf


@dataclass(frozen=True)
class Loss:
    """A loss as the CLI names it, the kernels code it and the checkpoint records it."""

    name: str
    code: int
    keras_loss: str
    keras_layer: str

    @property
    def probabilistic(self) -> bool:
        """Whether predictions are probabilities (the sigmoid of the margin)."""
        return self.code == LOSS_LOGISTIC

    def record_losses(self, labels: np.ndarray, preds: np.ndarray,
                      weights: np.ndarray) -> np.ndarray:
        """Each record's importance-weighted loss at its prediction.

        >>> LOGISTIC.record_losses(np.array([1.0]), np.array([0.5]), np.array([1.0])).round(6)
        array([0.693147])
        >>> SQUARED.record_losses(np.array([3.0]), np.array([1.0]), np.array([0.5]))
        array([2.])
        """
        if self.code == LOSS_SQUARED:
            return weights * (labels - preds) ** 2
        p = np.clip(preds, _EPS, 1.0 - _EPS)
        return -weights * (labels * np.log(p) + (1.0 - labels) * np.log1p(-p))


LOGISTIC = Loss("logistic", LOSS_LOGISTIC, "binary_crossentropy",
                "Dense(1, activation='sigmoid')")
SQUARED = Loss("squared", LOSS_SQUARED, "mean_squared_error", "Dense(1)")
LOSSES = {loss.name: loss for loss in (LOGISTIC, SQUARED)}


def by_name(name: str) -> Loss:
    """The loss ``--loss NAME`` chooses; a one-line error for any other name.

    >>> by_name("logistic").code
    0
    """
    try:
        return LOSSES[name]
    except KeyError:
        raise FtrlError(f"--loss: unknown loss {name!r} (choose from "
                        f"{', '.join(LOSSES)})") from None


def from_model_meta(model: dict) -> Loss:
    """The loss a checkpoint's ``model`` metadata records; logistic when it records none.

    >>> from_model_meta({"loss": "mean_squared_error"}).name
    'squared'
    """
    keras_loss = model.get("loss", LOGISTIC.keras_loss)
    for loss in LOSSES.values():
        if loss.keras_loss == keras_loss:
            return loss
    raise FtrlError(f"unknown loss {keras_loss!r} in the model's metadata")
