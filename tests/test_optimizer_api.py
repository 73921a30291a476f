"""``ftrl_cli.optimizer.Ftrl`` (dense ``apply``) against Keras 3's own ``keras.optimizers.Ftrl``.

Keras's golden values come from Keras's test suite (``keras/src/optimizers/ftrl_test.py``);
every other expected number is computed in the test by real Keras (NumPy backend, float64).
"""

import copy
import warnings

import numpy as np
import pytest

from ftrl_cli.optimizer import Ftrl

ATOL = 1e-9
SHAPES = [(3, 4), (5,), (1,), ()]

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
    "cosine_restarts": {"class_name": "CosineDecayRestarts", "config": {
        "initial_learning_rate": 0.2, "first_decay_steps": 4, "m_mul": 0.8}},
}

CASES = {
    "defaults": {},
    "learning_rate": {"learning_rate": 0.3},
    "learning_rate_power": {"learning_rate": 0.3, "learning_rate_power": -0.3},
    "learning_rate_power_zero": {"learning_rate": 0.05, "learning_rate_power": 0.0},
    "initial_accumulator_value": {"learning_rate": 0.3, "initial_accumulator_value": 0.7},
    "initial_accumulator_zero": {"learning_rate": 0.3, "initial_accumulator_value": 0.0},
    "l1": {"learning_rate": 0.3, "l1_regularization_strength": 0.2},
    "l2": {"learning_rate": 0.3, "l2_regularization_strength": 0.4},
    "shrinkage": {"learning_rate": 0.3, "l2_shrinkage_regularization_strength": 0.2},
    "beta": {"learning_rate": 0.3, "beta": 0.7},
    "weight_decay": {"learning_rate": 0.3, "weight_decay": 0.5},
    "clipnorm": {"learning_rate": 0.3, "clipnorm": 0.8},
    "clipvalue": {"learning_rate": 0.3, "clipvalue": 0.5},
    "global_clipnorm": {"learning_rate": 0.3, "global_clipnorm": 1.5},
    "ema": {"learning_rate": 0.3, "use_ema": True},
    "ema_momentum": {"learning_rate": 0.3, "use_ema": True, "ema_momentum": 0.7},
    "ema_overwrite": {"learning_rate": 0.3, "use_ema": True, "ema_momentum": 0.8,
                      "ema_overwrite_frequency": 3},
    "ema_overwrite_every_step": {"learning_rate": 0.3, "use_ema": True, "ema_momentum": 0.6,
                                 "ema_overwrite_frequency": 1},
    "loss_scale": {"learning_rate": 0.3, "loss_scale_factor": 128.0},
    "accumulation": {"learning_rate": 0.3, "gradient_accumulation_steps": 3},
    "name": {"learning_rate": 0.3, "name": "ctr"},
    "all_ftrl": {"learning_rate": 0.3, "learning_rate_power": -0.4,
                 "initial_accumulator_value": 0.2, "l1_regularization_strength": 0.05,
                 "l2_regularization_strength": 0.1, "l2_shrinkage_regularization_strength": 0.03,
                 "beta": 0.5},
    "accumulation_ema_overwrite": {"learning_rate": 0.3, "gradient_accumulation_steps": 2,
                                   "use_ema": True, "ema_momentum": 0.7,
                                   "ema_overwrite_frequency": 2},
    "accumulation_clipnorm_wd": {"learning_rate": 0.3, "gradient_accumulation_steps": 4,
                                 "clipnorm": 0.5, "weight_decay": 0.2},
    "schedule_global_clip_ema": {"learning_rate": SCHEDULES["cosine_restarts"],
                                 "global_clipnorm": 0.7, "use_ema": True,
                                 "ema_overwrite_frequency": 4, "loss_scale_factor": 4.0},
    "everything": {"learning_rate": SCHEDULES["cosine_warmup"], "learning_rate_power": -0.6,
                   "initial_accumulator_value": 0.3, "l1_regularization_strength": 0.01,
                   "l2_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.02,
                   "beta": 0.2, "weight_decay": 0.05, "global_clipnorm": 1.0, "use_ema": True,
                   "ema_momentum": 0.9, "ema_overwrite_frequency": 3, "loss_scale_factor": 8.0,
                   "gradient_accumulation_steps": 3},
    **{f"schedule_{k}": {"learning_rate": v} for k, v in SCHEDULES.items()},
}


def keras_kwargs(keras, kwargs):
    kw = copy.deepcopy(kwargs)
    if isinstance(kw.get("learning_rate"), dict):
        kw["learning_rate"] = keras.optimizers.schedules.deserialize(kw["learning_rate"])
    return kw


def start_values(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in SHAPES]


def random_grads(rng, shapes=SHAPES):
    return [rng.normal(scale=2.0, size=s) for s in shapes]


def assert_same_state(kopt, opt, kvars, ovars):
    for kv, ov in zip(kvars, ovars, strict=True):
        np.testing.assert_allclose(ov, kv.numpy(), rtol=0, atol=ATOL)
    kv_all = [np.asarray(v.numpy(), dtype=np.float64) for v in kopt.variables]
    ov_all = [np.asarray(v, dtype=np.float64) for v in opt.variables]
    assert [v.shape for v in ov_all] == [v.shape for v in kv_all]
    for k, o in zip(kv_all, ov_all, strict=True):
        np.testing.assert_allclose(o, k, rtol=0, atol=ATOL)
    assert opt.iterations == int(kopt.iterations)


def run_both(keras, kwargs, steps=24, seed=1, ours=None, keras_opt=None):
    rng = np.random.default_rng(seed)
    init = start_values(seed)
    kvars = [keras.Variable(x.copy(), dtype="float64") for x in init]
    ovars = [x.copy() for x in init]
    kopt = keras_opt or keras.optimizers.Ftrl(**keras_kwargs(keras, kwargs))
    opt = ours or Ftrl(**kwargs)
    for _ in range(steps):
        grads = random_grads(rng)
        kopt.apply(grads, kvars)
        opt.apply(grads, ovars)
        for kv, ov in zip(kvars, ovars, strict=True):
            np.testing.assert_allclose(ov, kv.numpy(), rtol=0, atol=ATOL)
        assert abs(opt.learning_rate - float(kopt.learning_rate)) <= 1e-15
    assert_same_state(kopt, opt, kvars, ovars)
    return kopt, opt, kvars, ovars


# ---- Keras's own golden values ----
def test_keras_golden_single_step():
    opt = Ftrl(learning_rate=0.5)
    var = np.array([1.0, 2.0, 3.0, 4.0])
    opt.apply_gradients(zip([np.array([1.0, 6.0, 7.0, 2.0])], [var], strict=True))
    np.testing.assert_allclose(var, [0.2218, 1.3954, 2.3651, 2.8814], rtol=1e-4, atol=1e-4)


def test_keras_golden_five_steps():
    opt = Ftrl(learning_rate=0.05, learning_rate_power=-0.2, initial_accumulator_value=0.4,
               l1_regularization_strength=0.05, l2_regularization_strength=0.15,
               l2_shrinkage_regularization_strength=0.01, beta=0.3)
    x = np.ones(10)
    grads = np.arange(0.1, 1.1, 0.1)
    golden = np.array([
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [-0.0034, -0.0077, -0.0118, -0.0157, -0.0194, -0.023, -0.0263, -0.0294, -0.0325,
         -0.0354],
        [-0.0078, -0.0162, -0.0242, -0.0317, -0.0387, -0.0454, -0.0516, -0.0575, -0.0631,
         -0.0685],
        [-0.0121, -0.0246, -0.0363, -0.0472, -0.0573, -0.0668, -0.0757, -0.0842, -0.0922,
         -0.0999],
        [-0.0164, -0.0328, -0.0481, -0.0623, -0.0753, -0.0875, -0.099, -0.1098, -0.1201,
         -0.1299]])
    opt.apply_gradients(zip([np.full(10, 0.01)], [x], strict=True))
    for i in range(5):
        np.testing.assert_allclose(x, golden[i], rtol=5e-4, atol=5e-4)
        opt.apply_gradients(zip([grads], [x], strict=True))


def test_keras_golden_steps_agree_with_live_keras(keras):
    # The same two scenarios, now against Keras itself at full precision.
    kw = {"learning_rate": 0.05, "learning_rate_power": -0.2, "initial_accumulator_value": 0.4,
          "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.15,
          "l2_shrinkage_regularization_strength": 0.01, "beta": 0.3}
    for kwargs, start, grads in (
            ({"learning_rate": 0.5}, [1.0, 2.0, 3.0, 4.0], [[1.0, 6.0, 7.0, 2.0]]),
            (kw, [1.0] * 10, [[0.01] * 10] + [np.arange(0.1, 1.1, 0.1)] * 5)):
        kvar = keras.Variable(np.array(start), dtype="float64")
        var = np.array(start)
        kopt, opt = keras.optimizers.Ftrl(**kwargs), Ftrl(**kwargs)
        for g in grads:
            kopt.apply([np.array(g)], [kvar])
            opt.apply([np.array(g)], [var])
            np.testing.assert_allclose(var, kvar.numpy(), rtol=0, atol=1e-12)


# ---- live parity ----
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_keras(keras, case):
    run_both(keras, CASES[case])


def test_the_parity_check_is_not_vacuous(keras):
    kopt, opt, kvars, ovars = run_both(keras, CASES["everything"])
    init = start_values(1)
    assert all(np.abs(v - s).max() > 0.05 for v, s in zip(ovars, init, strict=True))
    assert max(np.abs(a).max() for a in opt.average) > 0.05


def test_keras_schedule_object(keras):
    sched = keras.optimizers.schedules.ExponentialDecay(0.3, 4, 0.6)
    run_both(keras, {}, ours=Ftrl(learning_rate=sched),
             keras_opt=keras.optimizers.Ftrl(learning_rate=sched))


def test_custom_keras_schedule_is_called_with_the_iteration(keras):
    class Harmonic(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.4 / (1.0 + keras.ops.cast(step, "float64"))

        def get_config(self):
            return {}

    kw = {"weight_decay": 0.1, "gradient_accumulation_steps": 2}
    kopt, opt, _, _ = run_both(
        keras, kw, ours=Ftrl(learning_rate=Harmonic(), **kw),
        keras_opt=keras.optimizers.Ftrl(learning_rate=Harmonic(), **kw))
    assert opt.get_config() == kopt.get_config()


def test_callable_learning_rate_is_read_each_step(keras):
    box = {"lr": 0.3}
    kw = {"learning_rate": lambda: box["lr"], "weight_decay": 0.2}
    rng = np.random.default_rng(3)
    kvar = keras.Variable(np.ones(4), dtype="float64")
    var = np.ones(4)
    kopt, opt = keras.optimizers.Ftrl(**kw), Ftrl(**kw)
    for step in range(12):
        box["lr"] = 0.3 / (1 + step)
        g = rng.normal(size=4)
        kopt.apply([g], [kvar])
        opt.apply([g], [var])
    np.testing.assert_allclose(var, kvar.numpy(), rtol=0, atol=ATOL)


def test_missing_gradient_and_variable_subsets(keras):
    # A None gradient, or a variable left out, skips its update; the moving average still
    # moves, and Keras empties every accumulator at the update step.
    kw = {"learning_rate": 0.3, "use_ema": True, "ema_momentum": 0.8,
          "ema_overwrite_frequency": 5, "gradient_accumulation_steps": 2}
    rng = np.random.default_rng(4)
    init = start_values(4)
    kvars = [keras.Variable(x.copy(), dtype="float64") for x in init]
    ovars = [x.copy() for x in init]
    kopt, opt = keras.optimizers.Ftrl(**kw), Ftrl(**kw)
    for step in range(20):
        grads = random_grads(rng)
        if step % 3 == 1:
            grads[1] = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if step % 4 == 2:
                kopt.apply(grads[::2], kvars[::2])
                opt.apply(grads[::2], ovars[::2])
            elif step >= 1:
                kopt.apply(grads)
                opt.apply(grads)
            else:
                kopt.apply(grads, kvars)
                opt.apply(grads, ovars)
    assert_same_state(kopt, opt, kvars, ovars)


def test_missing_gradient_warns_and_all_missing_fails():
    opt = Ftrl()
    a, b = np.zeros(2), np.zeros(3)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([np.ones(2), None], [a, b])
    with pytest.raises(ValueError, match="^No gradients provided for any variable.$"):
        opt.apply([None, None], [a, b])


def test_empty_gradient_list_is_a_no_op():
    opt = Ftrl()
    opt.apply([], [])
    assert opt.iterations == 0 and not opt.built


def test_unknown_variable_and_unbuilt_apply():
    opt = Ftrl()
    with pytest.raises(ValueError, match="must already be built"):
        opt.apply([np.ones(2)])
    opt.apply([np.ones(2)], [np.zeros(2)])
    with pytest.raises(ValueError, match="^Unknown variable"):
        opt.apply([np.ones(2)], [np.zeros(2)])
    with pytest.raises(ValueError, match="one-to-on"):
        opt.apply([np.ones(2), np.ones(2)])


def test_variables_must_be_float_arrays():
    with pytest.raises(TypeError, match="float NumPy array"):
        Ftrl().apply([np.ones(2)], [np.zeros(2, dtype=np.int64)])
    with pytest.raises(TypeError, match="C-contiguous"):
        Ftrl().apply([np.ones(2)], [np.zeros((2, 2))[:, 0]])
    with pytest.raises(ValueError, match="gradient of shape"):
        Ftrl().apply([np.ones(3)], [np.zeros(2)])


def test_float32_variables_keep_their_dtype():
    # Keras's golden single step is a float32 variable in Keras's own test.
    var = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    opt = Ftrl(learning_rate=0.5)
    opt.apply([np.array([1.0, 6.0, 7.0, 2.0])], [var])
    assert var.dtype == np.float32 and opt.accumulators[0].dtype == np.float32
    np.testing.assert_allclose(var, [0.2218, 1.3954, 2.3651, 2.8814], rtol=1e-4, atol=1e-4)


def test_iterations_floor_divide_under_accumulation(keras):
    kopt = keras.optimizers.Ftrl(gradient_accumulation_steps=3)
    opt = Ftrl(gradient_accumulation_steps=3)
    kvar, var = keras.Variable(np.zeros(2), dtype="float64"), np.zeros(2)
    for _ in range(7):
        kopt.apply_gradients([(np.ones(2), kvar)])
        raw = opt.apply_gradients([(np.ones(2), var)])
        assert opt.iterations == int(kopt.iterations)
        assert raw == int(kopt._iterations.numpy())
    assert opt.iterations == 2


def test_finalize_variable_values(keras):
    kw = {"learning_rate": 0.3, "use_ema": True, "ema_momentum": 0.7}
    kopt, opt, kvars, ovars = run_both(keras, kw, steps=9)
    kopt.finalize_variable_values(kvars)
    opt.finalize_variable_values(ovars)
    for kv, ov in zip(kvars, ovars, strict=True):
        np.testing.assert_allclose(ov, kv.numpy(), rtol=0, atol=ATOL)


def test_keras_attributes_are_readable_not_settable():
    opt = Ftrl(learning_rate=0.2, clipnorm=1.0, name="ctr")
    assert (opt.clipnorm, opt.name, opt.use_ema, opt.beta) == (1.0, "ctr", False, 0.0)
    with pytest.raises(AttributeError, match="fixed at construction"):
        opt.clipnorm = 2.0


def test_learning_rate_setter(keras):
    opt = Ftrl(learning_rate=0.1)
    opt.learning_rate = 0.2
    assert opt.learning_rate == 0.2 and opt.get_config()["learning_rate"] == 0.2
    opt = Ftrl(learning_rate=SCHEDULES["exponential"])
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.2


# ---- validation ----
BAD = [
    {"initial_accumulator_value": -0.1},
    {"learning_rate_power": 0.1},
    {"l1_regularization_strength": -0.1},
    {"l2_regularization_strength": -0.1},
    {"l2_shrinkage_regularization_strength": -0.1},
    {"learning_rate": 1},
    {"learning_rate": "fast"},
    {"gradient_accumulation_steps": 1},
    {"use_ema": True, "ema_momentum": 1.5},
    {"use_ema": True, "ema_momentum": -0.5},
    {"use_ema": True, "ema_overwrite_frequency": -1},
    {"use_ema": True, "ema_overwrite_frequency": 2.5},
    {"clipnorm": 1.0, "clipvalue": 1.0},
    {"clipnorm": 1.0, "global_clipnorm": 2.0},
    {"no_such_argument": 1, "other": "x"},
]


@pytest.mark.parametrize("bad", BAD, ids=lambda b: "-".join(sorted(b)))
def test_validation_messages_equal_keras(keras, bad):
    with pytest.raises(ValueError) as expected:
        keras.optimizers.Ftrl(**bad)
    with pytest.raises(ValueError) as got:
        Ftrl(**bad)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("arg,sign", [
    ("initial_accumulator_value", "positive or zero"),
    ("learning_rate_power", "negative or zero"),
    ("l1_regularization_strength", "positive or zero"),
    ("l2_regularization_strength", "positive or zero"),
    ("l2_shrinkage_regularization_strength", "positive or zero"),
])
def test_validation_messages_of_keras_test_suite(arg, sign):
    invalid = 0.1 if sign == "negative or zero" else -0.1
    with pytest.raises(ValueError, match=f"^`{arg}` needs to be {sign}. "
                                         f"Received: {arg}={invalid}.$"):
        Ftrl(**{arg: invalid})


def test_decay_is_ignored_with_keras_warning():
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        opt = Ftrl(decay=0.1)
    assert "decay" not in opt.get_config()


# ---- config ----
CONFIG_CASES = {k: CASES[k] for k in ("defaults", "everything", "name", "all_ftrl",
                                      "accumulation_ema_overwrite", "clipvalue")}
CONFIG_CASES.update({f"schedule_{k}": {"learning_rate": v} for k, v in SCHEDULES.items()})
CONFIG_CASES["keras_test_config"] = {
    "learning_rate": 0.05, "learning_rate_power": -0.2, "initial_accumulator_value": 0.4,
    "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.15,
    "l2_shrinkage_regularization_strength": 0.01, "beta": 0.3}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_get_config_equals_keras(keras, case):
    kwargs = CONFIG_CASES[case]
    kopt = keras.optimizers.Ftrl(**keras_kwargs(keras, kwargs))
    expected = kopt.get_config()
    assert Ftrl(**kwargs).get_config() == expected
    # Round trips: Keras's config into ours, ours into Keras.
    assert Ftrl.from_config(copy.deepcopy(expected)).get_config() == expected
    back = keras.optimizers.Ftrl.from_config(copy.deepcopy(Ftrl(**kwargs).get_config()))
    assert back.get_config() == expected


def test_keras_schedule_object_config(keras):
    sched = keras.optimizers.schedules.PolynomialDecay(0.2, 10, power=0.5)
    expected = keras.optimizers.Ftrl(learning_rate=sched, use_ema=True).get_config()
    assert Ftrl(learning_rate=sched, use_ema=True).get_config() == expected


def test_from_config_rebuilds_the_same_optimizer(keras):
    kw = CASES["everything"]
    kopt = keras.optimizers.Ftrl(**keras_kwargs(keras, kw))
    run_both(keras, kw, ours=Ftrl.from_config(copy.deepcopy(kopt.get_config())),
             keras_opt=kopt)
