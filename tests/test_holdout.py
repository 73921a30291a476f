"""Several passes with a holdout and early stopping, as Vowpal Wabbit's --passes does."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from clirun import ftrl, sample

SUMMARY_LOSSES = re.compile(r"^holdout loss per pass = (.*)$", re.M)
BEST = re.compile(r"^best pass = (\d+) ", re.M)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines))
    return path


def train(inputs, out: Path, *opts: str):
    paths = inputs if isinstance(inputs, list) else [inputs]
    r = ftrl("train", *paths, "-o", out, *opts)
    assert r.code == 0, r.err
    return r


def losses_per_pass(err: str) -> list[float]:
    return [float(x) for x in SUMMARY_LOSSES.search(err).group(1).split()]


def best_pass(err: str) -> int:
    return int(BEST.search(err).group(1))


def noisy_records(n: int, seed: int) -> list[str]:
    """One weak signal and many noisy features: repeated passes over-fit the noise."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        y = int(rng.random() < 0.5)
        s = "s1" if rng.random() < (0.75 if y else 0.25) else "s0"
        noise = " ".join(f"n{rng.integers(0, 40)}" for _ in range(8))
        lines.append(f"{y} |a {s} |b {noise}\n")
    return lines


SAMPLE = open(sample("train.vw")).readlines()


@pytest.mark.parametrize("holdout, held, extra", [
    (["--holdout-period", "4"], lambda i: i % 4 == 0, []),
    ([], lambda i: i % 10 == 0, []),  # the default period
    (["--holdout-after", "1000"], lambda i: i > 1000, []),
    (["--holdout-period", "7"], lambda i: i % 7 == 0, ["--batch-size", "3"]),
])
def test_the_model_is_the_one_trained_on_the_other_records(tmp_path, holdout, held, extra):
    # Records are counted from 1 over the inputs one after another: split the sample in two.
    first = write(tmp_path / "a.vw", SAMPLE[:333])
    second = write(tmp_path / "b.vw", SAMPLE[333:])
    rest = write(tmp_path / "rest.vw",
                 [line for i, line in enumerate(SAMPLE, 1) if not held(i)])
    common = ["--learning-rate", "0.1", "--passes", "2", *extra]
    r = train([first, second], tmp_path / "h.parquet", *common, *holdout)
    assert best_pass(r.err) == 2  # so the model written has seen both passes
    train(rest, tmp_path / "c.parquet", *common, "--holdout-off")
    assert (tmp_path / "h.parquet").read_bytes() == (tmp_path / "c.parquet").read_bytes()


def test_held_out_records_are_those_vowpal_wabbit_holds_out(tmp_path):
    pyvw = pytest.importorskip("vowpalwabbit.pyvw")
    # Record i alone has feature 1000 + i: a feature is learnt iff its record is trained on.
    lines = [f"{1 if i % 2 else -1} | {1000 + i}\n" for i in range(1, 26)]
    write(tmp_path / "d.vw", lines)
    write(tmp_path / "d.libsvm", [f"{1 if i % 2 else 0} {1000 + i}:1\n" for i in range(1, 26)])
    for vw_opts, opts in [("--holdout_period 3", ["--holdout-period", "3"]),
                          ("", []),
                          ("--holdout_after 20", ["--holdout-after", "20"])]:
        (tmp_path / "d.vw.cache").unlink(missing_ok=True)
        vw = pyvw.Workspace(f"-d {tmp_path / 'd.vw'} --passes 2 -c -k --noconstant -b 18 "
                            f"--loss_function logistic --quiet {vw_opts} "
                            f"--readable_model {tmp_path / 'r.txt'}")
        vw.finish()
        text = (tmp_path / "r.txt").read_text().split("l2_state", 1)[1]
        vw_learnt = {int(i) for i, w in re.findall(r"^(\d+):(\S+)", text, re.M)
                     if float(w) != 0}
        train(tmp_path / "d.libsvm", tmp_path / "m.parquet", "--passes", "2", "-b", "18",
              "--no-bias", "--learning-rate", "0.5", "--quiet", *opts)
        learnt = set(pq.read_table(tmp_path / "m.parquet")["index"].to_pylist())
        assert learnt == vw_learnt, vw_opts
        assert len(learnt) < 25


def test_early_stopping_writes_the_model_of_the_best_pass(tmp_path):
    data = write(tmp_path / "over.vw", noisy_records(120, seed=5))
    common = ["--learning-rate", "0.5", "--holdout-period", "4"]
    r = train(data, tmp_path / "early.parquet", *common, "--passes", "30")
    losses = losses_per_pass(r.err)
    best = best_pass(r.err)
    # Over-fitting set in: the best pass is followed by three passes without a better loss.
    assert len(losses) == best + 3 < 30
    assert f"passes = {best + 3}\n" in r.err
    assert min(losses) == losses[best - 1] < min(losses[best:])
    assert "stopped after 3 passes without a better holdout loss" in r.err
    assert f"average loss = {losses[best - 1]:.6f} h\n" in r.err
    # The model written is the one after the best pass, trained independently.
    r2 = train(data, tmp_path / "best.parquet", *common, "--passes", str(best))
    assert best_pass(r2.err) == best and losses_per_pass(r2.err) == losses[:best]
    assert (tmp_path / "early.parquet").read_bytes() == (tmp_path / "best.parquet").read_bytes()
    # Without stopping early too, the best pass's model is written.
    longer = tmp_path / "longer.parquet"
    train(data, longer, *common, "--passes", str(best + 3), "--early-terminate", "30")
    assert longer.read_bytes() == (tmp_path / "best.parquet").read_bytes()
    # Not the last pass's: that is the model of the other records after best + 3 passes.
    rest = write(tmp_path / "rest.vw", [x for i, x in enumerate(noisy_records(120, seed=5), 1)
                                        if i % 4])
    train(rest, tmp_path / "last.parquet", common[0], common[1], "--passes", str(best + 3),
          "--holdout-off")
    assert (tmp_path / "last.parquet").read_bytes() != longer.read_bytes()
    train(rest, tmp_path / "rest.parquet", common[0], common[1], "--passes", str(best),
          "--holdout-off")
    assert (tmp_path / "rest.parquet").read_bytes() == longer.read_bytes()


def test_early_terminate_sets_the_patience(tmp_path):
    data = write(tmp_path / "over.vw", noisy_records(120, seed=5))
    common = ["--learning-rate", "0.5", "--holdout-period", "4", "--passes", "30"]
    best = best_pass(train(data, tmp_path / "a.parquet", *common).err)
    r = train(data, tmp_path / "b.parquet", *common, "--early-terminate", "1")
    assert len(losses_per_pass(r.err)) == best_pass(r.err) + 1
    assert best_pass(r.err) <= best


def test_the_best_model_is_kept_with_moving_averages_and_accumulation(tmp_path):
    data = write(tmp_path / "over.vw", noisy_records(120, seed=5))
    common = ["--learning-rate", "0.5", "--holdout-period", "4", "--use-ema",
              "--ema-overwrite-frequency", "5", "--gradient-accumulation-steps", "3"]
    r = train(data, tmp_path / "early.parquet", *common, "--passes", "40")
    best = best_pass(r.err)
    assert best < len(losses_per_pass(r.err))
    train(data, tmp_path / "best.parquet", *common, "--passes", str(best))
    assert (tmp_path / "early.parquet").read_bytes() == (tmp_path / "best.parquet").read_bytes()


def test_holdout_loss_scores_each_held_out_record_in_its_place(tmp_path):
    # Held-out record j of pass p is scored by the model trained on the records before it:
    # every trained record of the earlier passes and those before j in pass p.
    lines = SAMPLE[:40]
    data = write(tmp_path / "d.vw", lines)
    rest = write(tmp_path / "rest.vw", [x for i, x in enumerate(lines, 1) if i % 5])
    opts = ["--learning-rate", "0.3", "--quiet"]
    r = train(data, tmp_path / "m.parquet", *opts[:-1], "--passes", "2",
              "--holdout-period", "5")
    expected = []
    for earlier in ([], [rest]):
        total = 0.0
        for j in range(5, 41, 5):
            before = write(tmp_path / f"before{j}.vw",
                           [x for i, x in enumerate(lines[: j - 1], 1) if i % 5])
            model = tmp_path / "prefix.parquet"
            train([*earlier, before], model, *opts)
            p = float(ftrl("predict", "-m", model, write(tmp_path / "one.vw",
                                                         [lines[j - 1]])).out)
            y = float(lines[j - 1].split()[0])
            total -= math.log(p) if y == 1 else math.log(1 - p)
        expected.append(total / 8)
    assert losses_per_pass(r.err) == pytest.approx(expected, abs=2e-6)


def table_rows(err: str) -> list[str]:
    return [line for line in err.splitlines() if re.match(r"^[\d.]+ +[\d.]+ +\d+ ", line)]


def test_rows_show_the_holdout_loss_from_pass_two_marked_h(tmp_path):
    # 1024 records trained per pass, then 76 held out: a row falls on each pass's last
    # trained record, before that pass's held-out records are scored.
    data = write(tmp_path / "d.vw", SAMPLE[:1100])
    opts = ["--learning-rate", "0.1"]
    r = train(data, tmp_path / "m.parquet", *opts, "--passes", "4", "--holdout-after", "1024")
    rows = table_rows(r.err)
    plain = [row for row in rows if not row.endswith(" h")]
    marked = [row.split() for row in rows if row.endswith(" h")]
    # Pass 1 counts and scores the trained records only, as training on them alone does.
    alone = train(write(tmp_path / "first.vw", SAMPLE[:1024]), tmp_path / "a.parquet", *opts)
    assert plain == table_rows(alone.err) and len(plain) == 11
    assert [int(row[2]) for row in marked] == [2048, 4096]
    assert "number of examples = 4096\n" in r.err
    # From pass 2 on: the mean holdout loss since the start, and since the row before.
    l1, l2, l3, _ = losses_per_pass(r.err)
    assert float(marked[0][0]) == pytest.approx(l1, abs=2e-6)
    assert float(marked[0][1]) == pytest.approx(l1, abs=2e-6)
    assert float(marked[1][0]) == pytest.approx((l1 + l2 + l3) / 3, abs=2e-6)
    assert float(marked[1][1]) == pytest.approx((l2 + l3) / 2, abs=2e-6)
    assert " h" not in train(data, tmp_path / "o.parquet", *opts, "--passes", "4",
                             "--holdout-off").err


def test_same_results_without_the_reader_thread(tmp_path):
    data = write(tmp_path / "over.vw", noisy_records(120, seed=5))
    common = ["--learning-rate", "0.5", "--holdout-period", "4", "--passes", "30"]
    a = train(data, tmp_path / "a.parquet", *common)
    b = train(data, tmp_path / "b.parquet", *common, "--no-reader-thread")
    assert losses_per_pass(a.err) == losses_per_pass(b.err)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_one_pass_trains_on_every_record_whatever_the_holdout_options(tmp_path):
    from ftrl_cli import checkpoint
    from ftrl_cli.config import OptimizerConfig
    from ftrl_cli.model import Model
    from ftrl_cli.readers import read_batches, resolve_spec

    data = sample("train.vw")
    # What training did before there was a holdout: every record, in order, then save.
    spec = resolve_spec([data], format=None, hash_bits=18, hash_mode="strings")
    model = Model(OptimizerConfig(learning_rate=0.1), 18)
    for b in read_batches([data], spec):
        model.train_csr(b.indptr, b.indices, b.data, b.labels, b.weights, 1, b.base)
    model.flush()
    checkpoint.save(model, spec, str(tmp_path / "api.parquet"))
    expected = (tmp_path / "api.parquet").read_bytes()
    for i, opts in enumerate([[], ["--holdout-off"], ["--holdout-period", "2"],
                              ["--early-terminate", "1"]]):
        out = tmp_path / f"{i}.parquet"
        r = train(data, out, "--learning-rate", "0.1", "-b", "18", *opts)
        assert out.read_bytes() == expected, opts
        assert " h" not in r.err and "holdout" not in r.err


def test_several_passes_without_holdout_train_on_every_record_each_pass(tmp_path):
    data = sample("train.vw")
    train(data, tmp_path / "a.parquet", "--passes", "3", "--holdout-off", "--quiet")
    train([data, data, data], tmp_path / "b.parquet", "--quiet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


@pytest.mark.parametrize("opts, message", [
    (["--holdout-period", "1"], "--holdout-period"),
    (["--holdout-period", "0"], "--holdout-period"),
    (["--holdout-after", "0"], "--holdout-after"),
    (["--early-terminate", "0"], "--early-terminate"),
    (["--holdout-off", "--holdout-period", "5"], "--holdout-off trains on every record; "
                                                  "it cannot go with --holdout-period"),
    (["--holdout-off", "--holdout-after", "5"], "it cannot go with --holdout-after"),
    (["--holdout-off", "--early-terminate", "2"], "it cannot go with --early-terminate"),
    (["--holdout-after", "5", "--holdout-period", "5"], "give only one"),
    (["--passes", "1", "--holdout-after", "5"], "--holdout-after needs --passes > 1"),
    (["--holdout-after", "5000"], "no record was held out"),
    (["--holdout-period", "5000"], "no record was held out"),
])
def test_option_errors(tmp_path, opts, message):
    out = tmp_path / "m.parquet"
    out.write_bytes(b"the old model")
    r = ftrl("train", sample("train.vw"), "-o", out, "--passes", "2", "--quiet", *opts)
    assert r.code == 2
    assert message in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert "Traceback" not in r.err
    assert out.read_bytes() == b"the old model"


@pytest.mark.parametrize("config", [
    {"learning_rate": 0.5},
    {"learning_rate": 0.5, "use_ema": True, "ema_overwrite_frequency": 4},
    {"learning_rate": 0.5, "use_ema": True, "gradient_accumulation_steps": 2},
])
def test_a_held_out_record_sees_what_the_next_trained_record_would(config):
    import copy

    from ftrl_cli.config import OptimizerConfig
    from ftrl_cli.model import Model

    model = Model(OptimizerConfig(**config), hash_bits=4)
    one = np.ones(1)
    # coordinate 3 is learnt, then stays idle while 5 is learnt (an overwrite falls due)
    for j in [3, 3, 3, 5, 5, 5, 5, 5]:
        model.train_csr(np.array([0, 1]), np.array([j], np.int32), one, one)
    record = (np.array([0, 2]), np.array([3, 5], np.int32), np.array([1.0, 2.0]))
    before = model.state.copy()
    scored = model.predict_csr(*record, base=np.array([0.25]))
    assert np.array_equal(model.state, before)  # scoring leaves the model as it was
    trained = copy.deepcopy(model).train_csr(*record, one, base=np.array([0.25]))
    assert scored[0] == trained[0]


def test_held_out_records_are_scored_with_the_models_loss():
    from ftrl_cli.config import OptimizerConfig
    from ftrl_cli.losses import SQUARED
    from ftrl_cli.model import Model
    from ftrl_cli.progress import HeldOut, Progress

    margins = np.array([-0.5, 2.0])
    assert np.array_equal(Model(OptimizerConfig(0.1), 4, loss=SQUARED).predictions(margins),
                          margins)
    assert np.allclose(Model(OptimizerConfig(0.1), 4).predictions(margins),
                       1 / (1 + np.exp(-margins)))
    progress = Progress(None, loss=SQUARED)
    held = HeldOut(np.array([0, 1]), np.array([1.0, -2.0]), np.array([0.5, 1.0]),
                   np.array([1.0, 3.0]))
    progress.update(np.array([0.0]), np.array([0.0]), np.array([1.0]), np.array([1]), held)
    # weighted mean squared error of the held-out records: (1 * 0.25 + 3 * 9) / 4
    assert progress.pass_holdout_loss() == pytest.approx((0.25 + 27.0) / 4)
