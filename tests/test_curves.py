"""The points behind the figures, checked against ``metrics`` and against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from ftrl_cli import curves
from ftrl_cli.metrics import auc


def scored(n=20_000, seed=0, ties=True, weights=True):
    rng = np.random.default_rng(seed)
    margin = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * margin))).astype(float)
    p = 1 / (1 + np.exp(-margin))
    if ties:
        p = p.round(3)  # many records share a score
    w = rng.uniform(0.5, 2.0, size=n) if weights else None
    return y, p, w


@pytest.mark.parametrize("ties, weights", [(True, True), (True, False), (False, True)])
def test_roc_area_is_the_metrics_auc(ties, weights):
    y, p, w = scored(ties=ties, weights=weights)
    c = curves.roc_curve(y, p, w)
    assert abs(c.area - auc(y, p, w)) < 1e-9
    assert len(c.x) <= curves.MAX_POINTS < len(np.unique(p))
    assert (c.x[0], c.y[0], c.x[-1], c.y[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(c.x) >= 0) and np.all(np.diff(c.y) >= 0)


def test_drawn_points_lie_on_the_full_curve():
    y, p, w = scored(n=3000)
    full = curves.roc_curve(y, p, w, max_points=10**9)
    thin = curves.roc_curve(y, p, w)
    at = np.searchsorted(-full.thresholds, -thin.thresholds)
    assert np.array_equal(full.x[at], thin.x) and np.array_equal(full.y[at], thin.y)
    assert thin.area == full.area


def test_pr_curve_is_brute_force_precision_and_recall():
    y, p, w = scored(n=400, seed=3)
    c = curves.pr_curve(y, p, w, max_points=10**9)
    ap, prev_recall = 0.0, 0.0
    for i, t in enumerate(np.unique(p)[::-1]):
        above = p >= t
        tp = np.sum(w * y * above)
        precision, recall = tp / np.sum(w * above), tp / np.sum(w * y)
        assert c.thresholds[i] == t
        assert np.isclose(c.y[i], precision) and np.isclose(c.x[i], recall)
        ap += (recall - prev_recall) * precision
        prev_recall = recall
    assert np.isclose(c.area, ap, rtol=0, atol=1e-12)


def test_one_class_has_no_curve():
    with pytest.raises(ValueError, match="one class"):
        curves.roc_curve([1, 1], [0.2, 0.3])


@pytest.mark.parametrize("bins", [1, 10, 37])
def test_reliability_bins_count_every_record(bins):
    y, p, w = scored(n=5000, seed=1)
    p[:3] = [0.0, 1.0, 0.5]  # the edges belong to a bin too
    b = curves.reliability_bins(y, p, w, bins=bins)
    assert b.count.sum() == len(y)
    for k in range(bins):
        lo, hi = b.edges[k], b.edges[k + 1]
        inside = (p >= lo) & ((p < hi) if k < bins - 1 else (p <= hi))
        assert b.count[k] == inside.sum()
        if inside.any():
            assert np.isclose(b.mean_label[k], np.average(y[inside], weights=w[inside]))
            assert np.isclose(b.mean_prediction[k], np.average(p[inside], weights=w[inside]))
        else:
            assert np.isnan(b.mean_label[k])


def test_prediction_bins_span_the_predictions():
    rng = np.random.default_rng(2)
    p = rng.normal(3.0, 2.0, size=1000)
    y = p + rng.normal(size=1000)
    b = curves.prediction_bins(y, p, bins=20)
    assert b.count.sum() == 1000 and b.edges[0] == p.min() and b.edges[-1] == p.max()
    assert np.nanmax(np.abs(b.mean_label - b.mean_prediction)) < 1.5


def test_score_histograms_split_the_records_by_label():
    y, p, _ = scored(n=2000, seed=4)
    edges, neg, pos = curves.score_histograms(y, p)
    assert len(edges) == 51
    assert neg.sum() == np.sum(y == 0) and pos.sum() == np.sum(y == 1)
