"""The points behind the evaluation figures, in plain numpy: ROC and precision-recall curves,
reliability (calibration) bins, score histograms by label and predicted-vs-actual bins.

A figure never needs every record: a curve is computed over all the distinct scores (its
area too) and then drawn through at most ``MAX_POINTS`` of them, the thresholds at evenly
spaced ranks of the distinct scores (see ``thin``); bins and histograms have a fixed number
of bins whatever the record count.  Weights are importance weights, as in
``ftrl_cli.metrics``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ftrl_cli.metrics import _prepare, _prepare_any, score_groups

MAX_POINTS = 512
"""A drawn curve has at most this many points."""


class Curve(NamedTuple):
    """A curve drawn through ``x``, ``y`` (thinned), its ``area`` (over every point) and the
    score threshold at each drawn point (a point counts the scores ``>=`` its threshold)."""

    x: np.ndarray
    y: np.ndarray
    area: float
    thresholds: np.ndarray


class Bins(NamedTuple):
    """Records binned by prediction: bin ``edges``, and per bin the record ``count`` and the
    weighted mean prediction and mean label (NaN in an empty bin)."""

    edges: np.ndarray
    count: np.ndarray
    mean_prediction: np.ndarray
    mean_label: np.ndarray


def thin(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` of ``n`` points, evenly spaced, first and last kept.

    >>> thin(10, 4).tolist(), thin(3, 4).tolist()
    ([0, 3, 6, 9], [0, 1, 2])
    """
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def _cumulative(y: ArrayLike, p: ArrayLike, w: ArrayLike | None):
    """Thresholds from the highest score down and the positive and negative weight at or
    above each; the totals must both be positive."""
    scores, pos, neg = score_groups(*_prepare(y, p, w))
    tp, fp = np.cumsum(pos[::-1]), np.cumsum(neg[::-1])
    if tp[-1] <= 0.0 or fp[-1] <= 0.0:
        raise ValueError("the curve is undefined when only one class is present")
    return scores[::-1], tp, fp


def roc_curve(y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None,
              max_points: int = MAX_POINTS) -> Curve:
    """False positive rate (``x``) against true positive rate (``y``) from (0, 0) to (1, 1);
    ``area`` is the trapezoidal area under every point, which is ``metrics.auc`` (ties
    count half on both).

    >>> c = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> c.x.tolist(), c.y.tolist(), c.area
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0], 0.75)
    """
    scores, tp, fp = _cumulative(y, p, w)
    tpr, fpr = np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)
    keep = thin(len(tpr), max_points)
    return Curve(fpr[keep], tpr[keep], area, np.r_[np.inf, scores][keep])


def pr_curve(y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None,
             max_points: int = MAX_POINTS) -> Curve:
    """Recall (``x``) against precision (``y``), from the highest threshold down;
    ``area`` is the average precision, ``sum((recall_k - recall_k-1) * precision_k)`` over
    every threshold.

    >>> c = pr_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> c.x.tolist(), c.y.round(3).tolist(), round(c.area, 4)
    ([0.5, 0.5, 1.0, 1.0], [1.0, 0.5, 0.667, 0.5], 0.8333)
    """
    scores, tp, fp = _cumulative(y, p, w)
    recall, precision = tp / tp[-1], tp / (tp + fp)
    area = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    keep = thin(len(recall), max_points)
    return Curve(recall[keep], precision[keep], area, scores[keep])


def binned_means(pred: np.ndarray, actual: np.ndarray, w: np.ndarray | None,
                 edges: np.ndarray) -> Bins:
    """Bin records by ``pred`` on ``edges`` (the last bin includes its right edge; values
    outside go to the end bins) with their count and weighted means.

    >>> b = binned_means(np.array([0.1, 0.2, 0.9]), np.array([0.0, 1.0, 1.0]), None,
    ...                  np.array([0.0, 0.5, 1.0]))
    >>> b.count.tolist(), b.mean_prediction.round(2).tolist(), b.mean_label.tolist()
    ([2, 1], [0.15, 0.9], [0.5, 1.0])
    """
    k = len(edges) - 1
    at = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, k - 1)
    w = np.ones_like(pred) if w is None else w
    weight = np.bincount(at, weights=w, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.bincount(at, weights=pred * w, minlength=k) / weight
        mean_actual = np.bincount(at, weights=actual * w, minlength=k) / weight
    empty = weight <= 0.0
    mean_pred[empty] = mean_actual[empty] = np.nan
    return Bins(edges, np.bincount(at, minlength=k), mean_pred, mean_actual)


def reliability_bins(y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None,
                     bins: int = 10) -> Bins:
    """Equal-width bins of the predicted probability on [0, 1]: a calibrated model's mean
    label equals its mean prediction in every bin.

    >>> b = reliability_bins([0, 1, 1, 0], [0.05, 0.15, 0.95, 0.99], bins=2)
    >>> b.count.tolist(), b.mean_label.tolist()
    ([2, 2], [0.5, 0.5])
    """
    y, p, w = _prepare(y, p, w)
    return binned_means(p, y, w, np.linspace(0.0, 1.0, bins + 1))


def prediction_bins(y: ArrayLike, p: ArrayLike, w: ArrayLike | None = None,
                    bins: int = 20) -> Bins:
    """A regression model's records in equal-width bins of its prediction over their
    range: the mean actual value against the mean prediction of each bin.

    >>> prediction_bins([1.0, 2.0, 3.0, 5.0], [1.0, 2.0, 3.0, 4.0], bins=3).count.tolist()
    [1, 1, 2]
    """
    y, p, w = _prepare_any(y, p, w)
    lo, hi = float(p.min()), float(p.max())
    return binned_means(p, y, w, np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1))


def score_histograms(y: ArrayLike, p: ArrayLike, bins: int = 50
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin edges on [0, 1] and the record counts of the negatives and of the positives per
    bin (a soft label counts as positive from 0.5 up).

    >>> edges, neg, pos = score_histograms([0, 1, 1], [0.1, 0.7, 0.8], bins=2)
    >>> neg.tolist(), pos.tolist()
    ([1, 0], [0, 2])
    """
    y, p, _ = _prepare(y, p, None)
    edges = np.linspace(0.0, 1.0, bins + 1)
    positive = y >= 0.5
    return (edges, np.histogram(p[~positive], edges)[0], np.histogram(p[positive], edges)[0])
