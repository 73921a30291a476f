import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftrl_cli import metrics


def pairwise_auc(y, p, w):
    """O(n^2) definition: weighted share of (positive, negative) pairs ranked right."""
    num = den = 0.0
    for i in range(len(y)):
        for j in range(len(y)):
            if y[i] == 1 and y[j] == 0:
                pair = w[i] * w[j]
                den += pair
                if p[i] > p[j]:
                    num += pair
                elif p[i] == p[j]:
                    num += 0.5 * pair
    return num / den


def direct_logloss(y, p, w):
    terms = [
        wi * -(math.log(pi) if yi == 1 else math.log(1 - pi))
        for yi, pi, wi in zip(y, p, w, strict=True)
    ]
    return sum(terms) / sum(w)


@pytest.mark.parametrize("seed", range(8))
def test_auc_matches_pairwise_count_with_ties_and_weights(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    p = rng.integers(0, 6, n) / 5.0  # few distinct values: many ties
    w = rng.uniform(0.0, 3.0, n)
    w[rng.random(n) < 0.1] = 0.0
    w[:2] = 1.0
    assert metrics.auc(y, p, w) == pytest.approx(pairwise_auc(y, p, w), abs=1e-12)
    assert metrics.auc(y, p) == pytest.approx(pairwise_auc(y, p, np.ones(n)), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), st.integers(1, 4)),
        min_size=2,
        max_size=30,
    )
)
def test_auc_property_matches_pairwise(rows):
    y, p, w = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    if y.min() == y.max():
        with pytest.raises(ValueError, match="one class"):
            metrics.auc(y, p, w)
        return
    assert metrics.auc(y, p, w) == pytest.approx(pairwise_auc(y, p, w), abs=1e-12)


def test_auc_integer_weights_equal_repeated_rows():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    p = rng.random(200).round(2)
    w = rng.integers(1, 4, 200)
    assert metrics.auc(y, p, w) == pytest.approx(metrics.auc(np.repeat(y, w), np.repeat(p, w)))


def test_auc_extremes():
    y = np.array([0, 0, 0, 1, 1])
    assert metrics.auc(y, [0.1, 0.2, 0.3, 0.4, 0.5]) == 1.0
    assert metrics.auc(y, [0.9, 0.8, 0.7, 0.2, 0.1]) == 0.0
    assert metrics.auc(y, np.full(5, 0.3)) == 0.5


def test_auc_single_class_is_an_error():
    with pytest.raises(ValueError, match="one class"):
        metrics.auc([1, 1, 1], [0.2, 0.4, 0.6])
    with pytest.raises(ValueError, match="one class"):
        metrics.auc([1, 0], [0.2, 0.4], [1.0, 0.0])


def test_logloss_matches_direct_formula():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 50)
    p = rng.uniform(0.01, 0.99, 50)
    w = rng.uniform(0.1, 2.0, 50)
    assert metrics.logloss(y, p, w) == pytest.approx(direct_logloss(y, p, w), rel=1e-12)
    assert metrics.logloss(y, p) == pytest.approx(direct_logloss(y, p, [1.0] * 50), rel=1e-12)


def test_logloss_clips_certain_mistakes():
    loss = metrics.logloss([1, 0], [0.0, 1.0])
    assert math.isfinite(loss)
    # 1 - 1e-15 is not exact in float64, so the two clipped terms differ in the 5th digit
    assert loss == pytest.approx(-math.log(1e-15), rel=1e-4)
    assert metrics.logloss([1, 0], [1.0, 0.0]) == pytest.approx(0.0, abs=1e-12)


def test_normalized_entropy_of_base_rate_predictor_is_one():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    w = rng.uniform(0.5, 2.0, 300)
    assert metrics.normalized_entropy(y, np.full(300, y.mean())) == pytest.approx(1.0)
    rate = np.dot(y, w) / w.sum()
    assert metrics.normalized_entropy(y, np.full(300, rate), w) == pytest.approx(1.0)


def test_normalized_entropy_below_one_for_informative_predictions():
    y = np.array([0, 0, 0, 1])
    assert metrics.normalized_entropy(y, [0.1, 0.1, 0.1, 0.7]) < 1.0
    with pytest.raises(ValueError, match="base rate"):
        metrics.normalized_entropy([0, 0], [0.1, 0.2])


def test_calibration_is_ratio_of_means():
    assert metrics.calibration([1, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]) == pytest.approx(1.0)
    assert metrics.calibration([1, 0], [0.3, 0.1], [1.0, 3.0]) == pytest.approx(0.6 / 1.0)
    with pytest.raises(ValueError, match="no positive"):
        metrics.calibration([0, 0], [0.1, 0.2])


def test_evaluate_reports_every_metric_consistently():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 100)
    p = rng.random(100)
    w = rng.uniform(0.5, 1.5, 100)
    r = metrics.evaluate(y, p, w)
    assert set(r) == {
        "count",
        "logloss",
        "auc",
        "normalized_entropy",
        "calibration",
        "mean_prediction",
        "mean_label",
    }
    assert r["count"] == 100
    assert r["logloss"] == pytest.approx(metrics.logloss(y, p, w))
    assert r["auc"] == pytest.approx(metrics.auc(y, p, w))
    assert r["normalized_entropy"] == pytest.approx(metrics.normalized_entropy(y, p, w))
    assert r["calibration"] == pytest.approx(metrics.calibration(y, p, w))
    assert r["mean_label"] == pytest.approx(np.dot(y, w) / w.sum())
    assert r["mean_prediction"] == pytest.approx(np.dot(p, w) / w.sum())


def test_evaluate_single_class_gives_nan_for_undefined_metrics():
    r = metrics.evaluate([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(r["auc"])
    assert math.isnan(r["normalized_entropy"])
    assert math.isnan(r["calibration"])
    assert r["logloss"] == pytest.approx(direct_logloss([0, 0, 0], [0.1, 0.2, 0.3], [1, 1, 1]))


@pytest.mark.parametrize(
    "y, p, w, match",
    [
        ([0, 1], [0.5], None, "length"),
        ([], [], None, "no rows"),
        ([0, 2], [0.5, 0.5], None, "labels"),
        ([0, 1], [0.5, 1.5], None, "probabilities"),
        ([0, 1], [0.5, float("nan")], None, "probabilities"),
        ([0, 1], [0.5, 0.5], [1.0, -1.0], "non-negative"),
        ([0, 1], [0.5, 0.5], [0.0, 0.0], "zero"),
    ],
)
def test_bad_input_is_rejected(y, p, w, match):
    with pytest.raises(ValueError, match=match):
        metrics.logloss(y, p, w)


def test_accumulator_equals_one_shot_evaluation():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 1000)
    p = rng.random(1000)
    w = rng.uniform(0.0, 2.0, 1000)
    acc = metrics.MetricAccumulator()
    for lo in range(0, 1000, 137):
        acc.add(y[lo : lo + 137], p[lo : lo + 137], w[lo : lo + 137])
    assert acc.count == 1000
    assert acc.result() == pytest.approx(metrics.evaluate(y, p, w))


def test_accumulator_mixes_weighted_and_unweighted_batches():
    acc = metrics.MetricAccumulator()
    acc.add([0, 1], [0.2, 0.9])
    acc.add([1, 0], [0.4, 0.6], [2.0, 0.5])
    expected = metrics.evaluate([0, 1, 1, 0], [0.2, 0.9, 0.4, 0.6], [1.0, 1.0, 2.0, 0.5])
    assert acc.result() == pytest.approx(expected)
    with pytest.raises(ValueError, match="no rows"):
        metrics.MetricAccumulator().result()
