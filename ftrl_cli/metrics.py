"""Evaluation metrics for click-through-rate predictions, vectorised, with optional weights
(and ``evaluate_regression`` for a squared-loss model's).

Every function takes labels ``y`` (0/1; ``logloss``, ``normalized_entropy`` and
``calibration`` also accept soft labels in [0, 1]), predicted probabilities ``p`` and
optional non-negative importance weights ``w``. A metric that is undefined for the input
(AUC with a single class, NE with a base rate of exactly 0 or 1, calibration with no
positives) raises ``ValueError``; ``evaluate`` reports such a metric as NaN instead so a
report over a small slice still prints.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

EPS = 1e-15
"""Predictions are clipped to [EPS, 1 - EPS] so one confident mistake costs ~34.5, not inf."""


def _prepare(
    y: ArrayLike, p: ArrayLike, w: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    y, p, w = _prepare_any(y, p, w)
    if not np.all((y >= 0.0) & (y <= 1.0)):
        raise ValueError("labels must lie in [0, 1]")
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError("predictions must be probabilities in [0, 1]")
    return y, p, w


def _prepare_any(
    y: ArrayLike, p: ArrayLike, w: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Flat float arrays of equal length, and valid weights; values are not checked."""
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels and predictions differ in length: {y.size} vs {p.size}")
    if y.size == 0:
        raise ValueError("no rows to evaluate")
    if w is None:
        return y, p, None
    w = np.asarray(w, dtype=np.float64).ravel()
    if w.shape != y.shape:
        raise ValueError(f"weights and labels differ in length: {w.size} vs {y.size}")
    if not np.all(np.isfinite(w) & (w >= 0.0)):
        raise ValueError("weights must be finite and non-negative")
    if not w.sum() > 0.0:
        raise ValueError("weights sum to zero")
    return y, p, w


def _mean(x: np.ndarray, w: np.ndarray | None) -> float:
    return float(np.mean(x)) if w is None else float(np.dot(x, w) / w.sum())


def _logloss(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    p = np.clip(p, EPS, 1.0 - EPS)
    return -_mean(y * np.log(p) + (1.0 - y) * np.log1p(-p), w)


def _entropy(rate: float) -> float:
    if rate <= 0.0 or rate >= 1.0:
        raise ValueError(f"normalized entropy is undefined for a base rate of {rate:g}")
    return -(rate * math.log(rate) + (1.0 - rate) * math.log1p(-rate))


def score_groups(
    y: np.ndarray, p: np.ndarray, w: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct scores of ``p``, ascending, with the positive and the negative weight of
    the rows at each (0/1 labels; a row's weight is 1 without ``w``).

    >>> score_groups(np.array([1.0, 0.0, 1.0]), np.array([0.5, 0.2, 0.5]), None)
    (array([0.2, 0.5]), array([0., 2.]), array([1., 0.]))
    """
    if not np.all((y == 0.0) | (y == 1.0)):
        raise ValueError("AUC needs 0/1 labels")
    w = np.ones_like(y) if w is None else w
    order = np.argsort(p, kind="stable")
    ps, pos, neg = p[order], (y * w)[order], ((1.0 - y) * w)[order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    return ps[starts], np.add.reduceat(pos, starts), np.add.reduceat(neg, starts)


def _auc(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    _, pos_g, neg_g = score_groups(y, p, w)
    return auc_from_groups(pos_g, neg_g)


def auc_from_groups(pos_g: np.ndarray, neg_g: np.ndarray) -> float:
    """AUC from ``score_groups``' positive and negative weights per distinct score (ascending):
    groups computed apart and merged give the AUC of all the rows.

    >>> auc_from_groups(np.array([0.0, 1.0, 1.0]), np.array([1.0, 1.0, 0.0]))
    0.875
    """
    # Rows with equal predictions form one group; a positive beats every negative of a lower
    # group and half of the negatives of its own group (ties cannot be ranked either way).
    neg_below = np.cumsum(neg_g) - neg_g
    total_pos, total_neg = pos_g.sum(), neg_g.sum()
    if total_pos <= 0.0 or total_neg <= 0.0:
        raise ValueError("AUC is undefined when only one class is present")
    return float(np.dot(pos_g, neg_below + 0.5 * neg_g) / (total_pos * total_neg))


def logloss(y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None) -> float:
    """Mean negative log-likelihood (natural log) of ``y`` under ``p``.

    >>> round(logloss([1, 0], [0.5, 0.5]), 6)
    0.693147
    """
    return _logloss(*_prepare(y, p, w))


def auc(y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None) -> float:
    """Area under the ROC curve: the weighted share of (positive, negative) pairs ranked right.

    Tied predictions count half. O(n log n). Raises ``ValueError`` when only one class has
    positive weight.

    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    return _auc(*_prepare(y, p, w))


def normalized_entropy(y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None) -> float:
    """Log loss divided by the entropy of the (weighted) base rate; 1.0 = no better than it.

    >>> normalized_entropy([1, 0, 0, 0], [0.25] * 4)
    1.0
    """
    y, p, w = _prepare(y, p, w)
    return _logloss(y, p, w) / _entropy(_mean(y, w))


def calibration(y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None) -> float:
    """Mean prediction over mean label; 1.0 means as many clicks predicted as observed.

    >>> calibration([1, 0, 0, 0], [0.5, 0.5, 0.5, 0.5])
    2.0
    """
    y, p, w = _prepare(y, p, w)
    mean_label = _mean(y, w)
    if mean_label <= 0.0:
        raise ValueError("calibration is undefined when there are no positive labels")
    return _mean(p, w) / mean_label


def _undefined_as_nan(fn, *args) -> float:
    try:
        return fn(*args)
    except ValueError:
        return math.nan


def evaluate(y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None) -> dict:
    """All metrics at once; a metric undefined for this input is NaN.

    ``count`` is the number of rows (not the sum of weights).

    >>> r = evaluate([0, 1, 1, 0], [0.2, 0.7, 0.6, 0.3])
    >>> r["count"], r["auc"], round(r["calibration"], 2)
    (4, 1.0, 0.9)
    """
    y, p, w = _prepare(y, p, w)
    mean_label, mean_pred = _mean(y, w), _mean(p, w)
    loss = _logloss(y, p, w)
    return {
        "count": int(y.size),
        "logloss": loss,
        "auc": _undefined_as_nan(_auc, y, p, w),
        "normalized_entropy": _undefined_as_nan(lambda: loss / _entropy(mean_label)),
        "calibration": mean_pred / mean_label if mean_label > 0.0 else math.nan,
        "mean_prediction": mean_pred,
        "mean_label": mean_label,
    }


def evaluate_regression(y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None) -> dict:
    """Metrics of a squared-loss model's predictions, importance-weighted as ``evaluate``.

    ``rmse`` and ``mae`` are the root mean squared and the mean absolute error; ``r2`` is
    ``1 - SSE / SST`` around the (weighted) mean label, NaN when every label is the same.

    >>> r = evaluate_regression([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 3.0, 3.5])
    >>> round(r["rmse"], 6), r["mae"], r["r2"]
    (0.353553, 0.25, 0.9)
    """
    y, p, w = _prepare_any(y, p, w)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(p))):
        raise ValueError("labels and predictions must be finite")
    mean_label = _mean(y, w)
    mse = _mean((y - p) ** 2, w)
    variance = _mean((y - mean_label) ** 2, w)
    return {
        "count": int(y.size),
        "rmse": math.sqrt(mse),
        "mae": _mean(np.abs(y - p), w),
        "r2": 1.0 - mse / variance if variance > 0.0 else math.nan,
        "mean_prediction": _mean(p, w),
        "mean_label": mean_label,
    }


class MetricAccumulator:
    """Collects predictions batch by batch and evaluates them all at the end.

    Exact AUC needs every prediction, so the rows are kept: 1 byte per 0/1 label (8 for
    soft labels), 8 bytes per prediction and, once any batch carries weights, 8 bytes per
    weight -- about 17 bytes a row with weights, 9 without (170 MB for 10M weighted rows).
    ``result()`` concatenates the batches, briefly doubling that.

    >>> acc = MetricAccumulator()
    >>> acc.add([0, 1], [0.2, 0.7]); acc.add([1, 0], [0.6, 0.3])
    >>> acc.result()["auc"]
    1.0
    """

    def __init__(self) -> None:
        self._y: list[np.ndarray] = []
        self._p: list[np.ndarray] = []
        self._w: list[np.ndarray | None] = []
        self.count = 0

    def add(self, y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None) -> None:
        """Append one batch (validated now, so a bad batch fails where it comes from)."""
        y, p, w = _prepare(y, p, w)
        binary = np.all((y == 0.0) | (y == 1.0))
        self._y.append(y.astype(np.uint8) if binary else y)
        self._p.append(p)
        self._w.append(w)
        self.count += y.size

    def result(self) -> dict:
        """``evaluate`` over every row added so far."""
        if not self._y:
            raise ValueError("no rows to evaluate")
        y = np.concatenate(self._y)
        p = np.concatenate(self._p)
        w = None
        if any(w is not None for w in self._w):
            w = np.concatenate(
                [
                    np.ones(b.size) if wb is None else wb
                    for b, wb in zip(self._y, self._w, strict=True)
                ]
            )
        return evaluate(y, p, w)
