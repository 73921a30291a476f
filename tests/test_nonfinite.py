"""Non-finite numbers never reach the weights silently: a learning rate of 0 is refused, an
update that would make a weight NaN or infinite stops training at its record (the old model
file untouched), and a model with such weights is refused by every command."""

import numpy as np
import pyarrow.parquet as pq
import pytest
from clirun import ftrl, sample
from ftrlref import ftrl_reference, to_csr

from ftrl_cli import FtrlClassifier
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.errors import FtrlError, NonFiniteError
from ftrl_cli.kernels import layout as L
from ftrl_cli.model import Model
from ftrl_cli.optimizer import Ftrl

HUGE_LINE = 13  # the record whose value makes its update overflow
N_LINES = 21


def _one_line(r, needle):
    assert r.code == 2, r
    msg = r.err.strip()
    assert len(msg.splitlines()) == 1, msg
    assert "Traceback" not in r.err
    assert needle in msg, msg
    return msg


def _data(tmp_path, huge_line=HUGE_LINE, n_lines=N_LINES):
    rows = []
    for i in range(1, n_lines + 1):
        # a new feature: its weight is 0, so the margin stays finite and the gradient's
        # square overflows in the update
        huge = " big:1e200" if i == huge_line else ""
        rows.append(f"{i % 2} |a f{i % 4}:{0.5 + (i % 3) * 0.25}{huge} g{i % 5} |b h\n")
    src = tmp_path / "train.vw"
    src.write_text("".join(rows))
    return src


# ---- learning rate 0 ----
def test_cli_refuses_learning_rate_zero_before_training(tmp_path):
    model = tmp_path / "m.parquet"
    r = ftrl("train", sample("train.vw"), "-o", model, "--quiet", "--learning-rate", "0")
    msg = _one_line(r, "--learning-rate: ")
    assert "learning_rate" in msg and "0" in msg
    assert not model.exists()


def test_optimizer_config_file_with_learning_rate_zero_is_refused(tmp_path):
    cfg = tmp_path / "opt.json"
    cfg.write_text('{"learning_rate": 0.0}')
    r = ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", "--quiet",
             "--optimizer-config", cfg)
    _one_line(r, "--learning-rate: ")


def test_model_and_estimator_refuse_learning_rate_zero():
    with pytest.raises(FtrlError, match="learning_rate"):
        Model(OptimizerConfig(learning_rate=0.0), 4)
    with pytest.raises(ValueError, match="^`learning_rate` must not be 0"):
        FtrlClassifier(learning_rate=0.0).fit(np.eye(2), np.array([0, 1]))


def test_keras_compatible_ftrl_keeps_accepting_learning_rate_zero(keras):
    # keras.optimizers.Ftrl accepts 0 (and lets it be set later); so does Ftrl, with the same
    # (NaN) result: it is a drop-in for Keras's optimizer, not a training tool.
    ours, theirs = np.array([1.0, 2.0]), keras.Variable(np.array([1.0, 2.0]), dtype="float64")
    opt = Ftrl(learning_rate=0.0)
    opt.apply([np.array([0.5, -0.5])], [ours])
    with np.errstate(all="ignore"):
        keras.optimizers.Ftrl(learning_rate=0.0).apply([np.array([0.5, -0.5])], [theirs])
    np.testing.assert_array_equal(ours, theirs.numpy())
    assert np.isnan(ours).all()
    opt.learning_rate = 0.1
    assert opt.learning_rate == pytest.approx(0.1)


# ---- the training guard ----
@pytest.mark.parametrize("batch_size", [1, 8])
def test_overflowing_update_stops_at_its_record_and_keeps_the_old_model(tmp_path, batch_size):
    src = _data(tmp_path)
    model = tmp_path / "m.parquet"
    assert ftrl("train", sample("train.vw"), "-o", model, "--quiet").code == 0
    before = model.read_bytes()
    r = ftrl("train", src, "-o", model, "--quiet", "--learning-rate", "0.5",
             "--batch-size", batch_size)
    # A step is applied after its last record: the 8-record step holding line 13 ends at 16.
    line = HUGE_LINE if batch_size == 1 else -(-HUGE_LINE // 8) * 8
    _one_line(r, f"{src}:{line}: the update made a weight non-finite (NaN or infinity); "
                 "lower the learning rate or check the values")
    assert model.read_bytes() == before
    # and not earlier: the records before the huge one train to a finite model
    head = tmp_path / "head.vw"
    head.write_text("".join(src.read_text().splitlines(keepends=True)[: HUGE_LINE - 1]))
    assert ftrl("train", head, "-o", tmp_path / "h.parquet", "--quiet", "--learning-rate", "0.5",
                "--batch-size", batch_size).code == 0


@pytest.mark.parametrize("batch_size", [1, 8])
def test_huge_learning_rate_stops_where_a_numpy_learner_does(batch_size):
    rng = np.random.default_rng(5)
    records = [[(int(j), float(rng.choice([1.0, 1e150])) if r > 20 else 1.0)
                for j in rng.integers(0, 16, size=3)] for r in range(200)]
    labels = rng.integers(0, 2, size=200).astype(float)
    *_, stopped = ftrl_reference(records, labels, 16, 1e300, batch_size)
    assert stopped is not None and stopped > 20
    m = Model(OptimizerConfig(learning_rate=1e300), 4)
    with pytest.raises(NonFiniteError) as e:
        m.train_csr(*to_csr(records), labels, batch_size=batch_size)
    assert e.value.row == stopped


def test_end_of_pass_step_is_reported_at_the_last_record(tmp_path):
    src = _data(tmp_path, huge_line=19, n_lines=N_LINES)
    r = ftrl("train", src, "-o", tmp_path / "m.parquet", "--quiet", "--batch-size", "8")
    _one_line(r, f"{src}:{N_LINES}: the update made a weight non-finite")
    assert not (tmp_path / "m.parquet").exists()


def test_moving_average_is_guarded(tmp_path):
    src = _data(tmp_path)
    r = ftrl("train", src, "-o", tmp_path / "m.parquet", "--quiet", "--use-ema")
    _one_line(r, f"{src}:{HUGE_LINE}: the update made a weight non-finite")


@pytest.mark.parametrize("batch_size", [1, 3])
def test_model_raises_at_the_row_whose_margin_is_not_finite(batch_size):
    m = Model(OptimizerConfig(learning_rate=0.1), 4)
    m.state[5, L.W] = 1.0
    m.state[5, L.T] = 1.0
    # row 2: the same feature twice, 1e308 each: the margin overflows to infinity
    indptr, indices, data = to_csr([[(1, 1.0)], [(2, 1.0)], [(5, 1e308), (5, 1e308)], [(3, 1.0)]])
    with pytest.raises(NonFiniteError, match="^row 2: the margin is not finite") as e:
        m.train_csr(indptr, indices, data, np.ones(4), batch_size=batch_size)
    assert e.value.row == 2
    assert isinstance(e.value, ValueError)


def test_model_raises_at_the_row_whose_update_overflows_float32_state():
    # 1e300 fits a float64 but not the float32 state the weight is stored in
    m = Model(OptimizerConfig(learning_rate=1e300), 4, dtype=np.float32)
    indptr, indices, data = to_csr([[(1, 1.0)], [(2, 1.0)]])
    with pytest.raises(NonFiniteError, match="^row 0: the update made a weight non-finite"):
        m.train_csr(indptr, indices, data, np.ones(2))
    ok = Model(OptimizerConfig(learning_rate=1e300), 4)
    ok.train_csr(indptr, indices, data, np.ones(2))
    assert np.isfinite(ok.state[:, L.W]).all()


def test_callable_learning_rate_reaching_zero_is_caught_at_its_step():
    rates = iter([0.1, 0.1, 0.0, 0.1])
    m = Model(OptimizerConfig(learning_rate=lambda: next(rates)), 4)
    indptr, indices, data = to_csr([[(1, 1.0)]] * 4)
    with pytest.raises(NonFiniteError) as e:
        m.train_csr(indptr, indices, data, np.ones(4))
    assert e.value.row == 2


def test_schedule_reaching_zero_is_caught(tmp_path):
    src = _data(tmp_path, huge_line=0)
    schedule = ('{"class_name": "PiecewiseConstantDecay", "config": '
                '{"boundaries": [4], "values": [0.1, 0.0]}}')
    r = ftrl("train", src, "-o", tmp_path / "m.parquet", "--quiet", "--learning-rate", schedule)
    # iteration 4 (0-based) is the fifth record: the first step at the rate 0
    _one_line(r, f"{src}:6: the ")


def test_estimator_raises_a_clear_value_error():
    X = np.array([[1.0, 0.0], [0.0, 1e200], [1.0, 1.0]])
    with pytest.raises(ValueError, match="^row 1: the update made a weight non-finite"):
        FtrlClassifier(learning_rate=0.1).fit(X, np.array([0, 1, 0]))


# ---- models with non-finite weights ----
def _nan_model(tmp_path, column="weight", count=2):
    path = tmp_path / "nan.parquet"
    r = ftrl("train", sample("train.vw"), "-o", path, "--quiet", "--learning-rate", "0.1")
    assert r.code == 0
    f = pq.ParquetFile(path)
    table = f.read()
    values = table.column(column).to_numpy().copy()
    values[:count] = np.nan
    table = table.set_column(table.column_names.index(column), column, [values])
    table = table.replace_schema_metadata(f.schema_arrow.metadata)
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize("command", ["predict", "evaluate", "init-model"])
def test_model_with_nan_weights_is_refused(tmp_path, command):
    path = _nan_model(tmp_path)
    if command == "init-model":
        out = tmp_path / "out.parquet"
        r = ftrl("train", sample("train.vw"), "-o", out, "--quiet", "--init-model", path)
        assert not out.exists()
    else:
        r = ftrl(command, "-m", path, sample("test.vw"))
        assert r.out == ""
    _one_line(r, f"{path}: model has 2 non-finite weights; it cannot be used")


def test_model_with_nan_optimizer_slots_cannot_be_continued(tmp_path):
    path = _nan_model(tmp_path, column="accumulator", count=3)
    r = ftrl("train", sample("train.vw"), "-o", tmp_path / "o.parquet", "--quiet",
             "--init-model", path)
    _one_line(r, f"{path}: model has 3 non-finite optimizer slot values; it cannot be used")
    assert ftrl("predict", "-m", path, sample("test.vw")).code == 0  # its weights are fine


# ---- evaluate never shows a traceback ----
def test_evaluate_nan_prediction_names_the_record(tmp_path):
    model = tmp_path / "m.parquet"
    src = tmp_path / "t.vw"
    src.write_text("1 |a x\n0 |a y\n" * 5)
    r = ftrl("train", src, "-o", model, "--quiet", "--learning-rate", "10", "--no-bias")
    assert r.code == 0
    big = tmp_path / "big.vw"
    # x's and y's weights are large and of opposite signs: x's product overflows to +inf,
    # y's to -inf, and the margin is their sum, NaN
    w = pq.read_table(model).column("weight").to_numpy()
    assert np.isfinite(w).all() and len(w) == 2 and w.min() < -2 and w.max() > 2
    big.write_text("1 |a x\n0 |a x:1e308 y:1e308\n")
    r = ftrl("evaluate", "-m", model, big)
    _one_line(r, f"{big}:2: the margin is NaN")


def test_evaluate_metric_errors_are_one_line(tmp_path):
    src = tmp_path / "t.vw"
    src.write_text("1 0 |a x\n0 0 |a y\n")  # importance weights that sum to zero
    preds = tmp_path / "p.txt"
    preds.write_text("0.5\n0.5\n")
    r = ftrl("evaluate", "--predictions", preds, src)
    _one_line(r, "cannot evaluate: weights sum to zero")
