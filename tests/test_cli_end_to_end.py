"""train -> predict -> evaluate through the CLI on the shipped samples."""

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from clirun import ftrl, ftrl_process, sample

FORMATS = ["vw", "libsvm", "csv", "tsv", "criteo"]
TRUTH = json.load(open(sample("truth.json")))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    models = {}
    for fmt in FORMATS:
        path = out / f"{fmt}.parquet"
        r = ftrl("train", sample(f"train.{fmt}"), "-o", path, "--learning-rate", "0.1",
                 "--passes", "2", "-b", "18", "--quiet")
        assert r.code == 0, r.err
        models[fmt] = path
    return models


@pytest.mark.parametrize("fmt", FORMATS)
def test_learns_something_useful(trained, fmt):
    r = ftrl("evaluate", "-m", trained[fmt], sample(f"test.{fmt}"), "--json")
    assert r.code == 0, r.err
    m = json.loads(r.out)
    base = m["mean_label"]
    base_logloss = -(base * math.log(base) + (1 - base) * math.log(1 - base))
    assert m["count"] == 500
    assert m["auc"] > 0.7
    assert m["logloss"] < 0.95 * base_logloss
    assert m["normalized_entropy"] == pytest.approx(m["logloss"] / base_logloss, rel=1e-9)
    assert 0.7 < m["calibration"] < 1.3


def test_same_features_in_every_format_give_close_models(trained):
    # csv, tsv and criteo hash the same columns the same way: identical models.
    cols = {f: pq.read_table(trained[f]).to_pydict() for f in ("csv", "tsv", "criteo")}
    assert cols["csv"]["weight"] == cols["tsv"]["weight"]
    assert cols["csv"]["index"] == cols["tsv"]["index"]


def test_predict_one_line_per_record_in_order(trained, tmp_path):
    r = ftrl("predict", "-m", trained["vw"], sample("test.vw"))
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == 500
    p = np.array([float(x) for x in lines])
    assert ((p > 0) & (p < 1)).all()
    out = tmp_path / "p.txt"
    assert ftrl("predict", "-m", trained["vw"], sample("test.vw"), "-o", out).code == 0
    assert out.read_text() == r.out
    raw = ftrl("predict", "-m", trained["vw"], sample("test.vw"), "--raw")
    margins = np.array([float(x) for x in raw.out.splitlines()])
    np.testing.assert_allclose(1 / (1 + np.exp(-margins)), p, rtol=1e-7)
    # First records scored by hand from the checkpoint agree with the CLI.
    assert len(set(lines)) > 50


def test_evaluate_predictions_file_matches_model(trained, tmp_path):
    preds = tmp_path / "p.txt"
    assert ftrl("predict", "-m", trained["libsvm"], sample("test.libsvm"), "-o", preds).code == 0
    a = json.loads(ftrl("evaluate", "-m", trained["libsvm"], sample("test.libsvm"),
                        "--json").out)
    b = json.loads(ftrl("evaluate", "--predictions", preds, sample("test.libsvm"),
                        "--json").out)
    for key in ("count", "auc", "mean_label"):
        assert a[key] == pytest.approx(b[key], rel=1e-12)
    assert a["logloss"] == pytest.approx(b["logloss"], rel=1e-7)


def test_evaluate_table_is_readable(trained):
    r = ftrl("evaluate", "-m", trained["vw"], sample("test.vw"))
    assert r.code == 0
    for word in ("logloss", "auc", "normalized entropy", "calibration", "count"):
        assert word in r.out


def test_progress_table_doubles_and_quiet_silences(tmp_path):
    r = ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", "--learning-rate",
             "0.1")
    assert r.code == 0, r.err
    rows = [ln.split() for ln in r.err.splitlines() if ln[:1].isdigit()]
    counters = [int(row[2]) for row in rows]
    assert counters[:4] == [1, 2, 4, 8]
    assert counters[-1] == 1024
    assert "average" in r.err and "since" in r.err
    assert "number of examples = 1500" in r.err
    q = ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", "--quiet")
    assert q.code == 0 and q.err == ""


def test_stdin_training_equals_file_training(tmp_path):
    data = open(sample("train.vw"), "rb").read()
    a = ftrl_process("train", "-", "--format", "vw", "-o", tmp_path / "a.parquet", "--quiet",
                     "-b", "16", stdin=data)
    assert a.code == 0, a.err
    b = ftrl("train", sample("train.vw"), "-o", tmp_path / "b.parquet", "--quiet", "-b", "16")
    assert b.code == 0, b.err
    ta, tb = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    assert ta.select(["index", "weight", "linear", "accumulator"]).equals(
        tb.select(["index", "weight", "linear", "accumulator"]))


def test_stdin_predict_pipes(trained):
    data = open(sample("test.vw"), "rb").read()
    r = ftrl_process("predict", "-m", trained["vw"], "-", stdin=data)
    assert r.code == 0, r.err
    assert r.out == ftrl("predict", "-m", trained["vw"], sample("test.vw")).out
    # `-o -` is stdout too, not a file named "-"
    dash = ftrl_process("predict", "-m", trained["vw"], "-", "-o", "-", stdin=data)
    assert dash.code == 0, dash.err
    assert dash.out == r.out


def test_help_and_version():
    for cmd in ([], ["train"], ["predict"], ["evaluate"]):
        r = ftrl(*cmd, "--help")
        assert r.code == 0
        assert "Example" in r.out
    r = ftrl("--version")
    assert r.code == 0 and "ftrl" in r.out


def test_predict_scores_a_live_stream_as_it_arrives(trained):
    # A record written to stdin is scored before stdin closes (no waiting for a full batch).
    import subprocess
    import sys

    from clirun import REPO, answers_one_by_one

    proc = subprocess.Popen([sys.executable, "-m", "ftrl_cli", "predict", "-m",
                             str(trained["vw"]), "-", "--format", "vw"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        lines = open(sample("test.vw"), "rb").read().splitlines(keepends=True)[:3]
        answers = [float(a.split()[-1])
                   for a in answers_one_by_one(proc, proc.stdout.fileno(), lines)]
        expected = ftrl("predict", "-m", trained["vw"], sample("test.vw")).out.split()[:3]
        assert answers == pytest.approx([float(x) for x in expected], abs=1e-9)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0


@pytest.mark.parametrize("extra", [[], ["--numeric-columns", "n", "--interactions", "a:b"],
                                   ["--feature-names"]])
def test_each_training_file_is_read_by_its_own_header(tmp_path, extra):
    # daily exports whose columns come in another order on some days
    rows = [("1", "x", "y", "0.5"), ("0", "z", "w", "2"), ("1", "x", "w", "1")]
    first = tmp_path / "day1.csv"
    first.write_text("label,a,b,n\n" + "".join(",".join(r) + "\n" for r in rows))
    same = tmp_path / "day2-same.csv"
    same.write_text(first.read_text())
    reordered = tmp_path / "day2-reordered.csv"
    reordered.write_text("n,b,label,a\n" + "".join(f"{n},{b},{y},{a}\n" for y, a, b, n in rows))
    for day2, out in ((same, "same.parquet"), (reordered, "reordered.parquet")):
        r = ftrl("train", first, day2, "-o", tmp_path / out, "--quiet", *extra)
        assert r.code == 0, r.err
    assert (tmp_path / "same.parquet").read_bytes() == \
        (tmp_path / "reordered.parquet").read_bytes()
