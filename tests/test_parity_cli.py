"""``ftrl train`` (CLI and Parquet checkpoint) against real keras.optimizers.Ftrl.

Dense rows, every feature present and non-zero, written as libsvm with indices 0..D-1, so
the lazy and the dense updates coincide.  Also: resuming mid-way equals one run.
"""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from clirun import ftrl
from kerasref import keras_fit
from test_parity_keras import CASES, HASH_BITS, dense_data

# Keras name -> CLI flag, for passing each case on the command line.
FLAGS = {
    "learning_rate": "--learning-rate",
    "learning_rate_power": "--learning-rate-power",
    "initial_accumulator_value": "--initial-accumulator-value",
    "l1_regularization_strength": "--l1",
    "l2_regularization_strength": "--l2",
    "l2_shrinkage_regularization_strength": "--l2-shrinkage",
    "beta": "--beta",
    "weight_decay": "--weight-decay",
    "clipnorm": "--clipnorm",
    "clipvalue": "--clipvalue",
    "global_clipnorm": "--global-clipnorm",
    "ema_momentum": "--ema-momentum",
    "ema_overwrite_frequency": "--ema-overwrite-frequency",
    "loss_scale_factor": "--loss-scale-factor",
    "gradient_accumulation_steps": "--gradient-accumulation-steps",
    "name": "--name",
}


def cli_args(kwargs):
    args = []
    for key, value in kwargs.items():
        if key == "use_ema":
            args.append("--use-ema" if value else "--no-ema")
        elif isinstance(value, dict):
            args += [FLAGS[key], json.dumps(value)]
        else:
            args += [FLAGS[key], value if isinstance(value, str) else repr(value)]
    return args


def write_libsvm(path, X, y, numeric=False):
    """Rows as libsvm, labels as classes (0/1) or, ``numeric``, as the exact floats."""
    with open(path, "w") as fh:
        for row, label in zip(X, y):
            feats = " ".join(f"{j}:{float(v)!r}" for j, v in enumerate(row))
            text = repr(float(label)) if numeric else str(int(label))
            fh.write(f"{text} {feats}\n")


def libsvm_splits(d, X, y, cut, numeric=False):
    """``all``, ``first`` (rows before ``cut``) and ``second`` libsvm files in ``d``."""
    write_libsvm(d / "all.libsvm", X, y, numeric)
    write_libsvm(d / "first.libsvm", X[:cut], y[:cut], numeric)
    write_libsvm(d / "second.libsvm", X[cut:], y[cut:], numeric)
    return X, y, d


def read_model(path):
    t = pq.read_table(path).to_pydict()
    w = np.zeros(1 << HASH_BITS)
    bias = None
    for var, idx, weight in zip(t["variable"], t["index"], t["weight"]):
        if var == "bias":
            bias = weight
        else:
            w[idx] = weight
    return w, bias, json.loads(pq.read_table(path).schema.metadata[b"ftrl"])


def train(tmp_path, files, batch_size, kwargs, out="m.parquet", extra=()):
    model = tmp_path / out
    r = ftrl("train", *files, "-o", model, "--quiet", "-b", str(HASH_BITS), "--batch-size",
             str(batch_size), *cli_args(kwargs), *extra)
    assert r.code == 0, r.err
    return model


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    X, y = dense_data()
    return libsvm_splits(tmp_path_factory.mktemp("dense"), X, y, 12)


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_matches_keras(keras, data, tmp_path, case, batch_size):
    X, y, d = data
    kk, kb = keras_fit(keras, X, y, batch_size, CASES[case])
    w, b, meta = read_model(train(tmp_path, [d / "all.libsvm"], batch_size, CASES[case]))
    np.testing.assert_allclose(w, kk, rtol=0, atol=1e-9)
    assert abs(b - kb) <= 1e-9
    if "name" in CASES[case]:
        assert meta["optimizer"]["config"]["name"] == CASES[case]["name"]


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_resume_mid_way_equals_one_run(data, tmp_path, case, batch_size):
    # 12 records then 18: a whole number of steps for both batch sizes.
    _, _, d = data
    kwargs = CASES[case]
    one = train(tmp_path, [d / "first.libsvm", d / "second.libsvm"], batch_size, kwargs)
    half = train(tmp_path, [d / "first.libsvm"], batch_size, kwargs, "half.parquet")
    resumed = train(tmp_path, [d / "second.libsvm"], batch_size, {}, "resumed.parquet",
                    ("--init-model", str(half)))
    w1, b1, m1 = read_model(one)
    w2, b2, m2 = read_model(resumed)
    np.testing.assert_allclose(w2, w1, rtol=0, atol=1e-12)
    assert abs(b2 - b1) <= 1e-12
    assert m1["counters"] == m2["counters"]
    assert m1["optimizer"] == m2["optimizer"]


def test_optimizer_config_from_keras(keras, data, tmp_path):
    X, y, d = data
    kwargs = CASES["everything"]
    opt = keras.optimizers.Ftrl(**{**kwargs, "learning_rate":
                                   keras.optimizers.schedules.deserialize(
                                       kwargs["learning_rate"])})
    for i, obj in enumerate([opt.get_config(), keras.optimizers.serialize(opt)]):
        path = tmp_path / f"opt{i}.json"
        path.write_text(json.dumps(obj))
        model = train(tmp_path, [d / "all.libsvm"], 3, {}, f"m{i}.parquet",
                      ("--optimizer-config", str(path)))
        kk, kb = keras_fit(keras, X, y, 3, kwargs)
        w, b, meta = read_model(model)
        np.testing.assert_allclose(w, kk, rtol=0, atol=1e-9)
        assert abs(b - kb) <= 1e-9
        assert meta["optimizer"]["config"] == opt.get_config()


def test_flags_override_optimizer_config(keras, data, tmp_path):
    X, y, d = data
    opt = keras.optimizers.Ftrl(learning_rate=0.2, beta=0.5, l1_regularization_strength=0.01)
    path = tmp_path / "opt.json"
    path.write_text(json.dumps(opt.get_config()))
    model = train(tmp_path, [d / "all.libsvm"], 1, {"beta": 0.1},
                  extra=("--optimizer-config", str(path)))
    kk, kb = keras_fit(keras, X, y, 1, {"learning_rate": 0.2, "beta": 0.1,
                                        "l1_regularization_strength": 0.01})
    w, b, _ = read_model(model)
    np.testing.assert_allclose(w, kk, rtol=0, atol=1e-9)


def test_optimizer_config_nulls_are_not_set_and_unknown_keys_refused(data, tmp_path):
    _, _, d = data
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"learning_rate": 0.1, "clipnorm": None, "use_ema": False,
                                "ema_overwrite_frequency": None}))
    train(tmp_path, [d / "all.libsvm"], 1, {}, extra=("--optimizer-config", str(good)))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"learning_rate": 0.1, "momentum": 0.9}))
    r = ftrl("train", d / "all.libsvm", "-o", tmp_path / "x.parquet", "--quiet",
             "--optimizer-config", bad)
    assert r.code == 2 and "momentum" in r.err and len(r.err.strip().splitlines()) == 1
