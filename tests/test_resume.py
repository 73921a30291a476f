"""Checkpoints of a running ``ftrl train`` and ``--resume``: readers that start at a batch's
end, the exact training state, every input format, and the refusals."""

from __future__ import annotations

import gzip
import os
import signal

import numpy as np
import pytest
from clirun import ftrl, sample

from ftrl_cli import run_checkpoint
from ftrl_cli.checkpoint import load, restore, save
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.kernels import layout as L
from ftrl_cli.model import Model
from ftrl_cli.readers import FeatureSpec, read_batches
from ftrl_cli.training_state import exact_columns, partial_step, restore_exact


def _records(batches) -> list:
    return [(b.source, line, label, b.indices[b.indptr[i]:b.indptr[i + 1]].tolist())
            for b in batches for i, (line, label) in enumerate(zip(b.lines.tolist(),
                                                                   b.labels.tolist()))]


def _vw_and_csv(tmp_path) -> tuple[list[str], list[str]]:
    vw = "".join(f"{i % 2} |a f{i} g{i % 7}\n" + ("\n# note\n" if i % 13 == 0 else "")
                 for i in range(400))
    (tmp_path / "a.vw").write_text(vw)
    (tmp_path / "b.vw.gz").write_bytes(gzip.compress(vw.encode()))
    csv = "x,label\n" + "".join(f'"v\n{i}",{i % 2}\n' if i % 50 == 7 else f"v{i},{i % 2}\n"
                                for i in range(400))
    (tmp_path / "c.csv").write_bytes(b"\xef\xbb\xbf" + csv.encode())
    return [str(tmp_path / "a.vw"), str(tmp_path / "b.vw.gz")], [str(tmp_path / "c.csv")] * 2


@pytest.mark.parametrize("workers", [1, 2])
def test_reading_from_any_batch_end_gives_the_records_after_it(tmp_path, workers):
    vw, csv = _vw_and_csv(tmp_path)
    for paths, spec in ((vw, FeatureSpec("vw", 18)), (csv, FeatureSpec("csv", 18))):
        full = list(read_batches(paths, spec, 37, chunk_bytes=1000, workers=workers))
        assert len(full) > 20
        for cut in range(len(full)):
            rest = read_batches(paths, spec, 37, chunk_bytes=1000, workers=workers,
                                start=full[cut].end)
            assert _records(full[:cut + 1]) + _records(rest) == _records(full)


def _trained(cfg: OptimizerConfig, dtype=np.float64) -> Model:
    rng = np.random.default_rng(3)
    model = Model(cfg, 6, dtype=dtype)
    n = 203  # not a multiple of the batch size: a step is being gathered
    indptr = np.arange(0, 3 * n + 1, 3)
    model.train_csr(indptr, rng.integers(0, 64, 3 * n).astype(np.int32), rng.random(3 * n),
                    (rng.random(n) < 0.3).astype(float), batch_size=4)
    return model


@pytest.mark.parametrize("cfg, dtype", [
    (OptimizerConfig(learning_rate=0.3, use_ema=True, ema_overwrite_frequency=7), np.float64),
    (OptimizerConfig(learning_rate=0.3, gradient_accumulation_steps=3, global_clipnorm=0.5,
                     use_ema=True), np.float32),
])
def test_a_checkpoint_restores_the_exact_training_state(tmp_path, cfg, dtype):
    model = _trained(cfg, dtype)
    assert model.ctr[L.CTR_ROWS] == 203 % 4  # records of a step not applied yet
    assert model.ctr[L.CTR_NPEND] > 0 or not cfg.gradient_accumulation_steps
    path = str(tmp_path / "m.parquet")
    save(model, FeatureSpec("vw", 6), path, columns=exact_columns(model))
    back = restore(load(path), cfg, dtype)
    restore_exact(back, load(path), partial_step(model))
    nact, npend = model.ctr[L.CTR_NACT], model.ctr[L.CTR_NPEND]
    assert np.array_equal(back.state, model.state)
    assert np.array_equal(back.mark, model.mark)
    assert np.array_equal(back.gbuf, model.gbuf)
    assert np.array_equal(back.ctr, model.ctr)
    assert np.array_equal(back.active[:nact], model.active[:nact])
    assert np.array_equal(back.pending[:npend], model.pending[:npend])


def _interrupt_after(monkeypatch, writes: int) -> None:
    """SIGTERM this process right after the checkpoint number ``writes``."""
    orig = run_checkpoint.RunCheckpoints.write
    count = [0]

    def write(self, state):
        orig(self, state)
        count[0] += 1
        if count[0] == writes:
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(run_checkpoint.RunCheckpoints, "write", write)


def _summary(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith("seconds")]


@pytest.mark.parametrize("name, options, writes, where, best", [
    ("train.libsvm", ["--batch-size", "3"], 4, "train.libsvm:1250 (pass 1)", None),
    ("train.tsv", ["--passes", "2", "--holdout-after", "1000"], 7, "train.tsv:501 (pass 2)", 1),
    ("train.criteo", ["--passes", "2", "--gradient-accumulation-steps", "2"], 9,
     "train.criteo:1000 (pass 2)", 1),
    # pass 2, the best so far, is a file beside the checkpoint when pass 3 is interrupted
    ("train.vw", ["--passes", "6", "--learning-rate", "0.9", "--early-terminate", "1",
                  "--negative-sampling", "0.7"], 12, "train.vw:250 (pass 3)", 2),
])
def test_interrupted_and_resumed_runs_end_with_the_same_model(tmp_path, monkeypatch, name,
                                                              options, writes, where, best):
    common = [sample(name), "-b", "16", "--learning-rate", "0.1", "--checkpoint-every", "250",
              *options]
    ref = ftrl("train", *common, "-o", tmp_path / "ref.parquet")
    assert ref.code == 0, ref.err
    out = tmp_path / "model.parquet"
    with monkeypatch.context() as m:
        _interrupt_after(m, writes)
        stopped = ftrl("train", *common, "-o", out)
    assert stopped.code == 143, stopped.err
    assert stopped.err.endswith(f"ftrl: interrupted at {sample(name)[:-len(name)]}{where}; "
                                "resume with the same command and --resume\n")
    assert not out.exists()
    beside = [f for f in os.listdir(tmp_path) if ".best-pass-" in f]
    assert beside == ([f"model.ckpt.parquet.best-pass-{best}.npz"] if best else [])
    resumed = ftrl("train", *common, "-o", out, "--resume")
    assert resumed.code == 0, resumed.err
    assert out.read_bytes() == (tmp_path / "ref.parquet").read_bytes()
    assert _summary(resumed.err)[-6:] == _summary(ref.err)[-6:]
    # the checkpoint files are gone; the -o lock sidecars stay by design
    assert sorted(os.listdir(tmp_path)) == [".model.parquet.lock", ".ref.parquet.lock",
                                            "model.parquet", "ref.parquet"]


def test_checkpoints_change_nothing_in_the_model(tmp_path):
    common = [sample("train.vw"), "-b", "16", "--batch-size", "4", "--quiet"]
    assert ftrl("train", *common, "-o", tmp_path / "plain.parquet").code == 0
    ckpt = tmp_path / "elsewhere.ckpt"
    assert ftrl("train", *common, "-o", tmp_path / "m.parquet", "--checkpoint-every", "100",
                "--checkpoint", ckpt).code == 0
    assert (tmp_path / "m.parquet").read_bytes() == (tmp_path / "plain.parquet").read_bytes()
    assert not ckpt.exists()


def _stopped_run(tmp_path, monkeypatch, *extra: str) -> list[str]:
    data = tmp_path / "train.vw"
    data.write_bytes(open(sample("train.vw"), "rb").read())
    common = [str(data), "-b", "16", "--quiet", "--checkpoint-every", "300",
              "-o", str(tmp_path / "m.parquet"), *extra]
    with monkeypatch.context() as m:
        _interrupt_after(m, 1)
        assert ftrl("train", *common).code == 143
    return common


def test_resume_refuses_other_options_inputs_and_changed_files(tmp_path, monkeypatch):
    common = _stopped_run(tmp_path, monkeypatch, "--l1", "0.5")
    ckpt = tmp_path / "m.ckpt.parquet"
    r = ftrl("train", *common[:-2], "--l1", "0.25", "--resume")
    assert r.code == 2
    assert r.err == (f"ftrl: error: {ckpt}: option --l1-regularization-strength differs from "
                     "the interrupted run's (0.5, now 0.25); resume with the same command "
                     "line\n")
    r = ftrl("train", *common[:-2], "--resume")
    assert "option --l1-regularization-strength differs" in r.err
    assert "(0.5, now not given)" in r.err
    r = ftrl("train", *common, sample("test.vw"), "--resume")
    assert r.code == 2 and "the interrupted run read" in r.err
    os.utime(common[0], ns=(1, 1))
    r = ftrl("train", *common, "--resume")
    assert r.code == 2
    assert r.err == (f"ftrl: error: {ckpt}: {common[0]} changed since the checkpoint (size or "
                     "modification time); it cannot be resumed\n")
    assert ckpt.exists()  # refusing keeps the checkpoint


def test_resume_needs_a_checkpoint_and_files(tmp_path):
    out = tmp_path / "m.parquet"
    r = ftrl("train", sample("train.vw"), "-o", out, "--resume")
    assert (r.code, r.err) == (2, f"ftrl: error: {tmp_path / 'm.ckpt.parquet'}: no checkpoint "
                                  "to resume from (run without --resume to start from the "
                                  "beginning)\n")
    assert ftrl("train", sample("train.vw"), "-o", tmp_path / "plain.parquet",
                "--quiet").code == 0
    r = ftrl("train", sample("train.vw"), "-o", out, "--resume",
             "--checkpoint", tmp_path / "plain.parquet")
    assert r.code == 2 and "a model file, not a checkpoint of an interrupted run" in r.err
    for flag in (["--resume"], ["--checkpoint-every", "10"]):
        r = ftrl("train", "-", "--format", "vw", "-o", out, *flag, stdin=b"1 |a x\n")
        assert (r.code, r.err) == (2, "ftrl: error: stdin cannot be resumed: "
                                      "--checkpoint-every and --resume need files\n")
    r = ftrl("train", sample("train.vw"), "-o", out, "--checkpoint-every", "10x")
    assert r.code == 2 and "--checkpoint-every: expected a record count or a time" in r.err
    r = ftrl("train", sample("train.vw"), "-o", out, "--checkpoint", tmp_path / "c")
    assert (r.code, r.err) == (2, "ftrl: error: --checkpoint needs --checkpoint-every or "
                                  "--resume\n")
    assert not out.exists()


def test_a_second_signal_stops_at_once(capsys):
    from ftrl_cli import signals

    with signals.catching() as got:
        signal.raise_signal(signal.SIGINT)
        assert got.signum == signal.SIGINT  # noted, the run goes on to a checkpoint
        with pytest.raises(SystemExit) as stop:
            signal.raise_signal(signal.SIGTERM)
    assert stop.value.code == 143
    assert capsys.readouterr().err == ("ftrl: interrupted again: stopping now (the last "
                                       "checkpoint stays)\n")
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.parametrize("passes, writes", [(1, 2), (2, 5)])
def test_a_resumed_run_counts_the_bad_records_skipped_before_it(tmp_path, monkeypatch, passes,
                                                                  writes):
    lines = open(sample("train.vw"), "rb").read().splitlines(keepends=True)
    for i in (10, 100, 260, 700, 1400):  # bad labels before and after the interruption
        lines[i] = b"x" + lines[i]
    data = tmp_path / "bad.vw"
    data.write_bytes(b"".join(lines))
    common = [str(data), "-b", "16", "--checkpoint-every", "250", "--on-error", "skip",
              "--passes", str(passes)]
    ref = ftrl("train", *common, "-o", tmp_path / "ref.parquet",
               "--metrics-out", tmp_path / "ref.json")
    assert ref.code == 0, ref.err
    assert "skipped records = 5" in ref.err.splitlines()
    out = tmp_path / "model.parquet"
    with monkeypatch.context() as m:
        _interrupt_after(m, writes)
        assert ftrl("train", *common, "-o", out).code == 143
    resumed = ftrl("train", *common, "-o", out, "--resume",
                   "--metrics-out", tmp_path / "resumed.json")
    assert resumed.code == 0, resumed.err
    assert "skipped records = 5" in resumed.err.splitlines()
    assert out.read_bytes() == (tmp_path / "ref.parquet").read_bytes()
    import json

    assert json.loads((tmp_path / "resumed.json").read_text())["skipped_records"] == \
        json.loads((tmp_path / "ref.json").read_text())["skipped_records"] == 5
