"""``ftrl train --loss squared`` end to end: numeric labels in every format, predictions that
are margins, regression metrics, the progressive table's squared loss, warm starts, and the
non-finite guard."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from clirun import ftrl
from ftrlref import ftrl_reference, to_csr

from ftrl_cli.config import OptimizerConfig
from ftrl_cli.errors import NonFiniteError
from ftrl_cli.hashing import feature_index
from ftrl_cli.losses import SQUARED
from ftrl_cli.model import Model
from ftrl_cli.readers import read_batches
from ftrl_cli.readers.base import FeatureSpec

BITS = 10


def regression_vw(path, n=300, seed=0):
    """A vw file with numeric labels (both signs, -1 among them) and importance weights."""
    truth = np.random.default_rng(99).normal(0.0, 1.5, size=12)  # one truth for every file
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        feats = rng.choice(12, size=3, replace=False)
        vals = rng.uniform(0.5, 1.5, size=3)
        y = 2.0 + float(truth[feats] @ vals) + rng.normal(0.0, 0.3)
        label = "-1" if i % 50 == 7 else f"{y:.4f}"
        imp = f" {rng.uniform(0.5, 2.0):.3f}" if i % 3 == 0 else ""
        lines.append(f"{label}{imp} |x " + " ".join(f"f{j}:{v:.3f}" for j, v in zip(feats, vals)))
    path.write_text("\n".join(lines) + "\n")
    return path


def labels_and_weights(path):
    ys, ws = [], []
    for line in path.read_text().splitlines():
        head = line.split("|")[0].split()
        ys.append(float(head[0]))
        ws.append(float(head[1]) if len(head) > 1 else 1.0)
    return np.array(ys), np.array(ws)


def train(tmp_path, src, *args, out="m.parquet"):
    model = tmp_path / out
    r = ftrl("train", src, "-o", model, "-b", BITS, "--learning-rate", "0.3", *args)
    assert r.code == 0, r.err
    return model, r


def one_line(r, needle):
    assert r.code == 2, r
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, r.err
    assert needle in r.err, r.err


# ---- labels ----
@pytest.mark.parametrize("fmt,text", [
    ("vw", "-1 |x a\n2.5 2 |x b\n1e-30 |x c\n0 |x d\n-3.14159265358979323846264338 |x e\n"),
    ("libsvm", "-1 1\n2.5 2\n1e-30 3\n0 4\n-3.14159265358979323846264338 5\n"),
    ("csv", "x,label\na,-1\nb,2.5\nc,1e-30\nd,FALSE\ne,-3.14159265358979323846264338\n"),
])
def test_numeric_labels_are_read_as_written(tmp_path, fmt, text):
    src = tmp_path / f"d.{fmt}"
    src.write_text(text)
    want = [-1.0, 2.5, 1e-30, 0.0, float("-3.14159265358979323846264338")]
    for workers in (1, 2):
        spec = FeatureSpec(fmt, hash_bits=BITS, numeric_labels=True)
        got = np.concatenate([b.labels for b in read_batches([str(src)], spec, workers=workers)])
        assert got.tolist() == want
    classes = FeatureSpec(fmt, hash_bits=BITS)
    with pytest.raises(Exception, match="bad label '2.5'"):
        list(read_batches([str(src)], classes))
    if fmt == "vw":
        weights = next(read_batches([str(src)], spec)).weights
        assert weights.tolist() == [1.0, 2.0, 1.0, 1.0, 1.0]


def test_true_and_false_are_one_and_zero(tmp_path):
    src = tmp_path / "d.csv"
    src.write_text("x,label\na,true\nb,False\n")
    spec = FeatureSpec("csv", hash_bits=BITS, numeric_labels=True)
    assert next(read_batches([str(src)], spec)).labels.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("fmt,text,line,bad", [
    ("vw", "1.5 |x a\nabc |x b\n", 2, "abc"),
    ("vw", "1.5 |x a\n1e999 |x b\n", 2, "1e999"),
    ("libsvm", "1.5 1\nnan 2\n", 2, "nan"),
    ("csv", "x,label\na,1.5\nb,x1\n", 3, "x1"),
])
def test_bad_number_label_is_one_line(tmp_path, fmt, text, line, bad):
    src = tmp_path / f"d.{fmt}"
    src.write_text(text)
    model = tmp_path / "m.parquet"
    r = ftrl("train", src, "-o", model, "--loss", "squared", "--quiet")
    one_line(r, f"{src}:{line}:")
    assert f"bad label '{bad}' (expected a number" in r.err
    assert not model.exists()


def test_minus_one_is_not_zero_with_squared_loss(tmp_path):
    minus, zero = tmp_path / "minus.vw", tmp_path / "zero.vw"
    minus.write_text("-1 |x a\n" * 5)
    zero.write_text("0 |x a\n" * 5)
    for loss, same in (("logistic", True), ("squared", False)):
        a, _ = train(tmp_path, minus, "--loss", loss, "--quiet", out=f"a{loss}.parquet")
        b, _ = train(tmp_path, zero, "--loss", loss, "--quiet", out=f"b{loss}.parquet")
        wa, wb = pq.read_table(a).column("weight"), pq.read_table(b).column("weight")
        assert (wa.to_pylist() == wb.to_pylist()) == same


# ---- predict and evaluate ----
@pytest.fixture()
def model(tmp_path):
    src = regression_vw(tmp_path / "train.vw")
    m, _ = train(tmp_path, src, "--loss", "squared", "--quiet")
    return m, regression_vw(tmp_path / "test.vw", n=120, seed=1)


def test_predict_prints_the_margin(tmp_path, model):
    m, _ = model
    table = pq.read_table(m).to_pydict()
    weights = {(v, i): w for v, i, w in zip(table["variable"], table["index"], table["weight"])}
    probe = tmp_path / "probe.vw"
    probe.write_text("|x f1:2 f5:-0.5\n'tag7 |x f3\n")
    expected = [weights[("bias", 0)] + 2 * weights[("kernel", feature_index("x", "f1", BITS))]
                - 0.5 * weights[("kernel", feature_index("x", "f5", BITS))],
                weights[("bias", 0)] + weights[("kernel", feature_index("x", "f3", BITS))]]
    out = ftrl("predict", "-m", m, probe)
    raw = ftrl("predict", "-m", m, probe, "--raw")
    assert out.code == 0, out.err
    assert out.out == raw.out
    lines = out.out.splitlines()
    assert lines[1].startswith("tag7 ")
    got = [float(line.split()[-1]) for line in lines]
    np.testing.assert_allclose(got, expected, rtol=1e-8)
    assert max(abs(v) for v in got) > 1.0  # not squeezed into a probability


def test_evaluate_reports_weighted_rmse_mae_r2(tmp_path, model):
    m, test = model
    preds = np.array([float(v) for v in ftrl("predict", "-m", m, test).out.split()])
    y, w = labels_and_weights(test)
    err = y - preds
    mean_y = np.sum(w * y) / np.sum(w)
    want = {"count": len(y),
            "rmse": np.sqrt(np.sum(w * err**2) / np.sum(w)),
            "mae": np.sum(w * np.abs(err)) / np.sum(w),
            "r2": 1 - np.sum(w * err**2) / np.sum(w * (y - mean_y) ** 2),
            "mean_prediction": np.sum(w * preds) / np.sum(w),
            "mean_label": mean_y}
    r = ftrl("evaluate", "-m", m, test, "--json")
    assert r.code == 0, r.err
    got = json.loads(r.out)
    assert list(got) == list(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-8), key  # predictions print 9 digits
    assert 0.5 < got["r2"] < 1.0
    text = ftrl("evaluate", "-m", m, test).out.splitlines()
    assert [line.split()[0] for line in text] == ["count", "rmse", "mae", "r2", "mean", "mean"]
    assert float(text[3].split()[1]) == pytest.approx(got["r2"], abs=1e-6)


def test_model_without_a_recorded_loss_is_logistic(tmp_path):
    src = tmp_path / "d.vw"
    src.write_text("1 |x a\n0 |x b\n1 |x a b\n")
    m, _ = train(tmp_path, src, "--quiet")
    before = ftrl("predict", "-m", m, src).out
    table = pq.read_table(m)
    meta = json.loads(table.schema.metadata[b"ftrl"])
    assert meta["model"]["loss"] == "binary_crossentropy"
    del meta["model"]["loss"], meta["model"]["layer"]
    pq.write_table(table.replace_schema_metadata({b"ftrl": json.dumps(meta).encode()}), m)
    after = ftrl("predict", "-m", m, src).out
    assert after == before and all(0 < float(v) < 1 for v in after.split())
    r = ftrl("train", src, "-o", tmp_path / "n.parquet", "--init-model", m, "--loss",
             "squared", "--quiet")
    one_line(r, "trained with --loss logistic; it cannot continue with --loss squared")


# ---- training ----
def test_progressive_table_shows_squared_loss(tmp_path):
    src = regression_vw(tmp_path / "train.vw", n=100)
    _, r = train(tmp_path, src, "--loss", "squared")
    y, w = labels_and_weights(src)
    spec = FeatureSpec("vw", hash_bits=BITS, hash_mode="strings", numeric_labels=True)
    batch = next(read_batches([str(src)], spec))
    ref = Model(OptimizerConfig(learning_rate=0.3), BITS, loss=SQUARED)
    preds = ref.train_csr(batch.indptr, batch.indices, batch.data, batch.labels, batch.weights)
    average = np.sum(w * (y - preds) ** 2) / np.sum(w)
    line = next(x for x in r.err.splitlines() if x.startswith("average loss = "))
    assert float(line.split("= ")[1]) == pytest.approx(average, abs=1e-6)
    first = r.err.splitlines()[2].split()  # the first record: predicted 0, before any step
    assert float(first[0]) == pytest.approx(y[0] ** 2, abs=1e-6)


def test_warm_start_with_another_loss_is_refused(tmp_path, model):
    m, test = model
    before = m.read_bytes()
    r = ftrl("train", test, "-o", m, "--init-model", m, "--loss", "logistic", "--quiet")
    one_line(r, f"{m}: the model was trained with --loss squared; it cannot continue with "
                "--loss logistic")
    assert m.read_bytes() == before
    ok = ftrl("train", test, "-o", m, "--init-model", m, "--loss", "squared", "--quiet")
    assert ok.code == 0, ok.err


@pytest.mark.parametrize("batch_size", [1, 8])
def test_huge_learning_rate_stops_where_a_numpy_learner_does(batch_size):
    rng = np.random.default_rng(2)
    records = [[(int(j), float(rng.uniform(0.5, 1.5))) for j in rng.integers(0, 16, size=3)]
               for _ in range(200)]
    labels = rng.normal(0.0, 3.0, size=200)
    *_, stopped = ftrl_reference(records, labels, 16, 1e200, batch_size, squared=True)
    assert stopped is not None
    m = Model(OptimizerConfig(learning_rate=1e200), 4, loss=SQUARED)
    with pytest.raises(NonFiniteError) as e:
        m.train_csr(*to_csr(records), labels, batch_size=batch_size)
    assert e.value.row == stopped
    # the same learning rate never stops the logistic loss, whose gradient is bounded
    logistic = Model(OptimizerConfig(learning_rate=1e200), 4)
    logistic.train_csr(*to_csr(records), (labels > 0).astype(float), batch_size=batch_size)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_divergence_stops_with_one_line_and_keeps_the_old_model(tmp_path, model, batch_size):
    m, test = model
    before = m.read_bytes()
    r = ftrl("train", test, "-o", m, "--loss", "squared", "--quiet", "-b", BITS,
             "--learning-rate", "1e200", "--batch-size", batch_size)
    one_line(r, "the update made a weight non-finite (NaN or infinity); lower the learning "
                "rate or check the values")
    assert r.err.startswith(f"ftrl: error: {test}:")
    assert m.read_bytes() == before
