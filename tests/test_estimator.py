"""``FtrlClassifier``: scikit-learn conventions, the CLI's ``Model``, and real Keras."""

import copy

import numpy as np
import pytest
import scipy.sparse as sp
from kerasref import keras_fit

from ftrl_cli.estimator import FtrlClassifier
from ftrl_cli.model import Model
from ftrl_cli.optimizer import optimizer_config

ATOL = 1e-9
N_FEATURES = 5  # not a power of two on purpose

CASES = {
    "plain": {"learning_rate": 0.2},
    "batches_epochs": {"learning_rate": 0.2, "batch_size": 4, "epochs": 3},
    "ftrl_args": {"learning_rate": 0.3, "l1_regularization_strength": 0.01,
                  "l2_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.01,
                  "beta": 0.5, "learning_rate_power": -0.4},
    "ema_overwrite": {"learning_rate": 0.2, "use_ema": True, "ema_momentum": 0.8,
                      "ema_overwrite_frequency": 3, "batch_size": 2},
    "accumulation_clip": {"learning_rate": 0.2, "gradient_accumulation_steps": 3,
                          "global_clipnorm": 0.2, "weight_decay": 0.1},
    "schedule": {"learning_rate": {"class_name": "ExponentialDecay", "config": {
        "initial_learning_rate": 0.3, "decay_steps": 5, "decay_rate": 0.5}}},
    "no_intercept": {"learning_rate": 0.2, "fit_intercept": False, "batch_size": 3},
}
OWN = ("batch_size", "epochs", "fit_intercept")


def dense_data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.2, 1.5, size=(n, N_FEATURES)) * rng.choice([-1.0, 1.0],
                                                                   size=(n, N_FEATURES))
    y = (rng.random(n) < 0.4).astype(float)
    return X, y


def sparse_data(n=60, seed=1):
    rng = np.random.default_rng(seed)
    X = sp.random(n, 12, density=0.25, format="csr", random_state=seed,
                  data_rvs=lambda k: rng.uniform(-1.5, 1.5, size=k))
    y = (rng.random(n) < 0.5).astype(int)
    return X, y


def optimizer_kwargs(params):
    return {k: v for k, v in params.items() if k not in OWN}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fit_matches_keras(keras, case):
    params = CASES[case]
    X, y = dense_data()
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=len(y))
    clf = FtrlClassifier(**copy.deepcopy(params)).fit(X, y, sample_weight=w)
    kernel, bias = keras_fit(keras, X, y, params.get("batch_size", 1),
                             copy.deepcopy(optimizer_kwargs(params)), weights=w,
                             epochs=params.get("epochs", 1),
                             use_bias=params.get("fit_intercept", True))
    np.testing.assert_allclose(clf.coef_[0], kernel, rtol=0, atol=ATOL)
    assert abs(clf.intercept_[0] - bias) <= ATOL
    # Probabilities are the logistic of the fitted linear model.
    p = 1.0 / (1.0 + np.exp(-(X @ kernel + bias)))
    np.testing.assert_allclose(clf.predict_proba(X), np.column_stack([1 - p, p]),
                               rtol=0, atol=ATOL)
    np.testing.assert_array_equal(clf.predict(X), (p > 0.5).astype(int))


def test_custom_keras_schedule_matches_keras(keras):
    class Harmonic(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.4 / (1.0 + keras.ops.cast(step, "float64"))

        def get_config(self):
            return {}

    X, y = dense_data()
    clf = FtrlClassifier(learning_rate=Harmonic(), batch_size=3, weight_decay=0.1).fit(X, y)
    kernel, bias = keras_fit(keras, X, y, 3, {"learning_rate": Harmonic(), "weight_decay": 0.1})
    np.testing.assert_allclose(clf.coef_[0], kernel, rtol=0, atol=ATOL)
    assert abs(clf.intercept_[0] - bias) <= ATOL


@pytest.mark.parametrize("case", ["plain", "ema_overwrite", "accumulation_clip"])
def test_fit_is_the_cli_model(case):
    params = CASES[case]
    X, y = sparse_data()
    clf = FtrlClassifier(**params).fit(X, y)
    model = Model(optimizer_config(**optimizer_kwargs(params)), hash_bits=4)
    model.train(X, y.astype(float), None, params.get("batch_size", 1))
    model.flush()
    kernel, bias = model.serving_weights()
    np.testing.assert_array_equal(clf.coef_[0], kernel[:12])
    assert clf.intercept_[0] == bias
    margins = X @ kernel[:12] + bias
    np.testing.assert_allclose(clf.decision_function(X), margins, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", ["plain", "ema_overwrite", "accumulation_clip", "ftrl_args"])
def test_partial_fit_twice_is_fit_on_the_concatenation(case):
    params = {**CASES[case], "batch_size": 1}
    X, y = sparse_data()
    whole = FtrlClassifier(**params).fit(X, y)
    parts = FtrlClassifier(**params)
    parts.partial_fit(X[:23], y[:23], classes=[0, 1])
    parts.partial_fit(X[23:], y[23:])
    np.testing.assert_array_equal(parts.coef_, whole.coef_)
    np.testing.assert_array_equal(parts.intercept_, whole.intercept_)
    assert parts.model_.iterations == whole.model_.iterations == len(y)


def test_fit_starts_over():
    X, y = sparse_data()
    clf = FtrlClassifier(learning_rate=0.3)
    first = clf.fit(X, y).coef_.copy()
    clf.partial_fit(X, y)
    assert not np.array_equal(clf.coef_, first)
    np.testing.assert_array_equal(clf.fit(X, y).coef_, first)


def test_dense_and_sparse_inputs_agree():
    X, y = sparse_data()
    a = FtrlClassifier(learning_rate=0.3, batch_size=2).fit(X, y)
    b = FtrlClassifier(learning_rate=0.3, batch_size=2).fit(X.toarray(), y)
    c = FtrlClassifier(learning_rate=0.3, batch_size=2).fit(X.tocoo(), y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.coef_, c.coef_)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X.toarray()), atol=1e-15)


def test_fitted_attributes_and_predictions():
    X, y = sparse_data()
    clf = FtrlClassifier(learning_rate=0.5, epochs=3).fit(X, y)
    assert clf.coef_.shape == (1, 12) and clf.intercept_.shape == (1,)
    assert clf.n_features_in_ == 12
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X).tolist()) <= {0, 1}
    assert clf.score(X, y) > 0.6


def test_params_follow_sklearn_conventions():
    clf = FtrlClassifier(learning_rate=0.2, use_ema=True, batch_size=4)
    params = clf.get_params()
    assert params["learning_rate"] == 0.2 and params["batch_size"] == 4
    assert params["ema_momentum"] == 0.99 and params["fit_intercept"] is True
    clone = FtrlClassifier(**params)
    assert clone.get_params() == params
    assert clf.set_params(epochs=2, beta=0.1) is clf
    assert clf.epochs == 2 and clf.beta == 0.1
    with pytest.raises(ValueError, match="Invalid parameter 'epoch'"):
        clf.set_params(epoch=2)
    assert repr(clf) == ("FtrlClassifier(learning_rate=0.2, beta=0.1, use_ema=True, "
                         "batch_size=4, epochs=2)")


def test_invalid_inputs():
    X, y = sparse_data()
    with pytest.raises(ValueError, match="not fitted"):
        FtrlClassifier().predict(X)
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        FtrlClassifier().fit(X, y * 2)
    with pytest.raises(ValueError, match="`l1_regularization_strength` needs to be positive"):
        FtrlClassifier(l1_regularization_strength=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="`batch_size` must be an integer >= 1"):
        FtrlClassifier(batch_size=0).fit(X, y)
    with pytest.raises(ValueError, match="`epochs` must be an integer >= 1"):
        FtrlClassifier(epochs=0).fit(X, y)
    clf = FtrlClassifier().fit(X, y)
    with pytest.raises(ValueError, match="X has 11 features"):
        clf.predict(X[:, :11])
    with pytest.raises(ValueError, match="classes must be"):
        clf.partial_fit(X, y, classes=[1, 2])
