"""``--loss squared`` (Keras's ``Dense(1)`` on ``mean_squared_error``) against real Keras:
the written-out gradient against Keras's own loss, then the compiled optimizer and the CLI
with its checkpoint against keras.optimizers.Ftrl (float64) on dense regression data."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
from kerasref import keras_fit, squared_error_gradient
from test_parity_cli import libsvm_splits, read_model
from test_parity_cli import train as parity_train
from test_parity_keras import CASES, HASH_BITS, D, ftrl_config

from ftrl_cli.losses import SQUARED
from ftrl_cli.model import Model


def regression_data(n=30, seed=3):
    """Dense rows; labels of either sign and any size, not 0/1."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.2, 1.5, size=(n, D)) * rng.choice([-1.0, 1.0], size=(n, D))
    y = X @ rng.normal(0.0, 1.0, size=D) + 1.5 + rng.normal(0.0, 0.3, size=n)
    return X, y


def ours(X, y, batch_size, kwargs, weights=None, epochs=1):
    model = Model(ftrl_config(kwargs), HASH_BITS, loss=SQUARED)
    for _ in range(epochs):
        model.train(sp.csr_matrix(X), y, weights, batch_size)
        model.flush()
    return model.serving_weights()


def test_gradient_is_keras_mean_squared_error_with_sample_weights(keras):
    # Keras's loss is quadratic in the prediction, so a central difference is its exact
    # derivative (up to rounding): this checks the factor 2, the sample weights and the
    # sum_over_batch_size reduction the reference (and ftrl's step) use.
    rng = np.random.default_rng(0)
    y, p, w = rng.normal(size=5), rng.normal(size=5), rng.uniform(0.1, 3.0, size=5)
    loss = keras.losses.MeanSquaredError()
    h = 1e-3
    numeric = np.empty(5)
    for i in range(5):
        up, down = p.copy(), p.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (float(loss(y[:, None], up[:, None], sample_weight=w))
                      - float(loss(y[:, None], down[:, None], sample_weight=w))) / (2 * h)
    np.testing.assert_allclose(numeric, w * squared_error_gradient(y, p) / len(y), rtol=1e-9)


@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_keras(keras, case, batch_size):
    X, y = regression_data()
    kk, kb = keras_fit(keras, X, y, batch_size, CASES[case], loss="squared")
    w, b = ours(X, y, batch_size, CASES[case])
    np.testing.assert_allclose(w, kk, rtol=0, atol=1e-9)
    assert abs(b - kb) <= 1e-9


def test_partial_last_batch_epochs_and_importance_weights(keras):
    X, y = regression_data()
    weights = np.random.default_rng(1).uniform(0.1, 3.0, size=len(y))
    kwargs = {"learning_rate": 0.2, "use_ema": True, "gradient_accumulation_steps": 2}
    kk, kb = keras_fit(keras, X, y, 7, kwargs, weights=weights, epochs=3, loss="squared")
    w, b = ours(X, y, 7, kwargs, weights=weights, epochs=3)
    np.testing.assert_allclose(w, kk, rtol=0, atol=1e-9)
    assert abs(b - kb) <= 1e-9


def test_the_reference_is_not_trivial(keras):
    # The squared-loss reference moves the weights, and differently from the logistic one.
    X, y = regression_data()
    kk, kb = keras_fit(keras, X, y, 1, {"learning_rate": 0.2}, loss="squared")
    lk, _ = keras_fit(keras, X, (y > 1.5).astype(float), 1, {"learning_rate": 0.2})
    assert np.abs(kk).max() > 0.05 and abs(kb) > 0.01
    assert np.abs(kk - lk).max() > 0.05


# ---- through the CLI and its checkpoint ----
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    X, y = regression_data()
    return libsvm_splits(tmp_path_factory.mktemp("regression"), X, y, 16, numeric=True)


def train(tmp_path, files, batch_size, kwargs, out="m.parquet", extra=()):
    return parity_train(tmp_path, files, batch_size, kwargs, out, ("--loss", "squared", *extra))


@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_matches_keras(keras, data, tmp_path, case, batch_size):
    X, y, d = data
    kk, kb = keras_fit(keras, X, y, batch_size, CASES[case], loss="squared")
    w, b, meta = read_model(train(tmp_path, [d / "all.libsvm"], batch_size, CASES[case]))
    np.testing.assert_allclose(w, kk, rtol=0, atol=1e-9)
    assert abs(b - kb) <= 1e-9
    assert meta["model"]["loss"] == "mean_squared_error"
    assert meta["model"]["layer"] == "Dense(1)"


@pytest.mark.parametrize("batch_size", [1, 8])
def test_resume_continues_with_the_models_loss(keras, data, tmp_path, batch_size):
    # 16 records then 14: a whole number of steps for both batch sizes; the second run
    # gives no --loss and continues on squared error.
    X, y, d = data
    kwargs = {"learning_rate": 0.2, "beta": 0.5}
    half = train(tmp_path, [d / "first.libsvm"], batch_size, kwargs, "half.parquet")
    resumed = parity_train(tmp_path, [d / "second.libsvm"], batch_size, {}, "resumed.parquet",
                           ("--init-model", str(half)))
    kk, kb = keras_fit(keras, X, y, batch_size, kwargs, loss="squared")
    w, b, meta = read_model(resumed)
    np.testing.assert_allclose(w, kk, rtol=0, atol=1e-9)
    assert abs(b - kb) <= 1e-9
    assert meta["model"]["loss"] == "mean_squared_error"


def test_logistic_model_is_recorded_as_before(data, tmp_path):
    _, y, d = data
    binary = tmp_path / "b.libsvm"
    binary.write_text("".join(f"{int(v > 1.5)} " + line.split(" ", 1)[1]
                              for v, line in zip(y, (d / "all.libsvm").read_text()
                                                 .splitlines(keepends=True))))
    _, _, meta = read_model(parity_train(tmp_path, [binary], 1, {"learning_rate": 0.2}))
    assert meta["model"]["loss"] == "binary_crossentropy"
    assert meta["model"]["layer"] == "Dense(1, activation='sigmoid')"
    assert json.dumps(meta).count("mean_squared_error") == 0
