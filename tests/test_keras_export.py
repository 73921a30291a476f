"""``ftrl export --keras`` and ``ftrl import-keras`` against real Keras 3.

Keras runs on its NumPy backend in float64 (``keras`` fixture). That backend has no
autodiff, so training in Keras is ``keras_epoch`` (Keras's own optimizer on the loaded
model's variables, the loss gradient written out); one test runs the real ``model.fit`` on
the JAX backend in a child process. Training data is dense libsvm rows with indices 0..7 on
2**3 coordinates, every coordinate active in every step, where ftrl's lazy update and
Keras's dense one are the same computation.
"""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pyarrow.parquet as pq
import pytest
from clirun import REPO, ftrl, ftrl_process, sample
from kerasref import keras_epoch
from test_parity_cli import cli_args, write_libsvm
from test_parity_keras import CASES, HASH_BITS, SCHEDULES, dense_data

from ftrl_cli import checkpoint, hash_records
from ftrl_cli.commands.predict import scored_batches

# Keras's fit() ends by replacing EMA weights with their average, and goes on from those;
# ftrl goes on from the weights before it, so EMA models are refused (tested below).
FIT_CASES = {k: v for k, v in CASES.items() if not v.get("use_ema")}
TOL = 1e-12


def train(*args):
    r = ftrl("train", *map(str, args), "--quiet")
    assert r.code == 0, r.err


def export(model, out):
    r = ftrl("export", model, "--keras", out)
    assert r.code == 0, r.err
    return r


def load_keras(keras, path):
    model = keras.models.load_model(path)
    return model, model.get_layer("dense")


def split_data(tmp_path, loss="logistic", n=40, cut=19):
    """Two libsvm files (records before ``cut`` and after) and the second part's arrays."""
    X, y = dense_data(n=n, seed=3)
    if loss == "squared":
        y = X @ np.linspace(-1, 1, X.shape[1]) + 0.5
    numeric = loss == "squared"
    write_libsvm(tmp_path / "a.libsvm", X[:cut], y[:cut], numeric)
    write_libsvm(tmp_path / "b.libsvm", X[cut:], y[cut:], numeric)
    return X[cut:], y[cut:]


def table_and_meta(path):
    table = pq.read_table(path)
    return table, json.loads(table.schema.metadata[b"ftrl"])


# ---- predictions -------------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["logistic", "squared"])
@pytest.mark.parametrize("bias", [True, False])
def test_keras_predicts_what_ftrl_predicts(keras, tmp_path, loss, bias):
    """Sparse vw records (-b 10, crosses): Keras's predict on the hashed CSR equals
    ftrl's scores to float64 rounding, and what ``ftrl predict`` prints."""
    model, out = tmp_path / "m.parquet", tmp_path / "m.keras"
    train(sample("train.vw"), "-o", model, "-b", 10, "--learning-rate", 0.1, "--l1", 0.1,
          "--loss", loss, "-q", "cc", *([] if bias else ["--no-bias"]))
    export(model, out)
    lines = open(sample("test.vw")).read().splitlines()[:300]
    X, y = hash_records(lines, model=str(out))
    assert X.shape == (300, 1024) and X.format == "csr"
    assert np.array_equal(y, hash_records(lines, model=model)[1])
    kmodel, dense = load_keras(keras, out)
    assert dense.use_bias is bias
    assert (dense.activation.__name__ == "sigmoid") is (loss == "logistic")
    got = kmodel.predict(X, verbose=0).ravel()
    test = tmp_path / "test.vw"
    test.write_text("\n".join(lines) + "\n")
    want = np.concatenate([s for _, s in scored_batches([str(test)], str(model), {})])
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    printed = np.loadtxt(ftrl("predict", "-m", model, test).out.splitlines())
    np.testing.assert_allclose(got, printed, rtol=0, atol=6e-10)


def test_hash_records_reads_as_predict(tmp_path):
    """csv columns, hash mode and crosses come from the model; labels as the model reads
    them; a headerless text takes the model's recorded columns."""
    model = tmp_path / "m.parquet"
    train(sample("train.csv"), "-o", model, "-b", 12, "--hash", "all",
          "--interactions", "C1:C2")
    lines = open(sample("test.csv")).read().splitlines()[:50]
    X, y = hash_records(lines, model=str(model))
    ref = next(iter(scored_batches([sample("test.csv")], str(model), {})))[0]
    assert (X != ref.X[:49]).nnz == 0 and X.shape == (49, 4096)
    np.testing.assert_array_equal(y, ref.labels[:49])
    X2, _ = hash_records(lines[1:], model=str(model), header=False)
    assert (X2 != X).nnz == 0
    with pytest.raises(Exception, match=r"^records:2: "):
        hash_records([lines[0], "x,y"], model=str(model))


# ---- continuing training in Keras ----------------------------------------------------------

@pytest.mark.parametrize("case", sorted(FIT_CASES))
@pytest.mark.parametrize("batch_size", [1, 8])
def test_keras_training_continues_as_init_model(keras, tmp_path, case, batch_size):
    """Export after 19 records, train on the next 21 in Keras with the loaded optimizer,
    import: the same checkpoint as ``ftrl train --init-model`` on those 21 records."""
    kwargs = FIT_CASES[case]
    loss = "squared" if case == "lr" and batch_size == 8 else "logistic"
    Xb, yb = split_data(tmp_path, loss)
    a, ab, out = tmp_path / "a.parquet", tmp_path / "ab.parquet", tmp_path / "a.keras"
    train(tmp_path / "a.libsvm", "-o", a, "-b", HASH_BITS, "--batch-size", batch_size,
          "--loss", loss, *cli_args(kwargs))
    export(a, out)
    train(tmp_path / "b.libsvm", "-o", ab, "--init-model", a, "--batch-size", batch_size)
    kmodel, dense = load_keras(keras, out)
    variables = [dense.kernel, dense.bias]
    assert variables == kmodel.trainable_variables
    keras_epoch(kmodel.optimizer, variables, Xb, yb, batch_size, loss=loss)
    want = checkpoint.load(str(ab))
    kernel, bias = want.serving_weights()
    np.testing.assert_allclose(dense.kernel.numpy().ravel(), kernel, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dense.bias.numpy(), [bias], rtol=0, atol=1e-10)
    kmodel.save(tmp_path / "trained.keras")
    r = ftrl("import-keras", tmp_path / "trained.keras", "-o", tmp_path / "back.parquet")
    one_line_error(r, "not written by ftrl export", "--features-from")  # Keras's save drops it
    r = ftrl("import-keras", tmp_path / "trained.keras", "-o", tmp_path / "back.parquet",
             "--features-from", out)
    assert r.code == 0, r.err
    got, got_meta = table_and_meta(tmp_path / "back.parquet")
    ref, ref_meta = table_and_meta(ab)
    assert got.column_names == ref.column_names
    assert got.column("index").equals(ref.column("index"))
    assert got.column("variable").equals(ref.column("variable"))
    for name in set(got.column_names) - {"variable", "index", "accumulating"}:
        np.testing.assert_allclose(got.column(name).to_numpy(), ref.column(name).to_numpy(),
                                   rtol=1e-12, atol=1e-10, err_msg=name)
    assert got_meta["counters"]["iterations"] == ref_meta["counters"]["iterations"]
    assert got_meta["features"] == ref_meta["features"]
    assert got_meta["optimizer"] == ref_meta["optimizer"]


@pytest.mark.parametrize("batch_size", [1, 8])
def test_sparse_records_where_idle_coordinates_stay(keras, tmp_path, batch_size):
    """On sparse vw records Keras also moves the coordinates a step does not touch, by
    nothing when the learning rate is constant and there is no shrinkage or weight decay:
    then Keras continues exactly as ``train --init-model``, whatever the data."""
    a, ab, out = tmp_path / "a.parquet", tmp_path / "ab.parquet", tmp_path / "a.keras"
    opts = ["--learning-rate", 0.1, "--l1", 0.1, "--l2", 0.05, "--beta", 1, "--clipnorm", 2,
            "--batch-size", batch_size]
    train(sample("train.vw"), "-o", a, "-b", 10, *opts)
    export(a, out)
    lines = open(sample("test.vw")).read().splitlines()[:200]
    (tmp_path / "more.vw").write_text("\n".join(lines) + "\n")
    train(tmp_path / "more.vw", "-o", ab, "--init-model", a, "--batch-size", batch_size)
    X, y = hash_records(lines, model=str(out))
    kmodel, dense = load_keras(keras, out)
    keras_epoch(kmodel.optimizer, kmodel.trainable_variables, X.toarray(), y, batch_size)
    kernel, bias = checkpoint.load(str(ab)).serving_weights()
    np.testing.assert_allclose(dense.kernel.numpy().ravel(), kernel, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dense.bias.numpy(), [bias], rtol=0, atol=1e-12)


@pytest.mark.skipif(not all(__import__("importlib").util.find_spec(m) for m in ("jax", "keras")),
                    reason="needs jax and keras")
def test_real_model_fit_on_jax(tmp_path):
    """The real ``model.fit`` (JAX backend, float64) on the loaded file."""
    cases = [("logistic", 1, {"learning_rate": SCHEDULES["cosine"], "l1": 0.01}),
             ("logistic", 8, {"learning_rate": 0.2, "beta": 0.5,
                              "gradient_accumulation_steps": 2}),
             ("squared", 8, {"learning_rate": 0.05, "l2": 0.1})]
    script = tmp_path / "fit.py"
    script.write_text(
        "import sys, numpy as np, keras\n"
        "keras.config.set_floatx('float64')\n"
        "for src, data, bs, out in zip(*[iter(sys.argv[1:])] * 4):\n"
        "    m = keras.models.load_model(src)\n"
        "    d = np.load(data)\n"
        "    m.fit(d['X'], d['y'], batch_size=int(bs), shuffle=False, verbose=0)\n"
        "    k = m.get_layer('dense')\n"
        "    np.save(out, np.r_[k.kernel.numpy().ravel(), k.bias.numpy()])\n")
    argv, wanted = [], []
    for i, (loss, batch_size, opts) in enumerate(cases):
        d = tmp_path / str(i)
        d.mkdir()
        Xb, yb = split_data(d, loss)
        np.savez(d / "b.npz", X=Xb, y=yb)
        flags = []
        for key, value in opts.items():
            flag = "--" + key.replace("_", "-")
            flags += [flag, json.dumps(value) if isinstance(value, dict) else value]
        train(d / "a.libsvm", "-o", d / "a.parquet", "-b", HASH_BITS, "--loss", loss,
              "--batch-size", batch_size, *flags)
        export(d / "a.parquet", d / "a.keras")
        train(d / "b.libsvm", "-o", d / "ab.parquet", "--init-model", d / "a.parquet",
              "--batch-size", batch_size)
        kernel, bias = checkpoint.load(str(d / "ab.parquet")).serving_weights()
        wanted.append(np.r_[kernel, bias])
        argv += [d / "a.keras", d / "b.npz", batch_size, d / "out.npy"]
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_ENABLE_X64": "1",
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, str(script), *map(str, argv)], env=env,
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for i, want in enumerate(wanted):
        np.testing.assert_allclose(np.load(tmp_path / str(i) / "out.npy"), want,
                                   rtol=0, atol=1e-10, err_msg=str(cases[i]))


# ---- round trip --------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [
    ["--learning-rate", 0.3, "--l1", 0.02, "--beta", 0.4, "--negative-sampling", 0.6],
    ["--learning-rate", json.dumps(SCHEDULES["exponential"]), "--gradient-accumulation-steps",
     3, "--l2-shrinkage", 0.01, "--no-bias"],
    ["--loss", "squared", "--learning-rate", 0.01, "--clipnorm", 0.5],
])
def test_round_trip_is_byte_identical(keras, tmp_path, extra):
    """ftrl -> keras -> ftrl: the same columns, byte for byte, and the same metadata."""
    model, out, back = tmp_path / "m.parquet", tmp_path / "m.keras", tmp_path / "back.parquet"
    train(sample("train.vw"), "-o", model, "-b", 8, *extra)
    export(model, out)
    r = ftrl("import-keras", out, "-o", back)
    assert r.code == 0, r.err
    assert r.err.startswith(f"wrote {back}: ")
    a, meta_a = table_and_meta(model)
    b, meta_b = table_and_meta(back)
    assert a.equals(b)
    assert a.column("variable").to_pylist() == b.column("variable").to_pylist()
    for name in set(a.column_names) - {"variable"}:
        assert a.column(name).to_numpy().tobytes() == b.column(name).to_numpy().tobytes()
    assert meta_a == meta_b
    # and a Keras user sees the model's loss and optimizer
    kmodel, _ = load_keras(keras, out)
    assert keras.optimizers.serialize(kmodel.optimizer)["config"] == meta_a["optimizer"][
        "config"]
    assert int(kmodel.optimizer._iterations.numpy()) == meta_a["counters"]["iterations"]


def test_export_stores_the_feature_spec(tmp_path):
    model, out = tmp_path / "m.parquet", tmp_path / "m.keras"
    train(sample("train.csv"), "-o", model, "-b", 6, "--numeric-columns", "I1")
    r = export(model, out)
    assert r.err == (f"wrote {out}: Dense(1) on 2**6 hashed features, loss "
                     "binary_crossentropy, Ftrl at iteration 1500\n")
    with zipfile.ZipFile(out) as z:
        assert {"config.json", "model.weights.h5", "ftrl.json"} <= set(z.namelist())
        entry = json.loads(z.read("ftrl.json"))
    assert entry["features"]["numeric_columns"] == ["I1"]
    assert entry["features"]["format"] == "csv" and "checksum" not in entry


# ---- a model made in Keras ---------------------------------------------------------------

def keras_made_model(keras, path, X, y, activation="sigmoid", optimizer=None):
    model = keras.Sequential([keras.Input(shape=(X.shape[1],)),
                              keras.layers.Dense(1, activation=activation)])
    opt = optimizer or keras.optimizers.Ftrl(learning_rate=0.3, l1_regularization_strength=0.01)
    model.compile(optimizer=opt, loss="binary_crossentropy")
    if isinstance(opt, keras.optimizers.Ftrl):
        opt.build(model.trainable_variables)
        keras_epoch(opt, model.trainable_variables, X, y, 4)
    model.save(path)
    return model


def test_import_a_keras_made_model(keras, tmp_path):
    """A Keras-native model with --format and -b: ftrl scores and trains on as Keras."""
    X, y = dense_data(n=30, seed=5)
    write_libsvm(tmp_path / "x.libsvm", X, y)
    path = tmp_path / "native.keras"
    kmodel = keras_made_model(keras, path, X[:20], y[:20])
    r = ftrl("import-keras", path, "-o", tmp_path / "m.parquet")
    one_line_error(r, "--features-from", "--format and the feature options")
    r = ftrl("import-keras", path, "-o", tmp_path / "m.parquet", "--format", "libsvm",
             "-b", 4)
    assert r.code == 2
    assert r.err == (f"ftrl: error: {path}: -b 4 does not match the model's input of "
                     "8 = 2**3 features\n")
    r = ftrl("import-keras", path, "-o", tmp_path / "m.parquet", "--format", "libsvm")
    assert r.code == 0, r.err
    want = kmodel.predict(X, verbose=0).ravel()
    got = np.concatenate([s for _, s in scored_batches([str(tmp_path / "x.libsvm")],
                                                       str(tmp_path / "m.parquet"), {})])
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    write_libsvm(tmp_path / "rest.libsvm", X[20:], y[20:])
    train(tmp_path / "rest.libsvm", "-o", tmp_path / "m2.parquet", "--init-model",
          tmp_path / "m.parquet", "--batch-size", 4)
    keras_epoch(kmodel.optimizer, kmodel.trainable_variables, X[20:], y[20:], 4)
    kernel, bias = checkpoint.load(str(tmp_path / "m2.parquet")).serving_weights()
    np.testing.assert_allclose(kmodel.trainable_variables[0].numpy().ravel(), kernel,
                               rtol=0, atol=1e-10)
    np.testing.assert_allclose(kmodel.trainable_variables[1].numpy(), [bias], atol=1e-10)


# ---- refusals ----------------------------------------------------------------------------

def one_line_error(r, *fragments):
    assert r.code == 2, r.err
    assert r.err.startswith("ftrl: error: ") and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err
    for fragment in fragments:
        assert fragment in r.err, r.err


def test_export_refusals(tmp_path):
    model = tmp_path / "m.parquet"
    train(sample("train.vw"), "-o", model, "-b", 4, "--use-ema")
    one_line_error(ftrl("export", model, "--keras", tmp_path / "m.keras"), "uses EMA")
    one_line_error(ftrl("export", model, "--keras", tmp_path / "m.h5"), "ends in .keras")
    (tmp_path / "junk.parquet").write_text("not parquet")
    one_line_error(ftrl("export", tmp_path / "junk.parquet", "--keras", tmp_path / "j.keras"),
                   "not a readable Parquet model")
    assert not (tmp_path / "m.keras").exists() and not (tmp_path / "j.keras").exists()
    r = ftrl("export", model)
    assert r.code == 2 and "--keras" in r.err


def test_import_refusals(keras, tmp_path):
    X, y = dense_data(n=8, seed=1)
    out = tmp_path / "m.parquet"
    (tmp_path / "text.keras").write_text("hello")
    one_line_error(ftrl("import-keras", tmp_path / "text.keras", "-o", out),
                   "not a Keras model file")
    one_line_error(ftrl("import-keras", tmp_path / "none.keras", "-o", out), "no such")
    keras_made_model(keras, tmp_path / "adam.keras", X, y,
                     optimizer=keras.optimizers.Adam())
    one_line_error(ftrl("import-keras", tmp_path / "adam.keras", "-o", out, "--format", "vw"),
                   "the optimizer is Adam, not Ftrl")
    keras_made_model(keras, tmp_path / "relu.keras", X, y, activation="relu")
    one_line_error(ftrl("import-keras", tmp_path / "relu.keras", "-o", out, "--format", "vw"),
                   "activation 'relu'")
    two = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(4),
                            keras.layers.Dense(1, activation="sigmoid")])
    two.compile(optimizer=keras.optimizers.Ftrl(), loss="binary_crossentropy")
    two.save(tmp_path / "two.keras")
    one_line_error(ftrl("import-keras", tmp_path / "two.keras", "-o", out, "--format", "vw"),
                   "not a Dense(1) on one input", "(Dense, Dense)")
    seven = keras.Sequential([keras.Input(shape=(7,)), keras.layers.Dense(1)])
    seven.compile(optimizer=keras.optimizers.Ftrl(), loss="mean_squared_error")
    seven.save(tmp_path / "seven.keras")
    one_line_error(ftrl("import-keras", tmp_path / "seven.keras", "-o", out, "--format", "vw"),
                   "not a power of 2")
    ema = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(1)])
    ema.compile(optimizer=keras.optimizers.Ftrl(use_ema=True), loss="mean_squared_error")
    ema.save(tmp_path / "ema.keras")
    one_line_error(ftrl("import-keras", tmp_path / "ema.keras", "-o", out, "--format", "vw"),
                   "uses EMA")
    mismatch = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(1)])
    mismatch.compile(optimizer=keras.optimizers.Ftrl(), loss="binary_crossentropy")
    mismatch.save(tmp_path / "mismatch.keras")
    one_line_error(ftrl("import-keras", tmp_path / "mismatch.keras", "-o", out, "--format",
                        "vw"), "compiled with loss 'binary_crossentropy'")
    assert not out.exists()


def test_keras_is_optional(tmp_path):
    """Without Keras: a one-line error that says how to install it; ``ftrl --help`` and
    the commands that do not need Keras never import it."""
    model = tmp_path / "m.parquet"
    train(sample("train.vw"), "-o", model, "-b", 4)
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['keras'] = None\n")
    env = {"PYTHONPATH": str(blocker)}
    r = ftrl_process("export", model, "--keras", tmp_path / "m.keras", env=env)
    assert r.code == 2
    assert r.err == ("ftrl: error: this command needs Keras 3: pip install "
                     "'ftrl-cli[keras]' (or pip install keras)\n")
    probe = ("import sys; from ftrl_cli.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print('keras' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=REPO)
    assert "export" in proc.stdout and "import-keras" in proc.stdout
    assert proc.stdout.rstrip().endswith("False")


def test_import_takes_the_write_lock(keras, tmp_path):
    """Like train, import-keras does not write a model another ftrl train is writing."""
    from ftrl_cli.writelock import output_lock

    model, out = tmp_path / "m.parquet", tmp_path / "m.keras"
    train(sample("train.vw"), "-o", model, "-b", 4)
    export(model, out)
    with output_lock(str(model)):
        r = ftrl("import-keras", out, "-o", model)
    assert r.code == 75 and "being written by process" in r.err
    assert ftrl("import-keras", out, "-o", model).code == 0
