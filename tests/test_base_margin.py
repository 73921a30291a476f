"""Base margins (Vowpal Wabbit's initial prediction): a record's margin is
``base + w.x + bias``, in scoring and in training, and its gradient is that of the loss there."""

import numpy as np
import pytest
from ftrlref import ftrl_reference, to_csr

from ftrl_cli import checkpoint
from ftrl_cli.commands import predict as predict_cmd
from ftrl_cli.commands import train as train_cmd
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.kernels.predict import margins, probabilities, score
from ftrl_cli.model import Model
from ftrl_cli.progress import Progress
from ftrl_cli.readers.base import Batch, FeatureSpec, scored

N_FEATURES = 16


def _records(n=300, seed=0):
    rng = np.random.default_rng(seed)
    records = [[(int(j), float(v)) for j, v in zip(rng.integers(0, N_FEATURES, size=k),
                                                    rng.uniform(-1.5, 1.5, size=k))]
               for k in rng.integers(0, 5, size=n)]
    labels = (rng.random(n) < 0.3).astype(float)
    base = rng.normal(0.0, 2.0, size=n)
    return records, labels, base


def test_score_adds_each_records_base_to_its_margin():
    records, _, base = _records()
    indptr, indices, data = to_csr(records)
    w = np.random.default_rng(1).normal(size=N_FEATURES)
    plain = margins(indptr, indices, data, w, 0.3)
    np.testing.assert_array_equal(score(indptr, indices, data, w, 0.3, base=base),
                                  probabilities(plain + base))
    np.testing.assert_array_equal(score(indptr, indices, data, w, 0.3, False, base),
                                  plain + base)
    assert not np.array_equal(score(indptr, indices, data, w, 0.3), probabilities(plain + base))


@pytest.mark.parametrize("batch_size", [1, 7])
def test_training_with_base_matches_a_numpy_ftrl_with_offset(batch_size):
    records, labels, base = _records()
    kernel, bias, preds, stopped = ftrl_reference(records, labels, N_FEATURES, 0.2, batch_size,
                                                  base)
    assert stopped is None
    m = Model(OptimizerConfig(learning_rate=0.2), 4)
    got = m.train_csr(*to_csr(records), labels, batch_size=batch_size, base=base)
    m.flush()
    w, b = m.serving_weights()
    np.testing.assert_allclose(got, preds, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w, kernel, rtol=0, atol=1e-12)
    assert b == pytest.approx(bias, abs=1e-12)
    without = Model(OptimizerConfig(learning_rate=0.2), 4)
    without.train_csr(*to_csr(records), labels, batch_size=batch_size)
    without.flush()
    assert np.abs(without.serving_weights()[0] - w).max() > 1e-3


def test_base_is_kept_with_a_python_callable_learning_rate():
    records, labels, base = _records(50)
    kernel, *_ = ftrl_reference(records, labels, N_FEATURES, 0.2, 1, base)
    m = Model(OptimizerConfig(learning_rate=lambda: 0.2), 4)
    m.train_csr(*to_csr(records), labels, base=base)
    np.testing.assert_allclose(m.serving_weights()[0], kernel, rtol=0, atol=1e-12)


def test_base_of_the_wrong_length_is_refused():
    records, labels, base = _records(10)
    with pytest.raises(ValueError, match="base"):
        Model(OptimizerConfig(learning_rate=0.2), 4).train_csr(*to_csr(records), labels,
                                                                base=base[:-1])


def _batch(records, labels, base):
    indptr, indices, data = to_csr(records)
    return Batch(indptr, indices, data, N_FEATURES, labels, np.ones(len(labels)),
                 np.arange(1, len(labels) + 1), "x.vw", base=base)


def test_train_and_predict_commands_use_the_batches_base(monkeypatch, tmp_path):
    records, labels, base = _records()
    halves = [(records[:150], labels[:150], base[:150]), (records[150:], labels[150:], None)]

    def read_batches(_inputs, _spec, workers=1, score=None, on_open=None):
        return scored((_batch(*h) for h in halves), score)

    monkeypatch.setattr(train_cmd, "read_batches", read_batches)
    m = Model(OptimizerConfig(learning_rate=0.2), 4)
    train_cmd.train_pass(m, ["x.vw"], None, 1, Progress(None), reader_thread=False)
    offsets = np.concatenate([base[:150], np.zeros(150)])
    kernel, bias, *_ = ftrl_reference(records, labels, N_FEATURES, 0.2, 1, offsets)
    w, b = m.serving_weights()
    np.testing.assert_allclose(w, kernel, rtol=0, atol=1e-12)

    model_path = tmp_path / "m.parquet"
    checkpoint.save(m, FeatureSpec("vw", hash_bits=4), str(model_path))
    src = tmp_path / "x.vw"
    src.write_text("")
    monkeypatch.setattr(predict_cmd, "read_batches", read_batches)
    (first, p1), (second, p2) = predict_cmd.scored_batches([str(src)], str(model_path),
                                                              {"format": "vw"})
    assert first.base is not None and second.base is None
    plain = margins(*to_csr(records), w, b)
    np.testing.assert_array_equal(np.concatenate([p1, p2]), probabilities(plain + offsets))


def test_score_refuses_a_base_of_the_wrong_length():
    with pytest.raises(ValueError, match="base"):
        score(np.array([0, 0, 0]), np.zeros(0, np.int32), np.zeros(0), np.ones(4), 0.0,
              base=np.zeros(3))


def test_vw_base_reaches_training_and_scoring_through_the_cli(tmp_path):
    from clirun import ftrl

    rng = np.random.default_rng(3)
    lines = [f"{int(rng.random() < 0.3)} |f a{rng.integers(6)} b{rng.integers(6)}"
             for _ in range(400)]
    plain, based = tmp_path / "plain.vw", tmp_path / "based.vw"
    bases = rng.normal(0.0, 1.0, size=len(lines))
    plain.write_text("\n".join(lines) + "\n")
    # "label importance base": the same records, each with its own base margin
    based.write_text("\n".join(f"{ln[0]} 1 {b:.17g} {ln[2:]}" for ln, b in zip(lines, bases))
                     + "\n")
    models = {}
    for name, data in (("plain", plain), ("based", based)):
        models[name] = tmp_path / f"{name}.parquet"
        r = ftrl("train", data, "-o", models[name], "--quiet", "-b", "12",
                 "--learning-rate", "0.2")
        assert r.code == 0, r.err
    # the learner saw the base: the weights differ
    w_plain, _ = checkpoint.load(str(models["plain"])).serving_weights()
    w_based, _ = checkpoint.load(str(models["based"])).serving_weights()
    assert not np.allclose(w_plain, w_based)
    # scoring adds it to the margin of each record
    raw_plain = ftrl("predict", "-m", models["based"], plain, "--raw")
    raw_based = ftrl("predict", "-m", models["based"], based, "--raw")
    assert raw_plain.code == raw_based.code == 0
    got = np.array(raw_based.out.split(), float) - np.array(raw_plain.out.split(), float)
    np.testing.assert_allclose(got, bases, atol=1e-8)
