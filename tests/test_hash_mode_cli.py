"""``--hash strings|all``: chosen at training, stored in the model, used by predict and
warm starts; models stored before the mode was recorded read as ``all``."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from clirun import ftrl

from ftrl_cli import checkpoint
from ftrl_cli.hashing import feature_index


def _train(tmp_path, name: str, *args: str) -> str:
    data = tmp_path / "d.vw"
    data.write_text("1 |f 13 x\n0 |f 24 y\n1 |f 13 y\n")
    out = tmp_path / name
    r = ftrl("train", data, "-o", out, "--quiet", "-b", "18", "--learning-rate", "0.5", *args)
    assert r.code == 0, r.err
    return str(out)


def _forget_mode(path: str) -> None:
    """Rewrite ``path`` as a model written before the mode was recorded."""
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"ftrl"])
    del meta["features"]["hash_mode"]
    del meta["hashing"]["hash_mode"]
    pq.write_table(table.replace_schema_metadata({b"ftrl": json.dumps(meta).encode()}), path)


@pytest.mark.parametrize("mode", ["strings", "all"])
def test_mode_is_stored_and_predict_uses_it(tmp_path, mode: str) -> None:
    args = () if mode == "strings" else ("--hash", "all")
    path = _train(tmp_path, "m.parquet", *args)
    ckpt = checkpoint.load(path)
    assert ckpt.spec.hash_mode == mode
    w, bias = ckpt.serving_weights()
    probe = tmp_path / "p.vw"
    probe.write_text("|f 13\n")
    r = ftrl("predict", "-m", path, probe, "--raw")
    assert r.code == 0, r.err
    coord = feature_index("f", "13", 18, mode)
    assert w[coord] != 0.0
    assert float(r.out) == pytest.approx(w[coord] + bias, rel=1e-9)


def test_model_without_mode_reads_as_all_and_scores_as_before(tmp_path) -> None:
    path = _train(tmp_path, "m.parquet", "--hash", "all")
    before = ftrl("predict", "-m", path, tmp_path / "d.vw").out
    _forget_mode(path)
    assert checkpoint.load(path).spec.hash_mode == "all"
    assert ftrl("predict", "-m", path, tmp_path / "d.vw").out == before
    # a warm start continues with the model's mode unless told otherwise
    r = ftrl("train", tmp_path / "d.vw", "--init-model", path, "-o", tmp_path / "m2.parquet",
             "--quiet")
    assert r.code == 0, r.err
    assert checkpoint.load(str(tmp_path / "m2.parquet")).spec.hash_mode == "all"


def test_warm_start_with_another_mode_is_refused(tmp_path) -> None:
    path = _train(tmp_path, "m.parquet", "--hash", "all")
    _forget_mode(path)
    r = ftrl("train", tmp_path / "d.vw", "--init-model", path, "-o", tmp_path / "m2.parquet",
             "--quiet", "--hash", "strings", "-b", "18")
    assert r.code == 2
    assert "hash_mode: model has 'all', this run has 'strings'" in r.err
    assert len(r.err.strip().splitlines()) == 1
