"""ftrl train on Dask: one worker gives the single-process model byte for byte; two are
within half a percent of its test logloss; a worker lost mid-round leaves a valid model and
the run says so; options that cannot work are refused in one line."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from clirun import REPO, ftrl
from dask_helpers import DieOnce, local_client

pytest.importorskip("distributed")

from ftrl_cli import checkpoint  # noqa: E402
from ftrl_cli.distributed.training import train  # noqa: E402

SETTINGS = ["--format", "criteo", "-b", "18", "--learning-rate", "0.1", "--beta", "1",
            "--l1", "1", "--l2", "0.5"]
OPTIMIZER = dict(learning_rate=0.1, beta=1.0, l1_regularization_strength=1.0,
                 l2_regularization_strength=0.5)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """20,000 training and 5,000 test rows of the bench's generator."""
    folder = tmp_path_factory.mktemp("data")
    for name, rows, start in (("train", 20000, 0), ("test", 5000, 20000)):
        subprocess.run([sys.executable, "-m", "ftrl_cli.datagen", "generate", "--rows",
                        str(rows), "--seed", "7", "--start", str(start), "-o",
                        str(folder / f"{name}.criteo")], check=True, capture_output=True,
                       cwd=REPO)
    return folder


@pytest.fixture(scope="module")
def single(data):
    model = data / "single.parquet"
    r = ftrl("train", data / "train.criteo", "-o", model, "--quiet", *SETTINGS)
    assert r.code == 0, r.err
    return model


@pytest.fixture(scope="module")
def client():
    with local_client(2) as c:
        yield c


def logloss(model, data) -> float:
    r = ftrl("evaluate", "-m", model, data / "test.criteo", "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)["logloss"]


def test_one_worker_gives_the_single_process_model_bytes(data, single, tmp_path):
    out = tmp_path / "one.parquet"
    r = ftrl("train", data / "train.criteo", "-o", out, *SETTINGS, "--dask", "local:1",
             "--sync-every", "3000")
    assert r.code == 0, r.err
    assert "rounds = 7" in r.err and "workers = 1" in r.err
    assert out.read_bytes() == single.read_bytes()


def test_two_workers_are_within_half_a_percent(client, data, single, tmp_path):
    out = tmp_path / "two.parquet"
    figures = train(client, [str(data / "train.criteo")], str(out), sync_every=200,
                    reader={"format": "criteo", "hash_bits": 18}, **OPTIMIZER)
    assert figures["workers"] == 2 and figures["examples"] == 20000
    assert figures["iterations"] == 20000 and figures["workers_lost"] == 0
    base = logloss(single, data)
    assert abs(logloss(out, data) - base) / base < 0.005
    # and it is another model: both workers trained
    assert out.read_bytes() != single.read_bytes()


def test_a_worker_lost_mid_round_leaves_a_valid_model(client, data, single, tmp_path,
                                                      capsys):
    marker = tmp_path / "die"
    marker.write_text("once")
    client.register_plugin(DieOnce(str(marker), "ftrl-share"))
    try:
        out = tmp_path / "lost.parquet"
        figures = train(client, [str(data / "train.criteo")], str(out), sync_every=2000,
                        reader={"format": "criteo", "hash_bits": 18}, **OPTIMIZER)
    finally:
        client.unregister_worker_plugin(DieOnce.name)
    assert not marker.exists()
    assert figures["workers_lost"] >= 1 and figures["examples"] == 20000
    assert "was lost; its share was trained again on" in capsys.readouterr().err
    ckpt = checkpoint.load(str(out))
    assert ckpt.meta["counters"]["iterations"] == 20000
    loss = logloss(out, data)
    assert math.isfinite(loss) and loss < logloss(single, data) * 1.02
    client.wait_for_workers(2, timeout=60)


@pytest.mark.parametrize("extra, message", [
    (["--batch-size", "4"], "--batch-size 4 is not available with --dask"),
    (["--use-ema"], "--use-ema is not available with --dask"),
    (["--passes", "2"], "holdout and early stopping are not available with --dask"),
    (["--learning-rate", '{"class_name": "ExponentialDecay", "config": {'
      '"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9}}'],
     "a --learning-rate schedule is not available with --dask"),
    (["--negative-sampling", "0.5"], "--negative-sampling is not available with --dask"),
    (["--checkpoint-every", "1000"], "--checkpoint-every and --resume are not available"),
    (["--feature-names"], "--feature-names is not available with --dask"),
])
def test_options_that_cannot_work_are_refused(data, tmp_path, extra, message):
    out = tmp_path / "m.parquet"
    r = ftrl("train", data / "train.criteo", "-o", out, *SETTINGS, *extra,
             "--dask", "local:2")
    assert r.code == 2 and r.err == f"ftrl: error: {message}" + r.err[len(message) + 13:]
    assert r.err.count("\n") == 1 and message in r.err
    assert not out.exists()


def test_sync_every_needs_dask(data, tmp_path):
    r = ftrl("train", data / "train.criteo", "-o", tmp_path / "m.parquet", *SETTINGS,
             "--sync-every", "100")
    assert r.code == 2 and "--sync-every applies to training on Dask" in r.err
