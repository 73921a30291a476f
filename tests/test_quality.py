"""Learning quality: on generated logs with a known truth, the model gets close to it."""

import json
import subprocess
import sys

import pytest
from clirun import REPO, ftrl


def generate(path, rows, start):
    cmd = [sys.executable, "-m", "ftrl_cli.datagen", "generate", "--seed", "11",
           "--vocab-range", "5", "100", "--rows", str(rows), "--start", str(start), "-o",
           str(path)]
    out = subprocess.run(cmd, check=True, capture_output=True, cwd=REPO).stdout
    return json.loads(out)


@pytest.mark.parametrize("fmt", ["criteo", "vw"])
def test_test_logloss_within_two_percent_of_truth(tmp_path, fmt):
    generate(tmp_path / f"train.{fmt}", 150_000, 0)
    truth = generate(tmp_path / f"test.{fmt}", 30_000, 150_000)["truth_logloss"]
    model = tmp_path / "m.parquet"
    r = ftrl("train", tmp_path / f"train.{fmt}", "-o", model, "--quiet", "-b", "20",
             "--learning-rate", "0.1", "--beta", "1", "--passes", "2")
    assert r.code == 0, r.err
    m = json.loads(ftrl("evaluate", "-m", model, tmp_path / f"test.{fmt}", "--json").out)
    assert m["count"] == 30_000
    assert m["logloss"] <= 1.02 * truth, (m["logloss"], truth)
    # And not better than the truth by more than noise: the metric is honest.
    assert m["logloss"] >= 0.98 * truth
