"""Models carry a checksum per column; a damaged or hand-edited file is refused (exit 2)
unless ``--no-verify`` is given, and a model written without checksums loads as before."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clirun import ftrl, sample

from ftrl_cli import checkpoint

TRAIN = ("--quiet", "-b", "16", "--learning-rate", "0.1")


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "m.parquet"
    assert ftrl("train", sample("train.vw"), "-o", path, *TRAIN).code == 0
    return path


def rewrite(path, change=None, meta_change=None) -> None:
    """Rewrite ``path`` with pyarrow as a hand edit would, keeping (or editing) its metadata."""
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    if change is not None:
        name, edit = change
        values = table.column(name).to_numpy().copy()
        edit(values)
        table = table.set_column(table.column_names.index(name), name, pa.array(values))
    if meta_change is not None:
        ftrl_meta = json.loads(meta[b"ftrl"])
        meta_change(ftrl_meta)
        meta[b"ftrl"] = json.dumps(ftrl_meta).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def _bump_first(values: np.ndarray) -> None:
    values[0] += 0.25


MISMATCH = "checksum mismatch: the file was changed or damaged; --no-verify loads it anyway"


def uses_of(model, tmp_path) -> dict[str, list]:
    return {
        "predict": ["predict", "-m", model, sample("test.vw")],
        "evaluate": ["evaluate", "-m", model, sample("test.vw")],
        "train": ["train", sample("test.vw"), "--init-model", model, "-o",
                  tmp_path / "next.parquet", *TRAIN],
    }


def test_round_trip_verifies_every_column(model):
    ckpt = checkpoint.load(str(model))
    entry = ckpt.meta["checksum"]
    assert entry["algorithm"] == "crc32" and entry["rows"] == len(ckpt.columns["index"])
    assert set(entry["columns"]) == {"variable", "index", "weight", "linear", "accumulator"}
    assert checkpoint.load(str(model), weights_only=True).columns["weight"].size > 0


@pytest.mark.parametrize("command", ["predict", "evaluate", "train"])
def test_a_changed_weight_is_refused_unless_no_verify(model, tmp_path, command):
    clean = ftrl(*uses_of(model, tmp_path)["predict"])
    rewrite(model, change=("weight", _bump_first))
    args = uses_of(model, tmp_path)[command]
    r = ftrl(*args)
    assert r.code == 2
    assert r.err.splitlines() == [f"ftrl: error: {model}: {MISMATCH}"]
    assert not (tmp_path / "next.parquet").exists()
    r = ftrl(*args, "--no-verify")
    assert r.code == 0, r.err
    if command == "predict":
        assert r.out != clean.out  # the edited weight is the one scored


def test_scoring_checks_only_the_columns_it_reads(model, tmp_path):
    rewrite(model, change=("linear", _bump_first))
    assert ftrl(*uses_of(model, tmp_path)["predict"]).code == 0
    r = ftrl(*uses_of(model, tmp_path)["train"])
    assert r.code == 2 and r.err.splitlines() == [f"ftrl: error: {model}: {MISMATCH}"]


def test_a_dropped_column_is_refused(tmp_path):
    path = tmp_path / "ema.parquet"
    assert ftrl("train", sample("train.vw"), "-o", path, *TRAIN, "--use-ema").code == 0
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["average"]), path)
    r = ftrl("train", sample("test.vw"), "--init-model", path, "-o", path, *TRAIN)
    assert r.code == 2 and r.err.splitlines() == [f"ftrl: error: {path}: {MISMATCH}"]


def test_a_truncated_file_is_one_line(model):
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])
    r = ftrl("predict", "-m", model, sample("test.vw"))
    assert r.code == 2
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ftrl: error: {model}: ")
    assert "Traceback" not in r.err


def test_a_model_without_checksums_loads_as_before(model, tmp_path):
    before = ftrl("predict", "-m", model, sample("test.vw"))

    def forget(meta: dict) -> None:
        del meta["checksum"]

    rewrite(model, meta_change=forget)
    assert "checksum" not in checkpoint.load(str(model)).meta
    after = ftrl("predict", "-m", model, sample("test.vw"))
    assert after.code == 0 and after.out == before.out
    r = ftrl(*uses_of(model, tmp_path)["train"])
    assert r.code == 0, r.err
    assert "checksum" in checkpoint.load(str(tmp_path / "next.parquet")).meta
