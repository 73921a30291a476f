"""Checkpoints: schema, metadata, round trip, warm start, atomic writes."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from clirun import ftrl, sample

from ftrl_cli import checkpoint
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.kernels import layout as L
from ftrl_cli.model import Model
from ftrl_cli.readers.base import FeatureSpec


def split_file(src, a, b, n_first):
    lines = open(src, encoding="utf-8").read().splitlines(keepends=True)
    a.write_text("".join(lines[:n_first]))
    b.write_text("".join(lines[n_first:]))


def test_schema_and_metadata(tmp_path):
    path = tmp_path / "m.parquet"
    r = ftrl("train", sample("train.vw"), "-o", path, "--quiet", "-b", "18", "--learning-rate",
             "0.05", "--l1", "0.5", "--name", "ctr")
    assert r.code == 0, r.err
    table = pq.read_table(path)
    assert table.column_names[:5] == ["variable", "index", "weight", "linear", "accumulator"]
    assert str(table.schema.field("index").type) == "int64"
    for name in ("weight", "linear", "accumulator"):
        assert str(table.schema.field(name).type) == "double"
    cols = table.to_pydict()
    assert cols["variable"].count("bias") == 1
    assert set(cols["variable"]) == {"kernel", "bias"}
    assert max(cols["index"]) < 2**18
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    meta = json.loads(table.schema.metadata[b"ftrl"])
    assert meta["format_version"] == 1
    cfg = meta["optimizer"]["config"]
    assert cfg["learning_rate"] == 0.05 and cfg["l1_regularization_strength"] == 0.5
    assert cfg["name"] == "ctr"
    assert meta["optimizer"]["class_name"] == "Ftrl"
    assert meta["features"]["hash_bits"] == 18
    assert meta["counters"] == {"iterations": 1500, "examples": 1500}
    # L1 makes many weights exactly zero while their slots stay.
    assert sum(w == 0.0 for w in cols["weight"]) > 0


def test_round_trip_restores_the_state_exactly(tmp_path):
    rng = np.random.default_rng(3)
    import scipy.sparse as sp

    X = sp.random(200, 64, density=0.1, random_state=4, format="csr")
    y = (rng.random(200) < 0.3).astype(float)
    cfg = OptimizerConfig(learning_rate=0.1, use_ema=True, gradient_accumulation_steps=3)
    model = Model(cfg, 6)
    model.train(X, y, batch_size=2)
    spec = FeatureSpec(format="libsvm", hash_bits=6)
    checkpoint.save(model, spec, str(tmp_path / "m.parquet"))
    back = checkpoint.restore(checkpoint.load(str(tmp_path / "m.parquet")), cfg)
    model.sync()
    touched = model.touched
    # Every optimizer column; the stamp column (duplicate-feature bookkeeping) is not saved.
    keep = [c for c in range(model.state.shape[1]) if c != L.T]
    np.testing.assert_array_equal(back.state[touched][:, keep], model.state[touched][:, keep])
    assert back.iterations == model.iterations and back.examples == model.examples
    np.testing.assert_array_equal(back.touched, model.touched)


def test_warm_start_equals_one_run_exactly(tmp_path):
    a, b = tmp_path / "a.vw", tmp_path / "b.vw"
    split_file(sample("train.vw"), a, b, 700)
    args = ["--quiet", "-b", "18", "--learning-rate", "0.1", "--l1", "0.1", "--beta", "1.0"]
    assert ftrl("train", a, "-o", tmp_path / "ma.parquet", *args).code == 0
    r = ftrl("train", b, "--init-model", tmp_path / "ma.parquet", "-o", tmp_path / "mab.parquet",
             *args)
    assert r.code == 0, r.err
    assert ftrl("train", a, b, "-o", tmp_path / "one.parquet", *args).code == 0
    t1, t2 = pq.read_table(tmp_path / "mab.parquet"), pq.read_table(tmp_path / "one.parquet")
    assert t1.select(["variable", "index", "weight", "linear", "accumulator"]).equals(
        t2.select(["variable", "index", "weight", "linear", "accumulator"]))
    m1 = json.loads(t1.schema.metadata[b"ftrl"])
    assert m1["counters"] == {"iterations": 1500, "examples": 1500}


def test_warm_start_keeps_the_models_settings(tmp_path):
    assert ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", "--quiet", "-b", "17",
                "--learning-rate", "0.2", "--beta", "0.5").code == 0
    r = ftrl("train", sample("test.vw"), "--init-model", tmp_path / "m.parquet", "-o",
             tmp_path / "m2.parquet", "--quiet", "--l1", "0.01")
    assert r.code == 0, r.err
    meta = json.loads(pq.read_table(tmp_path / "m2.parquet").schema.metadata[b"ftrl"])
    cfg = meta["optimizer"]["config"]
    assert (cfg["learning_rate"], cfg["beta"], cfg["l1_regularization_strength"]) == (
        0.2, 0.5, 0.01)
    assert meta["features"]["hash_bits"] == 17


def test_warm_start_refuses_other_hashing(tmp_path):
    assert ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", "--quiet",
                "-b", "18").code == 0
    r = ftrl("train", sample("train.vw"), "--init-model", tmp_path / "m.parquet", "-o",
             tmp_path / "m2.parquet", "--quiet", "-b", "20")
    assert r.code == 2
    assert "hash_bits" in r.err and "18" in r.err and "20" in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "m2.parquet").exists()


def test_failed_save_leaves_old_model_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.parquet"
    assert ftrl("train", sample("train.vw"), "-o", path, "--quiet", "-b", "16").code == 0
    before = path.read_bytes()
    import pyarrow.parquet as pqmod

    def boom(*args, **kwargs):
        raise OSError("disk full")

    # the disk fills up while the table is being written
    monkeypatch.setattr(pqmod.ParquetWriter, "write_table", boom)
    model = Model(OptimizerConfig(), 16)
    with pytest.raises(OSError):
        checkpoint.save(model, FeatureSpec(format="vw", hash_bits=16), str(path))
    assert path.read_bytes() == before
    # no temporary file; the train run's lock file stays by design
    assert sorted(p.name for p in tmp_path.iterdir()) == [".m.parquet.lock", "m.parquet"]


def test_reads_with_plain_pyarrow_and_gives_served_weights(tmp_path):
    path = tmp_path / "m.parquet"
    assert ftrl("train", sample("train.libsvm"), "-o", path, "--quiet", "-b", "18",
                "--learning-rate", "0.1").code == 0
    table = pq.read_table(path)
    # plain Parquet types: any reader sees strings, integers and doubles
    assert [str(f.type) for f in table.schema] == [
        "string", "int64", "double", "double", "double"]
    assert json.loads(table.schema.metadata[b"ftrl"])["format_version"] == 1
    t = table.to_pydict()
    w = np.zeros(2**18)
    bias = 0.0
    for var, idx, weight in zip(t["variable"], t["index"], t["weight"]):
        if var == "bias":
            bias = weight
        else:
            w[idx] = weight
    # Score the first test record by hand from the file and compare with the CLI.
    first = open(sample("test.libsvm")).readline().split()
    margin = bias + sum(w[int(f.split(":")[0]) % 2**18] * float(f.split(":")[1] if ":" in f
                                                                 else 1.0) for f in first[1:])
    r = ftrl("predict", "-m", path, sample("test.libsvm"), "--raw")
    # Predictions are printed with 9 significant digits.
    assert float(r.out.splitlines()[0]) == pytest.approx(margin, rel=1e-8)


def test_reader_thread_gives_identical_checkpoints(tmp_path):
    # Parsing in other threads (two parse workers, a reader thread) must not change a single
    # bit of the model; the input spans several of the parallel reader's blocks.
    from ftrl_cli.readers._parse_driver import CHUNK_BYTES

    data = tmp_path / "many.vw"
    text = open(sample("train.vw")).read()
    data.write_text(text * (2 * CHUNK_BYTES // len(text) + 2))
    assert data.stat().st_size > 2 * CHUNK_BYTES
    args = ["--quiet", "-b", "18", "--learning-rate", "0.1", "--batch-size", "3"]
    assert ftrl("train", data, "-o", tmp_path / "a.parquet", *args).code == 0
    assert ftrl("train", data, "-o", tmp_path / "b.parquet", "--no-reader-thread",
                *args).code == 0
    assert ftrl("train", data, "-o", tmp_path / "c.parquet", "--no-reader-thread",
                *args[:-2]).code == 0
    assert ftrl("train", data, "-o", tmp_path / "d.parquet", *args[:-2]).code == 0
    assert pq.read_table(tmp_path / "a.parquet").equals(pq.read_table(tmp_path / "b.parquet"))
    assert pq.read_table(tmp_path / "c.parquet").equals(pq.read_table(tmp_path / "d.parquet"))


def test_saving_mid_training_does_not_perturb_training(tmp_path):
    import scipy.sparse as sp

    rng = np.random.default_rng(8)
    X = sp.random(300, 64, density=0.08, random_state=9, format="csr")
    y = (rng.random(300) < 0.3).astype(float)
    cfg = OptimizerConfig(learning_rate=0.1, use_ema=True, ema_momentum=0.9,
                          ema_overwrite_frequency=7)
    a, b = Model(cfg, 6), Model(cfg, 6)
    spec = FeatureSpec(format="libsvm", hash_bits=6)
    for start in range(0, 300, 60):
        a.train(X[start:start + 60], y[start:start + 60])
        b.train(X[start:start + 60], y[start:start + 60])
        checkpoint.save(b, spec, str(tmp_path / "b.parquet"))
        b.serving_weights()
    np.testing.assert_array_equal(a.state, b.state)
