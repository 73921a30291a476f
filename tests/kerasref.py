"""Real Keras as the reference: a Dense(1) model trained with keras.optimizers.Ftrl.

Keras's NumPy backend has no autodiff, so the gradient of the batch mean is written out: the
textbook one of the logistic loss through the sigmoid (``loss="logistic"``), or of Keras's
mean squared error on ``Dense(1)`` (``loss="squared"``: ``2 (p - y)`` per record, checked
against Keras's own loss in tests/test_parity_squared.py); every optimizer computation is
Keras's own.
"""

from __future__ import annotations

import numpy as np


def keras_fit(keras, X, y, batch_size, optimizer_kwargs, weights=None, epochs=1,
              kernel0=None, bias0=0.0, use_bias=True, finalize=True, loss="logistic"):
    """Train like ``model.fit(X, y, batch_size, shuffle=False)``; return (kernel, bias)."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    kernel = keras.Variable(np.zeros(d) if kernel0 is None else np.array(kernel0, dtype=float),
                            dtype="float64", name="kernel")
    bias = keras.Variable(np.array([bias0], dtype=float), dtype="float64", name="bias")
    kwargs = dict(optimizer_kwargs)
    if isinstance(kwargs.get("learning_rate"), dict):
        kwargs["learning_rate"] = keras.optimizers.schedules.deserialize(kwargs["learning_rate"])
    opt = keras.optimizers.Ftrl(**kwargs)
    variables = [kernel, bias] if use_bias else [kernel]
    for _ in range(epochs):
        keras_epoch(opt, variables, X, y, batch_size, weights, loss)
    if finalize:
        opt.finalize_variable_values(variables)
    return kernel.numpy().copy(), float(bias.numpy()[0]) if use_bias else 0.0


def keras_epoch(opt, variables, X, y, batch_size, weights=None, loss="logistic"):
    """One epoch of ``fit(X, y, batch_size, shuffle=False)`` on ``variables`` (a kernel of
    shape ``(d,)`` or ``(d, 1)``, then the bias if any) with the Keras optimizer ``opt``."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    kernel = variables[0]
    scale = opt.loss_scale_factor or 1.0
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    for start in range(0, n, batch_size):
        xb, yb, wb = X[start:start + batch_size], y[start:start + batch_size], \
            w[start:start + batch_size]
        margin = xb @ kernel.numpy().ravel() + (
            variables[1].numpy().ravel()[0] if len(variables) > 1 else 0.0)
        if loss == "squared":
            d_margin = wb * squared_error_gradient(yb, margin) / len(yb) * scale
        else:
            p = 1.0 / (1.0 + np.exp(-margin))
            d_margin = wb * (p - yb) / len(yb) * scale
        grads = [(xb.T @ d_margin).reshape(kernel.shape),
                 np.array([d_margin.sum()])][: len(variables)]
        opt.apply(grads, variables)


def squared_error_gradient(y, p):
    """d/dp of Keras's ``mean_squared_error`` of one output, ``(y - p) ** 2``, per record."""
    return 2.0 * (p - y)
