"""--metrics-out on train and evaluate: the run's figures as JSON, for the cron job's owner."""

import hashlib
import json

from clirun import ftrl, sample


def test_train_writes_its_figures_and_the_models_checksum(tmp_path):
    model, metrics = tmp_path / "m.parquet", tmp_path / "run.json"
    r = ftrl("train", sample("train.vw"), "-o", model, "--learning-rate", "0.1",
             "--metrics-out", metrics)
    assert r.code == 0, r.err
    got = json.loads(metrics.read_text())
    summary = dict(line.split(" = ", 1) for line in r.err.splitlines() if " = " in line)
    assert got["examples"] == int(summary["number of examples"]) == 1500
    assert got["passes"] == 1 and got["optimizer_iterations"] == 1500
    assert f"{got['average_loss']:.6f}" == summary["average loss"]
    assert got["holdout_loss"] is None and got["best_pass"] is None
    assert got["skipped_records"] == 0
    assert got["rows_per_second"] == got["examples"] / got["seconds"]
    assert got["model"]["path"] == str(model)
    assert got["model"]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()


def test_train_with_a_holdout_reports_each_pass_and_the_best(tmp_path):
    metrics = tmp_path / "run.json"
    r = ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", "--learning-rate", "0.1",
             "--passes", "10", "--metrics-out", metrics)
    assert r.code == 0, r.err
    got = json.loads(metrics.read_text())
    per_pass = next(line for line in r.err.splitlines() if line.startswith("holdout loss per"))
    assert [f"{x:.6f}" for x in got["holdout_loss_per_pass"]] == per_pass.split(" = ")[1].split()
    best = got["best_pass"]
    assert got["holdout_loss"] == got["holdout_loss_per_pass"][best - 1]
    assert got["holdout_loss"] == min(got["holdout_loss_per_pass"])
    assert f"best pass = {best} " in r.err and got["passes"] == len(got["holdout_loss_per_pass"])


def test_evaluate_writes_what_json_prints(tmp_path):
    model, metrics = tmp_path / "m.parquet", tmp_path / "eval.json"
    assert ftrl("train", sample("train.vw"), "-o", model, "--quiet").code == 0
    printed = ftrl("evaluate", "-m", model, sample("test.vw"), "--json")
    written = ftrl("evaluate", "-m", model, sample("test.vw"), "--metrics-out", metrics)
    assert printed.code == written.code == 0
    assert json.loads(metrics.read_text()) == json.loads(printed.out)
    assert written.out.startswith("count ")


def test_an_unwritable_metrics_file_fails_before_the_work(tmp_path):
    model = tmp_path / "m.parquet"
    r = ftrl("train", sample("train.vw"), "-o", model, "--quiet",
             "--metrics-out", tmp_path / "missing" / "run.json")
    assert r.code != 0 and "missing" in r.err and len(r.err.strip().splitlines()) == 1
    assert not model.exists()
