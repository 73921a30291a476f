"""A model reads input in the format and with the columns it was trained on."""

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from clirun import ftrl, sample


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    paths = {}
    for fmt in ("vw", "csv", "libsvm", "criteo"):
        paths[fmt] = out / f"{fmt}.parquet"
        r = ftrl("train", sample(f"train.{fmt}"), "-o", paths[fmt], "--quiet", "-b", "18",
                 "--learning-rate", "0.1")
        assert r.code == 0, r.err
    return paths


def predictions(*args) -> np.ndarray:
    r = ftrl("predict", *args)
    assert r.code == 0, r.err
    return np.array([float(x) for x in r.out.split()])


def one_line_error(r) -> str:
    assert r.code == 2, (r.out, r.err)
    assert len(r.err.strip().splitlines()) == 1, r.err
    assert "Traceback" not in r.err
    return r.err.strip()


def features(model) -> dict:
    return json.loads(pq.read_metadata(model).metadata[b"ftrl"])["features"]


@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.parametrize("trained,data", [("vw", "csv"), ("vw", "libsvm"), ("csv", "vw"),
                                          ("criteo", "csv"), ("libsvm", "vw")])
def test_input_of_another_format_is_refused(models, command, trained, data):
    r = ftrl(command, "-m", models[trained], sample(f"test.{data}"))
    msg = one_line_error(r)
    assert f"test.{data}: the model was trained on {trained} input; this input is {data}" in msg
    assert r.out == ""


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_format_option_the_model_cannot_read_is_refused(models, command):
    r = ftrl(command, "-m", models["vw"], sample("test.vw"), "--format", "csv")
    assert "the model was trained on vw input; this input is csv" in one_line_error(r)


def test_criteo_model_does_not_read_tsv(models):
    r = ftrl("predict", "-m", models["criteo"], sample("test.tsv"), "--format", "tsv")
    assert "trained on criteo input; this input is tsv" in one_line_error(r)


def test_csv_model_reads_tsv_when_asked(models):
    by_csv = predictions("-m", models["csv"], sample("test.csv"))
    by_tsv = predictions("-m", models["csv"], sample("test.tsv"), "--format", "tsv")
    assert len(by_csv) == 500
    np.testing.assert_array_equal(by_tsv, by_csv)
    r = ftrl("evaluate", "-m", models["csv"], sample("test.tsv"), "--format", "tsv")
    assert r.code == 0, r.err


def test_tsv_extension_on_csv_model_needs_the_format_option(models):
    msg = one_line_error(ftrl("predict", "-m", models["csv"], sample("test.tsv")))
    assert "trained on csv input; this input is tsv" in msg and "--format tsv" in msg


@pytest.mark.parametrize("fmt", ["vw", "csv", "libsvm"])
def test_file_without_extension_takes_the_model_format(models, tmp_path, fmt):
    bare = tmp_path / "test"
    shutil.copy(sample(f"test.{fmt}"), bare)
    expected = predictions("-m", models[fmt], sample(f"test.{fmt}"))
    np.testing.assert_array_equal(predictions("-m", models[fmt], bare), expected)
    # Not the bias alone: the records' features were read.
    assert np.unique(expected).size > 100


def test_stdin_takes_the_model_format(models):
    data = open(sample("test.csv"), "rb").read()
    r = ftrl("predict", "-m", models["csv"], "-", stdin=data)
    assert r.code == 0, r.err
    expected = predictions("-m", models["csv"], sample("test.csv"))
    np.testing.assert_array_equal(np.array(r.out.split(), float), expected)


def test_init_model_of_another_format_is_refused(models, tmp_path):
    model = tmp_path / "m.parquet"
    shutil.copy(models["vw"], model)
    before = model.read_bytes()
    r = ftrl("train", sample("train.csv"), "--init-model", model, "-o", model, "--quiet")
    msg = one_line_error(r)
    assert str(model) in msg and "format: model has 'vw', this run has 'csv'" in msg
    assert model.read_bytes() == before


@pytest.mark.parametrize("trained,data", [("vw", "vw"), ("csv", "csv"), ("csv", "tsv")])
def test_warm_start_in_a_readable_format(models, tmp_path, trained, data):
    out = tmp_path / "m.parquet"
    r = ftrl("train", sample(f"train.{data}"), "--init-model", models[trained], "-o", out,
             "--quiet")
    assert r.code == 0, r.err
    assert features(out)["format"] == data


def test_header_names_are_recorded(models):
    header = open(sample("train.csv")).readline().strip().split(",")
    assert features(models["csv"])["columns"] == header
    assert features(models["vw"])["columns"] is None


def test_headerless_file_needs_no_header_alone(models, tmp_path):
    bare = tmp_path / "test.csv"
    bare.write_text("".join(open(sample("test.csv")).readlines()[1:]))
    expected = predictions("-m", models["csv"], sample("test.csv"))
    np.testing.assert_array_equal(predictions("-m", models["csv"], bare, "--no-header"),
                                  expected)
    r = ftrl("evaluate", "-m", models["csv"], bare, "--no-header")
    assert r.code == 0, r.err


def _rewrite_csv(src, dst, order):
    rows = [line.rstrip("\n").split(",") for line in open(src)]
    dst.write_text("".join(",".join(row[i] for i in order) + "\n" for row in rows))


def test_header_columns_in_another_order(models, tmp_path):
    expected = predictions("-m", models["csv"], sample("test.csv"))
    width = len(open(sample("test.csv")).readline().split(","))
    shuffled = tmp_path / "shuffled.csv"
    _rewrite_csv(sample("test.csv"), shuffled, list(reversed(range(width))))
    np.testing.assert_array_equal(predictions("-m", models["csv"], shuffled), expected)


def test_header_without_a_feature_column_scores_it_as_missing(models, tmp_path):
    width = len(open(sample("test.csv")).readline().split(","))
    dropped = tmp_path / "dropped.csv"
    _rewrite_csv(sample("test.csv"), dropped, [i for i in range(width) if i != 15])
    blanked = tmp_path / "blanked.csv"
    lines = [line.rstrip("\n").split(",") for line in open(sample("test.csv"))]
    blanked.write_text("".join(
        ",".join(v if i != 15 or n == 0 else "" for i, v in enumerate(row)) + "\n"
        for n, row in enumerate(lines)))
    got = predictions("-m", models["csv"], dropped)
    np.testing.assert_array_equal(got, predictions("-m", models["csv"], blanked))
    assert not np.array_equal(got, predictions("-m", models["csv"], sample("test.csv")))


def test_predict_needs_no_label_column(models, tmp_path):
    width = len(open(sample("test.csv")).readline().split(","))
    unlabelled = tmp_path / "unlabelled.csv"
    _rewrite_csv(sample("test.csv"), unlabelled, range(1, width))
    expected = predictions("-m", models["csv"], sample("test.csv"))
    np.testing.assert_array_equal(predictions("-m", models["csv"], unlabelled), expected)
    msg = one_line_error(ftrl("evaluate", "-m", models["csv"], unlabelled))
    assert f"{unlabelled}: no column 'label' in the header (I1, I2," in msg


def test_old_checkpoint_without_columns(models, tmp_path):
    old = tmp_path / "old.parquet"
    table = pq.read_table(models["csv"])
    meta = json.loads(table.schema.metadata[b"ftrl"])
    meta["features"]["columns"] = None
    pq.write_table(table.replace_schema_metadata({b"ftrl": json.dumps(meta).encode()}), old)
    expected = predictions("-m", models["csv"], sample("test.csv"))
    np.testing.assert_array_equal(predictions("-m", old, sample("test.csv")), expected)
    bare = tmp_path / "test.csv"
    bare.write_text("".join(open(sample("test.csv")).readlines()[1:]))
    header = open(sample("test.csv")).readline().strip()
    np.testing.assert_array_equal(
        predictions("-m", old, bare, "--no-header", "--columns", header), expected)
    assert "--columns" in one_line_error(ftrl("predict", "-m", old, bare, "--no-header"))
