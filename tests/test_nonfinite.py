"""Non-finite numbers never reach the weights silently: a learning rate of 0 is refused, an
update that would make a weight NaN or infinite stops training at its record (the old model
file untouched), and a model with such weights is refused by every command."""

import numpy as np
import pytest
from clirun import ftrl, sample

from ftrl_cli import FtrlClassifier
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.errors import FtrlError
from ftrl_cli.model import Model
from ftrl_cli.optimizer import Ftrl


def _one_line(r, needle):
    assert r.code == 2, r
    msg = r.err.strip()
    assert len(msg.splitlines()) == 1, msg
    assert "Traceback" not in r.err
    assert needle in msg, msg
    return msg


# ---- learning rate 0 ----
def test_cli_refuses_learning_rate_zero_before_training(tmp_path):
    model = tmp_path / "m.parquet"
    r = ftrl("train", sample("train.vw"), "-o", model, "-q", "--learning-rate", "0")
    msg = _one_line(r, "--learning-rate: ")
    assert "learning_rate" in msg and "0" in msg
    assert not model.exists()


def test_optimizer_config_file_with_learning_rate_zero_is_refused(tmp_path):
    cfg = tmp_path / "opt.json"
    cfg.write_text('{"learning_rate": 0.0}')
    r = ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", "-q",
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
