"""Every error a user can cause: one line naming the file and line, exit 2, no traceback,
and no model written over the old one."""

import pytest
from clirun import ftrl, ftrl_process, sample

BAD_RECORDS = {
    "bad_label.vw": ("1 |a x\n2 |a y\n", 2, "label"),
    "bad_value.vw": ("1 |a x\n0 |a y:abc\n", 2, "value"),
    "nan_value.vw": ("1 |a x\n\n0 |a y:nan\n", 3, ""),
    "inf_value.libsvm": ("1 3:1\n0 4:inf\n", 2, ""),
    "bad_index.libsvm": ("1 3:1\n0 x:1\n", 2, ""),
    "bad_label.libsvm": ("1 3:1\n0 4:1\nyes 5:1\n", 3, "label"),
    "columns.csv": ("label,a,b\n1,x,y\n0,x\n", 3, "column"),
    "bad_label.csv": ("label,a,b\n1,x,y\nmaybe,x,y\n", 3, "label"),
}


@pytest.mark.parametrize("name", sorted(BAD_RECORDS))
def test_malformed_record_stops_with_file_and_line(tmp_path, name):
    text, line, word = BAD_RECORDS[name]
    src = tmp_path / name
    src.write_text(text)
    model = tmp_path / "m.parquet"
    model.write_bytes(b"previous model")
    r = ftrl("train", src, "-o", model, "--quiet", "-b", "10")
    assert r.code == 2
    msg = r.err.strip()
    assert len(msg.splitlines()) == 1, msg
    assert f"{src}:{line}:" in msg
    assert word in msg.lower()
    assert "Traceback" not in r.err
    assert model.read_bytes() == b"previous model"


def test_process_exit_code_and_no_traceback(tmp_path):
    src = tmp_path / "bad.vw"
    src.write_text("1 |a x\nfoo |a y\n")
    r = ftrl_process("train", src, "-o", tmp_path / "m.parquet", "--quiet", "-b", "10")
    assert r.code == 2
    assert r.err.strip().count("\n") == 0 and f"{src}:2:" in r.err
    assert "Traceback" not in r.err


def test_stdin_errors_name_stdin(tmp_path):
    r = ftrl_process("train", "-", "--format", "vw", "-o", tmp_path / "m.parquet", "--quiet",
                     "-b", "10", stdin=b"1 |a x\n0 |a y\nbad |a z\n")
    assert r.code == 2 and "<stdin>:3:" in r.err


@pytest.mark.parametrize("args,needle", [
    (["train", "missing.vw", "-o", "{tmp}/m.parquet"], "missing.vw"),
    (["train", "{sample}", "-o", "{tmp}/no/such/dir/m.parquet"], "does not exist"),
    (["predict", "-m", "{tmp}/none.parquet", "{sample}"], "none.parquet"),
    (["predict", "-m", "{sample}", "{sample}"], "train.vw"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--l1", "-1"], "--l1-regularization"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--learning-rate-power", "0.5"],
     "--learning-rate-power"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--initial-accumulator-value", "-1"],
     "initial_accumulator_value"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--l2", "-1"], "l2_regularization"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--l2-shrinkage", "-1"], "shrinkage"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--clipnorm", "1", "--clipvalue", "1"],
     "Only one of"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--use-ema", "--ema-momentum", "2"],
     "ema_momentum"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--gradient-accumulation-steps", "1"],
     "gradient_accumulation_steps"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--learning-rate", "fast"],
     "--learning-rate"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--learning-rate",
      '{{"class_name": "Nope", "config": {{}}}}'], "unknown schedule"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--passes", "zero"], "--passes"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--format", "xml"], "--format"),
    (["train", "{sample}", "-o", "{tmp}/m.parquet", "--optimizer-config", "{tmp}/none.json"],
     "none.json"),
    (["evaluate", "{sample}"], "--model"),
])
def test_one_line_errors(tmp_path, args, needle):
    args = [a.format(tmp=tmp_path, sample=sample("train.vw")) for a in args]
    r = ftrl(*args)
    assert r.code == 2, r.err
    assert needle in r.err
    assert len(r.err.strip().splitlines()) == 1, r.err
    assert "Traceback" not in r.err


def test_unreadable_model_file(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    r = ftrl("predict", "-m", bad, sample("test.vw"))
    assert r.code == 2 and str(bad) in r.err and len(r.err.strip().splitlines()) == 1


def test_bad_prediction_file(tmp_path):
    preds = tmp_path / "p.txt"
    preds.write_text("0.5\nabc\n")
    r = ftrl("evaluate", "--predictions", preds, sample("test.vw"))
    assert r.code == 2 and f"{preds}:2:" in r.err


def test_predict_output_not_clobbered_on_error(tmp_path):
    model = tmp_path / "m.parquet"
    assert ftrl("train", sample("train.vw"), "-o", model, "--quiet", "-b", "12").code == 0
    bad = tmp_path / "bad.vw"
    bad.write_text("1 |a x\n0 |a y:zz\n")
    out = tmp_path / "preds.txt"
    out.write_text("old\n")
    r = ftrl("predict", "-m", model, bad, "-o", out)
    assert r.code == 2 and out.read_text() == "old\n"


def test_passes_need_files_not_stdin(tmp_path):
    r = ftrl_process("train", "-", "--format", "vw", "--passes", "2", "-o",
                     tmp_path / "m.parquet", stdin=b"1 |a x\n")
    assert r.code == 2 and "stdin" in r.err


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_missing_label_column_names_the_columns(tmp_path, command):
    data = tmp_path / "clicks.csv"
    data.write_text("id,click,hour,site,app,device,c1,c2,c3,c4\n1,0,10,a,b,c,d,e,f,g\n")
    model = tmp_path / "m.parquet"
    if command == "train":
        r = ftrl("train", data, "-o", model, "--quiet")
    else:
        labelled = tmp_path / "labelled.csv"
        labelled.write_text("id,label,hour\n1,0,10\n")
        assert ftrl("train", labelled, "-o", model, "--quiet", "-b", "10").code == 0
        r = ftrl("evaluate", "-m", model, data)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
    assert (f"{data}: no column 'label' in the header "
            "(id, click, hour, site, app, device, c1, c2, ...)") in r.err
    if command == "train":
        assert r.err.strip().endswith("use --label-column")
        assert not model.exists()


def test_label_column_option_fixes_it(tmp_path):
    data = tmp_path / "clicks.csv"
    data.write_text("id,click\n1,0\n2,1\n")
    r = ftrl("train", data, "-o", tmp_path / "m.parquet", "--quiet", "--label-column", "click")
    assert r.code == 0, r.err


def test_missing_label_column_in_columns_option(tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("0,a\n")
    r = ftrl("train", data, "--no-header", "--columns", "click,a", "-o", tmp_path / "m.parquet",
             "--quiet")
    assert r.code == 2 and f"{data}: no column 'label' in --columns (click, a)" in r.err


def test_tsv_format_on_a_csv_file(tmp_path):
    r = ftrl("train", sample("train.csv"), "--format", "tsv", "-o", tmp_path / "m.parquet",
             "--quiet")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
    assert f"{sample('train.csv')}: no column 'label' in the header" in r.err
    assert "--format csv" in r.err


def test_predictions_file_against_input_without_labels(tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("id,click\n1,0\n")
    preds = tmp_path / "p.txt"
    preds.write_text("0.5\n")
    r = ftrl("evaluate", "--predictions", preds, data)
    assert r.code == 2 and f"{data}: no column 'label' in the header (id, click)" in r.err


def test_unknown_ignore_column_is_refused(tmp_path):
    model = tmp_path / "m.parquet"
    r = ftrl("train", sample("train.csv"), "-o", model, "--quiet", "--ignore-columns", "I1,nope")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
    assert f"{sample('train.csv')}: ignored column(s) nope not in the columns" in r.err
    assert not model.exists()
    r = ftrl("train", sample("train.csv"), "-o", model, "--quiet", "--ignore-columns", "I1")
    assert r.code == 0, r.err


def test_unknown_ignore_column_without_header(tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("1,a\n")
    r = ftrl("train", data, "--no-header", "--columns", "label,a", "--ignore-columns", "b",
             "-o", tmp_path / "m.parquet", "--quiet")
    assert r.code == 2 and "b not in --columns" in r.err


def test_evaluate_count_has_no_thousands_separator(tmp_path):
    model = tmp_path / "m.parquet"
    assert ftrl("train", sample("train.vw"), "-o", model, "--quiet", "-b", "12").code == 0
    r = ftrl("evaluate", "-m", model, sample("test.vw"))
    assert r.code == 0, r.err
    assert r.out.splitlines()[0].split() == ["count", "500"]
    r = ftrl("evaluate", "-m", model, sample("test.vw"), sample("test.vw"), sample("test.vw"))
    assert r.out.splitlines()[0].split() == ["count", "1500"]


def test_q_is_not_quiet(tmp_path):
    model = tmp_path / "m.parquet"
    r = ftrl("train", sample("train.vw"), "-o", model, "-q")
    assert r.code == 2 and "-q" in r.err and not model.exists()
    r = ftrl("train", sample("train.vw"), "-o", model, "--quiet", "-b", "12")
    assert r.code == 0 and r.err == ""
