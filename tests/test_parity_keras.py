"""The compiled optimizer against real keras.optimizers.Ftrl (float64), on dense data.

Every feature is present and non-zero in every record, so the lazy update (only active
coordinates) and Keras's dense update must coincide.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from kerasref import keras_fit

from ftrl_cli.config import OptimizerConfig
from ftrl_cli.model import Model
from ftrl_cli.schedules import parse_schedule

HASH_BITS = 3
D = 1 << HASH_BITS

SCHEDULES = {
    "exponential": {"class_name": "ExponentialDecay", "config": {
        "initial_learning_rate": 0.3, "decay_steps": 7, "decay_rate": 0.5, "staircase": True}},
    "inverse_time": {"class_name": "InverseTimeDecay", "config": {
        "initial_learning_rate": 0.3, "decay_steps": 3, "decay_rate": 0.5}},
    "piecewise": {"class_name": "PiecewiseConstantDecay", "config": {
        "boundaries": [5, 10], "values": [0.3, 0.1, 0.05]}},
    "polynomial": {"class_name": "PolynomialDecay", "config": {
        "initial_learning_rate": 0.3, "decay_steps": 7, "cycle": True, "power": 2.0}},
    "cosine_warmup": {"class_name": "CosineDecay", "config": {
        "initial_learning_rate": 0.1, "decay_steps": 20, "warmup_target": 0.3,
        "warmup_steps": 5, "alpha": 0.1}},
    "cosine": {"class_name": "CosineDecay", "config": {
        "initial_learning_rate": 0.2, "decay_steps": 9, "alpha": 0.2}},
    "cosine_restarts": {"class_name": "CosineDecayRestarts", "config": {
        "initial_learning_rate": 0.2, "first_decay_steps": 4}},
    "cosine_restarts_tmul1": {"class_name": "CosineDecayRestarts", "config": {
        "initial_learning_rate": 0.2, "first_decay_steps": 3, "t_mul": 1.0, "m_mul": 0.7,
        "alpha": 0.05}},
}

CASES = {
    "defaults": {},
    "lr": {"learning_rate": 0.2},
    "power": {"learning_rate": 0.2, "learning_rate_power": -0.3},
    "power_zero": {"learning_rate": 0.05, "learning_rate_power": 0.0},
    "accumulator": {"learning_rate": 0.2, "initial_accumulator_value": 0.7},
    "l1": {"learning_rate": 0.2, "l1_regularization_strength": 0.02},
    "l2": {"learning_rate": 0.2, "l2_regularization_strength": 0.1},
    "shrinkage": {"learning_rate": 0.2, "l2_shrinkage_regularization_strength": 0.05},
    "beta": {"learning_rate": 0.2, "beta": 0.7},
    "weight_decay": {"learning_rate": 0.2, "weight_decay": 0.3},
    "clipnorm": {"learning_rate": 0.2, "clipnorm": 0.3},
    "clipvalue": {"learning_rate": 0.2, "clipvalue": 0.05},
    "global_clipnorm": {"learning_rate": 0.2, "global_clipnorm": 0.3},
    "ema": {"learning_rate": 0.2, "use_ema": True, "ema_momentum": 0.9},
    "ema_overwrite": {"learning_rate": 0.2, "use_ema": True, "ema_momentum": 0.8,
                      "ema_overwrite_frequency": 3},
    "loss_scale": {"learning_rate": 0.2, "loss_scale_factor": 64.0},
    "accumulation": {"learning_rate": 0.2, "gradient_accumulation_steps": 3},
    "name": {"learning_rate": 0.2, "name": "ctr_optimizer"},
    "all_ftrl": {"learning_rate": 0.3, "learning_rate_power": -0.4,
                 "initial_accumulator_value": 0.2, "l1_regularization_strength": 0.01,
                 "l2_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.03,
                 "beta": 0.5},
    "accumulation_ema_overwrite": {"learning_rate": 0.2, "gradient_accumulation_steps": 2,
                                   "use_ema": True, "ema_momentum": 0.7,
                                   "ema_overwrite_frequency": 2},
    "everything": {"learning_rate": SCHEDULES["cosine_warmup"], "learning_rate_power": -0.6,
                   "l1_regularization_strength": 0.005, "l2_regularization_strength": 0.01,
                   "l2_shrinkage_regularization_strength": 0.01, "beta": 0.2,
                   "weight_decay": 0.05, "global_clipnorm": 0.5, "use_ema": True,
                   "ema_momentum": 0.95, "loss_scale_factor": 8.0,
                   "gradient_accumulation_steps": 2},
    **{f"schedule_{k}": {"learning_rate": v} for k, v in SCHEDULES.items()},
}


def dense_data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.2, 1.5, size=(n, D)) * rng.choice([-1.0, 1.0], size=(n, D))
    y = (rng.random(n) < 0.4).astype(float)
    return X, y


def ftrl_config(kwargs):
    kw = dict(kwargs)
    if isinstance(kw.get("learning_rate"), dict):
        kw["learning_rate"] = parse_schedule(kw["learning_rate"])
    return OptimizerConfig(**kw)


def ours(X, y, batch_size, kwargs, weights=None, epochs=1):
    model = Model(ftrl_config(kwargs), HASH_BITS)
    for _ in range(epochs):
        model.train(sp.csr_matrix(X), y, weights, batch_size)
        model.flush()
    return model.serving_weights()


@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_keras(keras, case, batch_size):
    X, y = dense_data()
    kk, kb = keras_fit(keras, X, y, batch_size, CASES[case])
    w, b = ours(X, y, batch_size, CASES[case])
    np.testing.assert_allclose(w, kk, rtol=0, atol=1e-9)
    assert abs(b - kb) <= 1e-9


def test_partial_last_batch_and_epochs(keras):
    # 30 records in steps of 7: each epoch ends with a short step of 2, as Keras's fit does.
    X, y = dense_data()
    kwargs = {"learning_rate": 0.2, "use_ema": True, "gradient_accumulation_steps": 2}
    kk, kb = keras_fit(keras, X, y, 7, kwargs, epochs=3)
    w, b = ours(X, y, 7, kwargs, epochs=3)
    np.testing.assert_allclose(w, kk, rtol=0, atol=1e-9)
    assert abs(b - kb) <= 1e-9


def test_importance_weights_are_sample_weights(keras):
    X, y = dense_data()
    weights = np.random.default_rng(1).uniform(0.1, 3.0, size=len(y))
    kk, kb = keras_fit(keras, X, y, 3, {"learning_rate": 0.2}, weights=weights)
    w, b = ours(X, y, 3, {"learning_rate": 0.2}, weights=weights)
    np.testing.assert_allclose(w, kk, rtol=0, atol=1e-9)
    assert abs(b - kb) <= 1e-9


def test_the_reference_is_not_trivial(keras):
    # Guard against a vacuous comparison: training must move the weights.
    X, y = dense_data()
    kk, kb = keras_fit(keras, X, y, 1, {"learning_rate": 0.2})
    assert np.abs(kk).max() > 0.05 and abs(kb) > 0.01
