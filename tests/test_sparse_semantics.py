"""Lazy (sparse) FTRL semantics, checked against a plain NumPy reference written from this text.

On sparse data the CLI (``ftrl_cli.model.Model``) and ``Ftrl.apply_sparse`` make each optimizer
step *lazy*:

* The **active set** of a step is the coordinates that appear in any record of the step (for
  ``apply_sparse``: the coordinates given a gradient), plus the bias.  Only active coordinates
  are updated.
* An **inactive** coordinate keeps its weight, linear and accumulator unchanged: no
  ``l2_shrinkage_regularization_strength`` shrinkage, no ``weight_decay``, no recomputation of
  the weight when a learning-rate schedule moves.  (Keras's dense update would touch them with a
  zero gradient; on active coordinates the two are identical.)
* **Clipping** norms (``clipnorm`` per variable, kernel and bias separately;
  ``global_clipnorm`` over both) are computed over the active gradients, which equals Keras's
  norms since inactive gradients are zero.  ``clipvalue`` clips each active gradient.
* With **gradient accumulation** (``gradient_accumulation_steps=s``) the accumulator sums each
  coordinate's gradients over the micro-steps of a window; at the update micro-step every
  coordinate active in any micro-step of the window is updated with ``sum / s``.
* The **moving average** (``use_ema``) of an inactive coordinate is advanced lazily in closed
  form: over ``k`` idle iterations ``avg = m**k * avg + (1 - m**k) * w`` (with Keras's
  first-step rule: momentum 0 while ``iterations`` is 0), and an overwrite iteration
  (``ema_overwrite_frequency``) sets ``w = avg``.  This equals what per-iteration updates of a
  constant weight give, which is what Keras does for every coordinate at every iteration
  (accumulation micro-steps included).

The reference below is a per-step NumPy loop over *all* coordinates that implements exactly
that, updating every moving average at every iteration as Keras does.  Learning-rate schedules
are evaluated by Keras itself.
"""

import copy
import inspect

import numpy as np
import pytest
import scipy.sparse as sp
from kerasref import keras_fit

from ftrl_cli.kernels import layout as L
from ftrl_cli.model import Model
from ftrl_cli.optimizer import Ftrl, optimizer_config

ATOL = 1e-9
HASH_BITS = 5
D = 1 << HASH_BITS

SCHEDULE = {"class_name": "InverseTimeDecay", "config": {
    "initial_learning_rate": 0.4, "decay_steps": 5, "decay_rate": 0.3}}
COSINE = {"class_name": "CosineDecay", "config": {
    "initial_learning_rate": 0.1, "decay_steps": 60, "warmup_target": 0.4, "warmup_steps": 10,
    "alpha": 0.1}}

CASES = {
    "plain": {"learning_rate": 0.2},
    "ftrl_args": {"learning_rate": 0.3, "learning_rate_power": -0.4,
                  "initial_accumulator_value": 0.2, "l1_regularization_strength": 0.01,
                  "l2_regularization_strength": 0.05, "l2_shrinkage_regularization_strength": 0.1,
                  "beta": 0.5},
    "weight_decay_schedule": {"learning_rate": SCHEDULE, "weight_decay": 0.3,
                              "l2_shrinkage_regularization_strength": 0.05},
    "clipnorm": {"learning_rate": 0.3, "clipnorm": 0.05},
    "global_clipnorm": {"learning_rate": 0.3, "global_clipnorm": 0.1},
    "clipvalue": {"learning_rate": 0.3, "clipvalue": 0.02},
    "ema": {"learning_rate": 0.3, "use_ema": True, "ema_momentum": 0.9},
    "ema_overwrite": {"learning_rate": 0.3, "use_ema": True, "ema_momentum": 0.8,
                      "ema_overwrite_frequency": 4},
    "accumulation": {"learning_rate": 0.3, "gradient_accumulation_steps": 3},
    "accumulation_ema_overwrite": {"learning_rate": 0.3, "gradient_accumulation_steps": 2,
                                   "use_ema": True, "ema_momentum": 0.7,
                                   "ema_overwrite_frequency": 3, "clipnorm": 0.1},
    "loss_scale": {"learning_rate": 0.3, "loss_scale_factor": 32.0},
    "everything": {"learning_rate": COSINE, "learning_rate_power": -0.6,
                   "l1_regularization_strength": 0.005, "l2_regularization_strength": 0.01,
                   "l2_shrinkage_regularization_strength": 0.02, "beta": 0.2,
                   "weight_decay": 0.1, "global_clipnorm": 0.2, "use_ema": True,
                   "ema_momentum": 0.95, "ema_overwrite_frequency": 5, "loss_scale_factor": 8.0,
                   "gradient_accumulation_steps": 2},
}


class Reference:
    """The lazy semantics of the module docstring, one NumPy pass over all coordinates a step."""

    def __init__(self, keras, kwargs, starts):
        # Keras's own defaults for whatever the case leaves out.
        params = inspect.signature(keras.optimizers.Ftrl).parameters
        cfg = {name: p.default for name, p in params.items() if name != "kwargs"}
        cfg.update(copy.deepcopy(kwargs))
        self.k = cfg
        lr = cfg["learning_rate"]
        if isinstance(lr, dict):
            sched = keras.optimizers.schedules.deserialize(copy.deepcopy(lr))
            self.lr = lambda t: float(sched(t))
        else:
            self.lr = lambda t: float(lr)
        self.steps = cfg["gradient_accumulation_steps"] or 1
        self.w = [np.array(s, dtype=np.float64).reshape(-1) for s in starts]
        self.z = [np.zeros_like(w) for w in self.w]
        self.n = [np.full_like(w, cfg["initial_accumulator_value"]) for w in self.w]
        self.avg = [np.zeros_like(w) for w in self.w]
        self.acc = [np.zeros_like(w) for w in self.w]
        self.window = [np.zeros(w.shape, dtype=bool) for w in self.w]
        self.t = 0

    def step(self, grads, active):
        """``grads``: full gradient vectors as Keras's ``apply`` receives them (zero where
        inactive); ``active``: boolean masks."""
        k, t = self.k, self.t
        g = [np.array(x, dtype=np.float64) for x in grads]
        if k["loss_scale_factor"] is not None:
            g = [x / k["loss_scale_factor"] for x in g]
        act = [a.copy() for a in active]
        if self.steps > 1:
            for i in range(len(g)):
                self.acc[i] = self.acc[i] + g[i]
                self.window[i] |= act[i]
            if (t + 1) % self.steps != 0:
                self._ema(t)
                self.t += 1
                return
            g = [a / self.steps for a in self.acc]
            act = self.window
            self.acc = [np.zeros_like(a) for a in self.acc]
            self.window = [np.zeros_like(a) for a in act]
        self._clip(g, act)
        lr = self.lr(t)
        power, l1 = k["learning_rate_power"], k["l1_regularization_strength"]
        l2 = k["l2_regularization_strength"] + k["beta"] / (2.0 * lr)
        shrink = k["l2_shrinkage_regularization_strength"]
        for i in range(len(g)):
            a = act[i]
            w, gi, n_old = self.w[i][a], g[i][a], self.n[i][a]
            if k["weight_decay"] is not None:
                w = w - w * k["weight_decay"] * lr
            n_new = n_old + gi * gi
            sigma = (np.power(n_new, -power) - np.power(n_old, -power)) / lr
            z = self.z[i][a] + ((gi + 2.0 * shrink * w) - sigma * w)
            self.w[i][a] = (np.clip(z, -l1, l1) - z) / (np.power(n_new, -power) / lr + 2.0 * l2)
            self.z[i][a] = z
            self.n[i][a] = n_new
        self._ema(t)
        self.t += 1

    def _clip(self, g, act):
        k = self.k
        if k["clipnorm"]:
            for i in range(len(g)):
                norm = np.sqrt(np.sum(g[i][act[i]] ** 2))
                g[i] = g[i] * k["clipnorm"] / max(norm, k["clipnorm"])
        elif k["global_clipnorm"]:
            norm = np.sqrt(sum(np.sum(x[a] ** 2) for x, a in zip(g, act, strict=True)))
            c = k["global_clipnorm"]
            for i in range(len(g)):
                g[i] = g[i] * (c * min(1.0 / norm, 1.0 / c))
        elif k["clipvalue"]:
            for i in range(len(g)):
                g[i] = np.clip(g[i], -k["clipvalue"], k["clipvalue"])

    def _ema(self, t):
        # Every coordinate, every iteration: Keras's own schedule of moving-average updates.
        k = self.k
        if not k["use_ema"]:
            return
        it = t // self.steps
        m = k["ema_momentum"] if it != 0 else 0.0
        freq = k["ema_overwrite_frequency"]
        for i in range(len(self.w)):
            self.avg[i] = m * self.avg[i] + (1.0 - m) * self.w[i]
            if freq and (it + 1) % freq == 0:
                self.w[i] = self.avg[i].copy()

    def serving(self):
        return self.avg if self.k["use_ema"] else self.w


# ---- the CLI's model on sparse records ----
def sparse_data(n=200, nnz=3, seed=0):
    rng = np.random.default_rng(seed)
    cols = np.stack([rng.choice(D, size=nnz, replace=False) for _ in range(n)])
    vals = rng.uniform(0.3, 1.5, size=(n, nnz)) * rng.choice([-1.0, 1.0], size=(n, nnz))
    X = sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, n * nnz + 1, nnz)),
                      shape=(n, D))
    y = (rng.random(n) < 0.4).astype(float)
    weights = rng.uniform(0.5, 2.0, size=n)
    return X, y, weights


def reference_train(keras, kwargs, X, y, weights, batch_size, use_bias=True):
    ref = Reference(keras, kwargs, [np.zeros(D), np.zeros(1)][: 1 + use_bias])
    scale = ref.k["loss_scale_factor"] or 1.0
    preds = []
    for start in range(0, X.shape[0], batch_size):
        xb = X[start:start + batch_size]
        dense = xb.toarray()
        margin = dense @ ref.w[0] + (ref.w[1][0] if use_bias else 0.0)
        p = 1.0 / (1.0 + np.exp(-margin))
        preds.extend(p)
        d = weights[start:start + batch_size] * (p - y[start:start + batch_size]) / len(p)
        active = np.zeros(D, dtype=bool)
        active[xb.indices] = True
        grads = [dense.T @ d * scale, np.array([d.sum()]) * scale]
        ref.step(grads[: 1 + use_bias], [active, np.ones(1, dtype=bool)][: 1 + use_bias])
    return ref, np.array(preds)


def model_train(kwargs, X, y, weights, batch_size, use_bias=True):
    model = Model(optimizer_config(**copy.deepcopy(kwargs)), HASH_BITS, use_bias=use_bias)
    preds = model.train(X, y, weights, batch_size)
    model.flush()
    return model, preds


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_model_matches_lazy_reference(keras, case, batch_size):
    X, y, weights = sparse_data()
    kwargs = CASES[case]
    ref, ref_preds = reference_train(keras, kwargs, X, y, weights, batch_size)
    model, preds = model_train(kwargs, X, y, weights, batch_size)
    np.testing.assert_allclose(preds, ref_preds, rtol=0, atol=ATOL)
    model.sync()
    # Rows never touched are all zeros in the model's state (their accumulator is set on first
    # touch); the reference must have left them at their starting values.
    touched = model.touched
    ref_w, ref_z, ref_n = (np.concatenate(r) for r in (ref.w, ref.z, ref.n))
    assert (ref_w[~touched] == 0).all() and (ref_z[~touched] == 0).all()
    assert (ref_n[~touched] == ref.k["initial_accumulator_value"]).all()
    assert touched.sum() > D // 2
    for col, expected in ((L.W, ref_w), (L.Z, ref_z), (L.N, ref_n)):
        np.testing.assert_allclose(model.state[touched, col], expected[touched],
                                   rtol=0, atol=ATOL)
    kernel, bias = model.serving_weights()
    np.testing.assert_allclose(kernel, ref.serving()[0], rtol=0, atol=ATOL)
    assert abs(bias - ref.serving()[1][0]) <= ATOL


def test_model_without_bias_matches_lazy_reference(keras):
    X, y, weights = sparse_data(seed=2)
    kwargs = CASES["everything"]
    ref, ref_preds = reference_train(keras, kwargs, X, y, weights, 3, use_bias=False)
    model, preds = model_train(kwargs, X, y, weights, 3, use_bias=False)
    np.testing.assert_allclose(preds, ref_preds, rtol=0, atol=ATOL)
    np.testing.assert_allclose(model.serving_weights()[0], ref.serving()[0], rtol=0, atol=ATOL)


def test_lazy_differs_from_keras_dense_on_sparse_data(keras):
    # Guard against a vacuous reference: with shrinkage and weight decay Keras's dense update
    # moves idle weights, the lazy one does not, so the two must disagree on sparse data.
    X, y, weights = sparse_data()
    kwargs = CASES["weight_decay_schedule"]
    ref, _ = reference_train(keras, kwargs, X, y, weights, 1)
    kernel, _ = keras_fit(keras, X.toarray(), y, 1, copy.deepcopy(kwargs), weights=weights)
    assert np.abs(kernel - ref.w[0]).max() > 1e-3


# ---- Ftrl.apply_sparse ----
ROWS, COLS = 8, 3


def sparse_steps(n_steps=60, seed=5):
    """Random row-sparse kernel gradients (with repeated rows) and a dense bias gradient."""
    rng = np.random.default_rng(seed)
    for _ in range(n_steps):
        k = int(rng.integers(0, 4))
        rows = rng.integers(0, ROWS, size=k)
        values = rng.normal(scale=1.5, size=(k, COLS))
        yield rows, values, rng.normal(size=1)


def densify(rows, values):
    g = np.zeros((ROWS, COLS))
    np.add.at(g, rows, values)
    active = np.zeros((ROWS, COLS), dtype=bool)
    active[rows] = True
    return g.reshape(-1), active.reshape(-1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_apply_sparse_matches_lazy_reference(keras, case):
    rng = np.random.default_rng(7)
    kernel, bias = rng.normal(size=(ROWS, COLS)), rng.normal(size=1)
    ref = Reference(keras, CASES[case], [kernel, bias])
    opt = Ftrl(**copy.deepcopy(CASES[case]))
    for rows, values, gb in sparse_steps():
        g, active = densify(rows, values)
        ref.step([g, gb], [active, np.ones(1, dtype=bool)])
        opt.apply_sparse([(rows, values), gb], [kernel, bias])
        # The weights are always Keras's (overwrites reach idle coordinates at once).
        np.testing.assert_allclose(kernel.reshape(-1), ref.w[0], rtol=0, atol=ATOL)
        np.testing.assert_allclose(bias, ref.w[1], rtol=0, atol=ATOL)
    for ours, theirs in ((opt.linears, ref.z), (opt.accumulators, ref.n)):
        for o, r in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(o.reshape(-1), r, rtol=0, atol=ATOL)
    if ref.k["use_ema"]:
        for o, r in zip(opt.average, ref.avg, strict=True):
            np.testing.assert_allclose(o.reshape(-1), r, rtol=0, atol=ATOL)


def test_inactive_coordinates_keep_their_state():
    opt = Ftrl(learning_rate=SCHEDULE, weight_decay=0.5, l2_shrinkage_regularization_strength=0.3)
    kernel = np.random.default_rng(0).normal(size=(ROWS, COLS))
    bias = np.zeros(1)
    for rows, values, gb in sparse_steps(30):
        before = [kernel.copy(), opt.linears[0].copy() if opt.built else None,
                  opt.accumulators[0].copy() if opt.built else None]
        opt.apply_sparse([(rows, values), gb], [kernel, bias])
        idle = np.setdiff1d(np.arange(ROWS), rows)
        assert np.array_equal(kernel[idle], before[0][idle])
        if before[1] is not None:
            assert np.array_equal(opt.linears[0][idle], before[1][idle])
            assert np.array_equal(opt.accumulators[0][idle], before[2][idle])


def test_moving_average_of_an_idle_weight_is_closed_form():
    opt = Ftrl(learning_rate=0.3, use_ema=True, ema_momentum=0.9)
    w = np.array([0.5, -0.25])
    opt.apply_sparse([(np.array([0]), np.array([1.0]))], [w])
    after_first = w.copy()
    for _ in range(40):
        opt.apply_sparse([(np.array([], dtype=np.int64), np.array([]))], [w])
    # Keras's per-iteration updates of a constant weight, replayed one by one.
    avg = after_first.copy()  # first iteration: momentum 0
    for _ in range(40):
        avg = 0.9 * avg + 0.1 * after_first
    np.testing.assert_allclose(opt.average[0], avg, rtol=0, atol=1e-12)
    assert np.array_equal(w, after_first)


def test_sparse_gradient_validation():
    opt = Ftrl()
    kernel = np.zeros((ROWS, COLS))
    with pytest.raises(ValueError, match="indices must be in"):
        opt.apply_sparse([(np.array([ROWS]), np.ones((1, COLS)))], [kernel])
    with pytest.raises(ValueError, match="values of shape"):
        opt.apply_sparse([(np.array([1]), np.ones(COLS + 1))], [kernel])
    with pytest.raises(ValueError, match="1-D integer"):
        opt.apply_sparse([(np.array([0.5]), np.ones((1, COLS)))], [kernel])


# ---- all coordinates active: lazy == Keras's dense update ----
@pytest.mark.parametrize("case", sorted(CASES))
def test_apply_sparse_with_every_coordinate_active_is_keras(keras, case):
    kwargs = CASES[case]
    kw = copy.deepcopy(kwargs)
    if isinstance(kw.get("learning_rate"), dict):
        kw["learning_rate"] = keras.optimizers.schedules.deserialize(kw["learning_rate"])
    rng = np.random.default_rng(11)
    start_k, start_b = rng.normal(size=(ROWS, COLS)), rng.normal(size=1)
    kvars = [keras.Variable(start_k.copy(), dtype="float64"),
             keras.Variable(start_b.copy(), dtype="float64")]
    kernel, bias = start_k.copy(), start_b.copy()
    kopt, opt = keras.optimizers.Ftrl(**kw), Ftrl(**copy.deepcopy(kwargs))
    for _ in range(30):
        g = rng.normal(scale=1.5, size=(ROWS, COLS))
        gb = rng.normal(size=1)
        # Every row, in a shuffled order, some split into two halves that add up.
        rows = rng.permutation(ROWS)
        split = rows[:3]
        idx = np.concatenate([rows, split])
        vals = np.concatenate([g[rows], np.zeros((3, COLS))])
        vals[:3] = g[split] / 2.0
        vals[ROWS:] = g[split] - g[split] / 2.0
        kopt.apply([g, gb], kvars)
        opt.apply_sparse([(idx, vals), gb], [kernel, bias])
        np.testing.assert_allclose(kernel, kvars[0].numpy(), rtol=0, atol=ATOL)
        np.testing.assert_allclose(bias, kvars[1].numpy(), rtol=0, atol=ATOL)
    kopt.finalize_variable_values(kvars)
    opt.finalize_variable_values([kernel, bias])
    np.testing.assert_allclose(kernel, kvars[0].numpy(), rtol=0, atol=ATOL)


@pytest.mark.parametrize("case", ["everything", "accumulation_ema_overwrite", "clipnorm"])
def test_reference_with_every_coordinate_active_is_keras(keras, case):
    # The reference itself is Keras's dense optimizer when nothing is idle.
    kwargs = CASES[case]
    X = sparse_data()[0].toarray() + 0.5  # no zero entry left: every feature in every record
    _, y, weights = sparse_data()
    kernel, bias = keras_fit(keras, X[:60], y[:60], 3, copy.deepcopy(kwargs),
                             weights=weights[:60])
    ref, _ = reference_train(keras, kwargs, sp.csr_matrix(X[:60]), y[:60], weights[:60], 3)
    np.testing.assert_allclose(ref.serving()[0], kernel, rtol=0, atol=ATOL)
    model, _ = model_train(kwargs, sp.csr_matrix(X[:60]), y[:60], weights[:60], 3)
    np.testing.assert_allclose(model.serving_weights()[0], kernel, rtol=0, atol=ATOL)
    assert abs(model.serving_weights()[1] - bias) <= ATOL
