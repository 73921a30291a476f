"""Exact evaluation from per-task sums: what each task returns about its records, and the
merge that gives the single-process report.

Logloss, calibration and the means are ratios of weighted sums, so summing each task's sums
gives them up to the last bits of rounding.  AUC needs the order of every score: each task
returns its distinct scores with the positive and negative weight at each
(``metrics.score_groups``); merged, they are the groups of all the records, and the AUC is
the exact one (no bins).  A squared-loss model's R² merges the per-task variances around
each task's mean (Chan's parallel formula).
"""

from __future__ import annotations

import math

import numpy as np

from ftrl_cli.metrics import EPS, _entropy, auc_from_groups, score_groups


def logistic_sums(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict:
    """One task's sums for the classification metrics.

    >>> s = logistic_sums(np.array([1.0, 0.0]), np.array([0.5, 0.5]), np.ones(2))
    >>> s["count"], round(s["loss"], 6), s["groups"][0].tolist()
    (2, 1.386294, [0.5])
    """
    q = np.clip(p, EPS, 1.0 - EPS)
    binary = bool(np.all((y == 0.0) | (y == 1.0)))
    return {"count": int(y.size), "weight": float(w.sum()),
            "label": float(np.dot(y, w)), "prediction": float(np.dot(p, w)),
            "loss": float(-np.dot(y * np.log(q) + (1.0 - y) * np.log1p(-q), w)),
            "groups": score_groups(y, p, w) if binary and y.size else None,
            "binary": binary}


def regression_sums(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict:
    """One task's sums for a squared-loss model's metrics.

    >>> s = regression_sums(np.array([1.0, 3.0]), np.array([1.0, 2.0]), np.ones(2))
    >>> s["squared"], s["spread"]
    (1.0, 2.0)
    """
    total = float(w.sum())
    mean = float(np.dot(y, w) / total) if total > 0 else 0.0
    return {"count": int(y.size), "weight": total, "label": float(np.dot(y, w)),
            "prediction": float(np.dot(p, w)), "squared": float(np.dot((y - p) ** 2, w)),
            "absolute": float(np.dot(np.abs(y - p), w)),
            "spread": float(np.dot((y - mean) ** 2, w)), "mean": mean}


def _merged_auc(parts: list[dict]) -> float:
    if not all(s["binary"] for s in parts):
        return math.nan
    groups = [s["groups"] for s in parts if s["groups"] is not None]
    scores = np.concatenate([g[0] for g in groups])
    pos = np.concatenate([g[1] for g in groups])
    neg = np.concatenate([g[2] for g in groups])
    order = np.argsort(scores, kind="stable")
    scores, pos, neg = scores[order], pos[order], neg[order]
    starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
    try:
        return auc_from_groups(np.add.reduceat(pos, starts), np.add.reduceat(neg, starts))
    except ValueError:
        return math.nan


def merge_logistic(parts: list[dict]) -> dict:
    """``metrics.evaluate``'s report from the tasks' `logistic_sums`.

    >>> from ftrl_cli.metrics import evaluate
    >>> y, p = np.array([0, 1, 1, 0.0]), np.array([0.2, 0.7, 0.6, 0.3])
    >>> merged = merge_logistic([logistic_sums(y[:2], p[:2], np.ones(2)),
    ...                          logistic_sums(y[2:], p[2:], np.ones(2))])
    >>> merged["auc"], abs(merged["logloss"] - evaluate(y, p)["logloss"]) < 1e-15
    (1.0, True)
    """
    count = sum(s["count"] for s in parts)
    weight = math.fsum(s["weight"] for s in parts)
    if count == 0 or not weight > 0.0:
        raise ValueError("no rows to evaluate" if count == 0 else "weights sum to zero")
    mean_label = math.fsum(s["label"] for s in parts) / weight
    mean_pred = math.fsum(s["prediction"] for s in parts) / weight
    loss = math.fsum(s["loss"] for s in parts) / weight
    try:
        ne = loss / _entropy(mean_label)
    except ValueError:
        ne = math.nan
    return {"count": count, "logloss": loss, "auc": _merged_auc(parts),
            "normalized_entropy": ne,
            "calibration": mean_pred / mean_label if mean_label > 0.0 else math.nan,
            "mean_prediction": mean_pred, "mean_label": mean_label}


def merge_regression(parts: list[dict]) -> dict:
    """``metrics.evaluate_regression``'s report from the tasks' `regression_sums`.

    >>> from ftrl_cli.metrics import evaluate_regression
    >>> y, p = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 3.0, 3.5])
    >>> merge_regression([regression_sums(y[:1], p[:1], np.ones(1)),
    ...                   regression_sums(y[1:], p[1:], np.ones(3))]) == evaluate_regression(y, p)
    True
    """
    parts = [s for s in parts if s["count"]]
    count = sum(s["count"] for s in parts)
    weight = math.fsum(s["weight"] for s in parts)
    if count == 0 or not weight > 0.0:
        raise ValueError("no rows to evaluate" if count == 0 else "weights sum to zero")
    mean_label = math.fsum(s["label"] for s in parts) / weight
    mse = math.fsum(s["squared"] for s in parts) / weight
    spread = math.fsum(s["spread"] + s["weight"] * (s["mean"] - mean_label) ** 2
                       for s in parts)
    variance = spread / weight
    return {"count": count, "rmse": math.sqrt(mse),
            "mae": math.fsum(s["absolute"] for s in parts) / weight,
            "r2": 1.0 - mse / variance if variance > 0.0 else math.nan,
            "mean_prediction": math.fsum(s["prediction"] for s in parts) / weight,
            "mean_label": mean_label}
