"""Negative down-sampling: which records training keeps, what the model records of it, and
the recalibration of a sampled model's scores in predict and evaluate."""

import json
import math

import numpy as np
import pytest
from clirun import ftrl, sample

from ftrl_cli import checkpoint
from ftrl_cli.commands.predict import scored_batches
from ftrl_cli.readers import read_batches, resolve_spec
from ftrl_cli.readers.base import Batch
from ftrl_cli.sampling import NegativeSampler

TRAIN = sample("train.vw")
TEST = sample("test.vw")
LR = ("--learning-rate", "0.1", "--l1", "0.1")
_MASK = 2**64 - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(x: int) -> int:
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def kept_records(lines: list[str], rate: float, seed: int, pass_index: int) -> list[str]:
    """The records a pass keeps, computed here in plain Python from the documented rule: a
    negative at position i (0-based) is kept when the SplitMix64 draw u_i < rate."""
    key = _mix(_mix(seed) ^ ((pass_index * _GOLDEN) & _MASK))
    out = []
    for i, line in enumerate(lines):
        u = (_mix((key + (i + 1) * _GOLDEN) & _MASK) >> 11) / 2.0**53
        if line.split()[0] == "1" or u < rate:
            out.append(line)
    return out


def _records() -> list[str]:
    with open(TRAIN) as fh:
        return [line for line in fh if line.strip()]


def _write(path, lines) -> str:
    path.write_text("".join(lines))
    return str(path)


def _state(path) -> dict:
    ckpt = checkpoint.load(str(path))
    cols = {k: ckpt.columns[k] for k in ("index", "weight", "linear", "accumulator")}
    return {**cols, "examples": ckpt.meta["counters"]["examples"],
            "iterations": ckpt.meta["counters"]["iterations"]}


def _assert_same_model(a, b) -> None:
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def _train(*args) -> None:
    r = ftrl("train", *args, *LR, "--quiet")
    assert r.code == 0, r.err


def test_same_seed_same_model_bytes_and_another_seed_another_model(tmp_path):
    paths = [tmp_path / f"m{i}.parquet" for i in range(3)]
    for path, seed in zip(paths, ("0", "0", "1")):
        _train(TRAIN, "-o", path, "--negative-sampling", "0.3", "--seed", seed)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    assert _state(paths[0])["examples"] != _state(paths[2])["examples"]


@pytest.mark.parametrize("batch_size", ["1", "8"])
@pytest.mark.parametrize("reader_thread", ["--reader-thread", "--no-reader-thread"])
def test_training_with_sampling_is_training_on_the_kept_records(tmp_path, batch_size,
                                                                 reader_thread):
    kept = kept_records(_records(), 0.3, 5, 0)
    assert 406 < len(kept) < 1500  # every positive, and some of the negatives
    _train(TRAIN, "-o", tmp_path / "s.parquet", "--negative-sampling", "0.3", "--seed", "5",
           "--batch-size", batch_size, reader_thread)
    _train(_write(tmp_path / "kept.vw", kept), "-o", tmp_path / "k.parquet",
           "--batch-size", batch_size, reader_thread)
    _assert_same_model(tmp_path / "s.parquet", tmp_path / "k.parquet")
    assert _state(tmp_path / "s.parquet")["examples"] == len(kept)


def test_each_pass_draws_a_fresh_sample(tmp_path):
    records = _records()
    first, second = (kept_records(records, 0.3, 0, p) for p in (0, 1))
    assert first != second
    _train(TRAIN, "-o", tmp_path / "s.parquet", "--negative-sampling", "0.3", "--passes", "2",
           "--holdout-off")
    _train(_write(tmp_path / "kept.vw", first + second), "-o", tmp_path / "k.parquet")
    _assert_same_model(tmp_path / "s.parquet", tmp_path / "k.parquet")


@pytest.mark.parametrize("workers,chunk_bytes,batch_rows", [(1, 1 << 20, 65536), (2, 4096, 65536),
                                                            (1, 1000, 7), (2, 777, 3)])
def test_the_kept_records_do_not_depend_on_threads_blocks_or_batches(workers, chunk_bytes,
                                                                     batch_rows):
    spec = resolve_spec([TRAIN], hash_bits=12)
    sampler = NegativeSampler(0.3, seed=5)
    batches = read_batches([TRAIN], spec, batch_rows, chunk_bytes=chunk_bytes, workers=workers)
    lines = np.concatenate([b.lines for b in sampler.select(batches)])
    records = _records()
    expected = [i + 1 for i, line in enumerate(records)
                if line in set(kept_records(records, 0.3, 5, 0))]
    assert lines.tolist() == expected
    assert sampler.dropped == len(records) - len(expected)


def _label_batches(labels: np.ndarray, size: int):
    for start in range(0, len(labels), size):
        n = len(labels[start:start + size])
        yield Batch(np.zeros(n + 1, np.int64), np.zeros(0, np.int32), np.zeros(0), 4,
                    labels[start:start + size], np.ones(n), np.arange(start, start + n) + 1, "x")


@pytest.mark.parametrize("rate", [0.01, 0.3, 0.9])
def test_negatives_are_kept_at_the_rate_and_positives_always(rate):
    rng = np.random.default_rng(1)
    labels = (rng.random(400_000) < 0.2).astype(float)
    sampler = NegativeSampler(rate, seed=11)
    kept = np.concatenate([b.lines for b in sampler.select(_label_batches(labels, 10_000))]) - 1
    positives = np.flatnonzero(labels == 1.0)
    assert np.isin(positives, kept).all()
    negatives = int(np.count_nonzero(labels == 0.0))
    kept_negatives = len(kept) - len(positives)
    sigma = math.sqrt(negatives * rate * (1 - rate))
    assert abs(kept_negatives - negatives * rate) < 5 * sigma
    assert sampler.dropped == negatives - kept_negatives


def test_batch_select_carries_every_per_record_field():
    b = Batch(np.array([0, 2, 2, 3]), np.array([1, 2, 0], np.int32), np.array([1.0, 2.0, 3.0]),
              4, np.array([1.0, 0.0, 0.0]), np.array([1.0, 2.0, 3.0]), np.array([4, 5, 9]),
              "f.vw", ["a", None, "c"], np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.6, 0.7]))
    s = b.select(np.array([0, 2]))
    assert s.X.toarray().tolist() == [[0, 1, 2, 0], [3, 0, 0, 0]]
    assert s.labels.tolist() == [1.0, 0.0] and s.weights.tolist() == [1.0, 3.0]
    assert s.lines.tolist() == [4, 9] and s.source == "f.vw" and s.tags == ["a", "c"]
    assert s.scores.tolist() == [0.1, 0.3] and s.base.tolist() == [0.5, 0.7]
    assert s.n_features == 4


def _meta(path) -> dict:
    return checkpoint.load(str(path)).meta


def test_the_rate_is_recorded_and_predictions_recalibrated_exactly(tmp_path):
    model = tmp_path / "m.parquet"
    _train(TRAIN, "-o", model, "--negative-sampling", "0.25", "--seed", "3")
    assert _meta(model)["sampling"] == {"negative_rate": 0.25, "sampled_rate": 0.25,
                                        "upstream_rate": 1.0, "seed": 3}
    spec = {"format": None, "header": True, "columns": None}
    raw = np.concatenate([p for _, p in scored_batches([TEST], str(model), spec,
                                                       recalibrate=False)])
    cal = np.concatenate([p for _, p in scored_batches([TEST], str(model), spec)])
    np.testing.assert_allclose(cal, raw / (raw + (1 - raw) / 0.25), rtol=0, atol=1e-12)
    assert np.all(cal < raw)
    margins = np.concatenate([p for _, p in scored_batches([TEST], str(model), spec, raw=True,
                                                           recalibrate=False)])
    cal_margins = np.concatenate([p for _, p in scored_batches([TEST], str(model), spec,
                                                               raw=True)])
    np.testing.assert_allclose(cal_margins, margins + math.log(0.25), rtol=0, atol=1e-12)
    np.testing.assert_allclose(1 / (1 + np.exp(-cal_margins)), cal, rtol=0, atol=1e-12)


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split()])


def test_predict_and_evaluate_through_the_cli(tmp_path):
    model = tmp_path / "m.parquet"
    _train(TRAIN, "-o", model, "--negative-sampling", "0.25")
    outs = {flags: ftrl("predict", "-m", model, TEST, *flags)
            for flags in [(), ("--no-recalibrate",), ("--raw",), ("--raw", "--no-recalibrate")]}
    assert all(r.code == 0 for r in outs.values())
    p, raw = _floats(outs[()].out), _floats(outs[("--no-recalibrate",)].out)
    np.testing.assert_allclose(p, raw / (raw + (1 - raw) / 0.25), atol=2e-9)
    m, raw_m = _floats(outs[("--raw",)].out), _floats(outs[("--raw", "--no-recalibrate")].out)
    np.testing.assert_allclose(m, raw_m + math.log(0.25), atol=2e-9)
    cal = json.loads(ftrl("evaluate", "-m", model, TEST, "--json").out)
    unc = json.loads(ftrl("evaluate", "-m", model, TEST, "--json", "--no-recalibrate").out)
    assert cal["mean_prediction"] == pytest.approx(p.mean(), abs=1e-8)
    assert unc["mean_prediction"] == pytest.approx(raw.mean(), abs=1e-8)
    assert abs(cal["calibration"] - 1) < abs(unc["calibration"] - 1)


def test_an_unsampled_model_scores_as_before(tmp_path):
    model = tmp_path / "m.parquet"
    _train(TRAIN, "-o", model)
    assert "sampling" not in _meta(model)
    for flags in [(), ("--raw",)]:
        a = ftrl("predict", "-m", model, TEST, *flags)
        b = ftrl("predict", "-m", model, TEST, "--no-recalibrate", *flags)
        assert a.code == 0 and a.out == b.out


def test_input_negative_rate_records_without_dropping(tmp_path):
    _train(TRAIN, "-o", tmp_path / "plain.parquet")
    _train(TRAIN, "-o", tmp_path / "up.parquet", "--input-negative-rate", "0.1")
    _assert_same_model(tmp_path / "plain.parquet", tmp_path / "up.parquet")
    assert _state(tmp_path / "up.parquet")["examples"] == 1500
    assert _meta(tmp_path / "up.parquet")["sampling"] == {
        "negative_rate": 0.1, "sampled_rate": 1.0, "upstream_rate": 0.1, "seed": None}
    plain = _floats(ftrl("predict", "-m", tmp_path / "plain.parquet", TEST).out)
    up = _floats(ftrl("predict", "-m", tmp_path / "up.parquet", TEST).out)
    np.testing.assert_allclose(up, plain / (plain + (1 - plain) / 0.1), atol=2e-9)


def test_both_rates_multiply(tmp_path):
    _train(TRAIN, "-o", tmp_path / "m.parquet", "--negative-sampling", "0.5",
           "--input-negative-rate", "0.2", "--seed", "9")
    _train(TRAIN, "-o", tmp_path / "s.parquet", "--negative-sampling", "0.5", "--seed", "9")
    _assert_same_model(tmp_path / "m.parquet", tmp_path / "s.parquet")
    assert _meta(tmp_path / "m.parquet")["sampling"] == {
        "negative_rate": 0.1, "sampled_rate": 0.5, "upstream_rate": 0.2, "seed": 9}


def test_warm_start_needs_the_same_rate(tmp_path):
    sampled, plain = tmp_path / "s.parquet", tmp_path / "p.parquet"
    _train(TRAIN, "-o", sampled, "--negative-sampling", "0.5")
    _train(TRAIN, "-o", plain)
    out = tmp_path / "out.parquet"
    out.write_bytes(b"old model")
    for init, flags in [(sampled, ()), (sampled, ("--negative-sampling", "0.25")),
                        (plain, ("--negative-sampling", "0.5"))]:
        r = ftrl("train", TEST, "-o", out, "--init-model", init, *flags, "--quiet")
        assert r.code == 2 and "kept at rate" in r.err and len(r.err.splitlines()) == 1, r.err
        assert out.read_bytes() == b"old model"
    # the same rate, reached here, upstream or both
    for flags in [("--negative-sampling", "0.5"), ("--input-negative-rate", "0.5"),
                  ("--negative-sampling", "0.625", "--input-negative-rate", "0.8")]:
        r = ftrl("train", TEST, "-o", out, "--init-model", sampled, *flags, "--quiet")
        assert r.code == 0, r.err
        assert _meta(out)["sampling"]["negative_rate"] == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("option", ["--negative-sampling", "--input-negative-rate"])
@pytest.mark.parametrize("value", ["0", "-0.5", "1.5", "nan", "inf", "x"])
def test_bad_rates_are_one_line_errors(tmp_path, option, value):
    out = tmp_path / "m.parquet"
    out.write_bytes(b"old model")
    r = ftrl("train", TRAIN, "-o", out, option, value, "--quiet")
    assert r.code == 2 and len(r.err.splitlines()) == 1 and option in r.err, r.err
    assert "Traceback" not in r.err
    assert out.read_bytes() == b"old model"


def test_a_negative_seed_is_refused(tmp_path):
    r = ftrl("train", TRAIN, "-o", tmp_path / "m.parquet", "--negative-sampling", "0.5",
             "--seed", "-1")
    assert r.code == 2 and "--seed" in r.err and not (tmp_path / "m.parquet").exists()


def test_no_recalibrate_needs_a_model():
    r = ftrl("evaluate", "--predictions", TEST, TEST, "--no-recalibrate")
    assert r.code == 2 and "--no-recalibrate" in r.err


def test_the_progress_table_counts_the_kept_records(tmp_path):
    r = ftrl("train", TRAIN, "-o", tmp_path / "m.parquet", *LR, "--negative-sampling", "0.3",
             "--seed", "5")
    kept = len(kept_records(_records(), 0.3, 5, 0))
    assert f"number of examples = {kept}" in r.err
    assert f"negatives dropped = {1500 - kept} (kept at rate 0.3)" in r.err


def test_sampling_with_the_squared_loss_is_refused(tmp_path):
    out = tmp_path / "m.parquet"
    r = ftrl("train", sample("train.vw"), "-o", out, "--quiet", "--loss", "squared",
             "--negative-sampling", "0.5")
    assert r.code == 2 and not out.exists()
    assert r.err.strip() == "ftrl: error: negative sampling needs the logistic loss"


def test_batch_select_keeps_what_belongs_to_the_whole_batch():
    from ftrl_cli.readers.base import ReadPosition

    end = ReadPosition(0, 123, 7)
    b = Batch(np.array([0, 1, 2]), np.array([1, 2], np.int32), np.ones(2), 4,
              np.array([1.0, 0.0]), np.ones(2), np.array([5, 6]), "f.vw", end=end,
              skipped=[])
    s = b.select(np.array([1]))
    assert s.end == end and s.skipped == [] and s.key is None
