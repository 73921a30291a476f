import csv
import gzip
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from ftrl_cli import datagen as dg
from ftrl_cli import datagen_cli, datagen_writers
from ftrl_cli.datagen_cli import main

SMALL = dg.DataConfig(vocab_sizes=dg.spread_vocab_sizes(3, 40))
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SUFFIX = {"criteo": ".criteo", "tsv": ".tsv", "csv": ".csv", "vw": ".vw", "libsvm": ".libsvm"}


def py_log_bin(v):
    return v if v <= 2 else math.floor(math.log(v) ** 2)


def write_all(ds, directory, compress=""):
    paths = {}
    Path(directory).mkdir(exist_ok=True)
    for fmt, suffix in SUFFIX.items():
        paths[fmt] = Path(directory) / f"rows{suffix}{compress}"
        datagen_writers.write(ds, paths[fmt], fmt)
    return paths


def rows_of_delimited(text, sep, has_header):
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    if has_header:
        assert rows[0] == list(dg.COLUMNS)
        rows = rows[1:]
    return rows


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    first = write_all(dg.make_dataset(400, seed=11, config=SMALL), tmp_path / "a")
    again = write_all(dg.make_dataset(400, seed=11, config=SMALL), tmp_path / "b")
    other = write_all(dg.make_dataset(400, seed=12, config=SMALL), tmp_path / "c")
    for fmt in SUFFIX:
        assert first[fmt].read_bytes() == again[fmt].read_bytes()
        assert first[fmt].read_bytes() != other[fmt].read_bytes()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    ds = dg.make_dataset(300, seed=5, config=SMALL)
    directory = tmp_path_factory.mktemp("formats")
    texts = {fmt: path.read_text() for fmt, path in write_all(ds, directory).items()}
    return ds, texts


def test_criteo_tsv_csv_carry_the_rows(small):
    ds, texts = small
    criteo = rows_of_delimited(texts["criteo"], "\t", has_header=False)
    assert rows_of_delimited(texts["tsv"], "\t", has_header=True) == criteo
    assert rows_of_delimited(texts["csv"], ",", has_header=True) == criteo
    assert len(criteo) == len(ds)
    tokens = [ds.tokens(j) for j in range(26)]
    for i, row in enumerate(criteo):
        assert len(row) == 40
        assert row[0] == str(ds.labels[i])
        for k in range(13):
            v = ds.ints[i, k]
            assert row[1 + k] == ("" if v < 0 else str(v))
        for j in range(26):
            assert row[14 + j] == tokens[j][i]


def test_vw_carries_the_rows(small):
    ds, texts = small
    lines = texts["vw"].splitlines()
    assert len(lines) == len(ds)
    tokens = [ds.tokens(j) for j in range(26)]
    for i, line in enumerate(lines):
        label, rest = line.split(" |i", 1)
        ints_part, cats_part = rest.split("|c", 1)
        assert label == ("1" if ds.labels[i] else "-1")
        expected_ints = [
            f"I{k + 1}_{py_log_bin(int(ds.ints[i, k]))}" for k in range(13) if ds.ints[i, k] >= 0
        ]
        assert ints_part.split() == expected_ints
        expected_cats = [f"C{j + 1}_{tokens[j][i]}" for j in range(26) if ds.cats[i, j] >= 0]
        assert cats_part.split() == expected_cats


def test_libsvm_carries_the_rows_with_documented_ids(small):
    ds, texts = small
    lines = texts["libsvm"].splitlines()
    assert len(lines) == len(ds)
    cat_offsets = np.cumsum((0, *SMALL.vocab_sizes))
    for i, line in enumerate(lines):
        label, *features = line.split(" ")
        assert label == str(ds.labels[i])
        ids = [int(f.removesuffix(":1")) for f in features]
        assert all(f.endswith(":1") for f in features)
        expected = [
            1 + k * dg.N_BINS + py_log_bin(int(ds.ints[i, k]))
            for k in range(13)
            if ds.ints[i, k] >= 0
        ]
        expected += [
            1 + 13 * dg.N_BINS + int(cat_offsets[j]) + int(ds.cats[i, j])
            for j in range(26)
            if ds.cats[i, j] >= 0
        ]
        assert ids == expected
        assert ids == sorted(ids) and ids[-1] <= SMALL.n_libsvm_ids < 2**31


def test_compressed_outputs_hold_the_same_text(tmp_path):
    ds = dg.make_dataset(200, seed=2, config=SMALL)
    plain = write_all(ds, tmp_path)
    gz = write_all(ds, tmp_path, ".gz")
    for fmt in SUFFIX:
        assert gzip.decompress(gz[fmt].read_bytes()) == plain[fmt].read_bytes()


def test_log_bin_matches_definition():
    values = np.array([-1, 0, 1, 2, 3, 7, 8, 20, 1000, 123456, dg.MAX_INT])
    expected = [-1] + [py_log_bin(int(v)) for v in values[1:]]
    assert dg.log_bin(values).tolist() == expected
    assert dg.N_BINS == py_log_bin(dg.MAX_INT) + 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_base_rate_and_calibrated_truth(seed):
    config = dg.DataConfig() if seed == 1 else SMALL  # the default has vocabularies up to 1M
    ds = dg.make_dataset(40_000, seed=seed, config=config)
    assert 0.20 <= ds.labels.mean() <= 0.30
    # labels really are Bernoulli(truth_prob): equal means overall and within prob deciles
    assert abs(ds.labels.mean() - ds.truth_prob.mean()) < 0.01
    edges = np.quantile(ds.truth_prob, np.linspace(0, 1, 11))
    decile = np.clip(np.searchsorted(edges, ds.truth_prob, side="right") - 1, 0, 9)
    for d in range(10):
        rows = decile == d
        assert abs(ds.labels[rows].mean() - ds.truth_prob[rows].mean()) < 0.03
    logit = np.log(ds.truth_prob / (1 - ds.truth_prob))
    assert np.std(logit) == pytest.approx(config.logit_std, rel=0.1)


def test_missing_values_present_in_some_columns_only():
    ds = dg.make_dataset(5000, seed=4, config=SMALL)
    cat_missing = (ds.cats == dg.MISSING).mean(axis=0)
    int_missing = (ds.ints == dg.MISSING).mean(axis=0)
    assert (cat_missing > 0.01).sum() >= 3 and (cat_missing == 0).sum() >= 3
    assert (int_missing > 0.01).sum() >= 2 and (int_missing == 0).sum() >= 2
    assert ds.ints.max() > 1000  # heavy tail
    assert (ds.ints == 0).any()


def test_vocabularies_are_zipf_like_and_tokens_distinct():
    config = dg.DataConfig(vocab_sizes=(1000,) * 26)
    ds = dg.make_dataset(20_000, seed=8, config=config)
    for j in range(26):
        codes = ds.cats[:, j][ds.cats[:, j] >= 0]
        assert codes.max() < 1000
        counts = np.bincount(codes, minlength=1000)
        assert counts[0] > 10 * counts[100:110].mean()  # head far above the tail
    tokens = [ds.model.token(0, c) for c in range(1000)]
    assert len(set(tokens)) == 1000
    assert all(len(t) == 8 and int(t, 16) >= 0 for t in tokens)


def test_truth_logloss_matches_numpy():
    ds = dg.make_dataset(3000, seed=9, config=SMALL)
    y, p = ds.labels.astype(float), ds.truth_prob
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert dg.truth_logloss(ds) == pytest.approx(expected, rel=1e-12)


def test_row_ranges_are_consistent_across_blocks():
    whole = dg.make_dataset(dg.BLOCK_ROWS + 500, seed=6, config=SMALL)
    part = dg.make_dataset(1000, seed=6, config=SMALL, start=dg.BLOCK_ROWS - 500)
    for name in ("labels", "ints", "cats", "truth_prob"):
        assert np.array_equal(getattr(part, name), getattr(whole, name)[dg.BLOCK_ROWS - 500 :])


def test_interactions_change_the_truth_not_the_features():
    plain = dg.make_dataset(5000, seed=7, config=SMALL)
    config = dg.DataConfig(vocab_sizes=SMALL.vocab_sizes, interactions=4)
    crossed = dg.make_dataset(5000, seed=7, config=config)
    assert np.array_equal(plain.cats, crossed.cats) and np.array_equal(plain.ints, crossed.ints)
    assert not np.allclose(plain.truth_prob, crossed.truth_prob)
    assert len(crossed.model.pairs) == 4 and 0.2 <= crossed.labels.mean() <= 0.3


def test_config_rejects_bad_shapes():
    with pytest.raises(ValueError):
        dg.DataConfig(vocab_sizes=(5,) * 25)
    with pytest.raises(ValueError, match="2\\*\\*31"):
        dg.DataConfig(vocab_sizes=(2**27,) * 26)
    with pytest.raises(ValueError):
        dg.DataConfig(interactions=400)


def test_cli_generate_with_truth_out(tmp_path, capsys):
    vw, truth = tmp_path / "g.vw", tmp_path / "truth.txt"
    args = ["generate", "--rows", "700", "--seed", "3", "--start", "100"]
    args += ["--vocab-range", "3", "40", "-o", str(vw), "--truth-out", str(truth)]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    ds = dg.make_dataset(700, seed=3, config=SMALL, start=100)
    probs = [float(line) for line in truth.read_text().splitlines()]
    assert probs == ds.truth_prob.tolist()  # exact: shortest round-trip text
    assert summary["rows"] == 700 and summary["positives"] == int(ds.labels.sum())
    assert summary["truth_logloss"] == pytest.approx(dg.truth_logloss(ds), rel=1e-12)
    expected = tmp_path / "expected.vw"
    datagen_writers.write(ds, expected)
    assert vw.read_bytes() == expected.read_bytes()


def test_cli_reports_bad_output_names(tmp_path, capsys):
    assert main(["generate", "--rows", "5", "--seed", "1", "-o", str(tmp_path / "x.bin")]) == 2
    assert "format" in capsys.readouterr().err


def test_shipped_samples_equal_a_fresh_regeneration(tmp_path):
    truth = datagen_cli.write_samples(tmp_path)
    fresh = sorted(p.name for p in tmp_path.iterdir())
    assert fresh == sorted(p.name for p in SAMPLES.iterdir())
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name
    test = dg.make_dataset(
        datagen_cli.SAMPLE_TEST_ROWS,
        seed=datagen_cli.SAMPLE_SEED,
        config=datagen_cli.SAMPLE_CONFIG,
        start=datagen_cli.SAMPLE_TRAIN_ROWS,
    )
    assert truth["truth_test_logloss"] == pytest.approx(dg.truth_logloss(test), abs=1e-6)
    assert len((SAMPLES / "test.vw").read_text().splitlines()) == len(test)
