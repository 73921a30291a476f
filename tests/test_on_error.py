"""--on-error skip: bad lines in real logs are skipped, counted and written down."""

import json

import pytest
from clirun import ftrl, sample

# Small blocks: the two parse workers split these few hundred lines into many blocks.
LINE_LIMIT = 4096
FORMATS = ["vw", "libsvm", "csv", "tsv", "criteo"]
OPTIONS = {"csv": ["--numeric-columns", "I1,I2"], "tsv": ["--numeric-columns", "I1,I2"]}
HEADER = {"csv": True, "tsv": True}


def _field_edits(sep):
    """Bad records made from a good delimited line (its fields split on ``sep``)."""
    def edit(line, i, value):
        fields = line.split(sep)
        fields[i] = value
        return sep.join(fields)

    return [
        lambda ln: edit(ln, 0, "q"),  # bad label
        lambda ln: edit(ln, 1, "abc"),  # not a number
        lambda ln: edit(ln, 1, "1e999"),  # out of range
        lambda ln: ln + sep + "extra",  # too many columns
        lambda ln: sep.join(ln.split(sep)[:-1]),  # too few
        lambda ln: edit(ln, 20, "z" * (2 * LINE_LIMIT)),  # too long
    ]


BAD = {
    "vw": [lambda ln: "x |a b", lambda ln: "1 |a c:zz", lambda ln: "1 |a q:1e999",
           lambda ln: "1 2 3 4 |a b", lambda ln: "0 |a x:nan",
           lambda ln: "1 |a " + "y" * (2 * LINE_LIMIT)],
    "libsvm": [lambda ln: "x 1:2", lambda ln: "1 3:abc", lambda ln: "1 a:1",
               lambda ln: "1 5:1e400", lambda ln: "1 " + "7:1 " * LINE_LIMIT],
    "csv": _field_edits(","),
    "tsv": _field_edits("\t"),
    "criteo": _field_edits("\t"),
}


def make_inputs(tmp_path, fmt, rows=300):
    """A clean file and the same with bad lines among (and before and after) its records;
    returns the paths and the bad lines' numbers in the bad file."""
    lines = open(sample(f"train.{fmt}")).read().splitlines()
    header, records = (lines[:1], lines[1:rows + 1]) if HEADER.get(fmt) else ([], lines[:rows])
    bad_lines, out = [], list(header)
    makers = BAD[fmt]
    places = {0: makers[0], 299: makers[-1]}
    places.update({40 * (k + 1): m for k, m in enumerate(makers[1:-1])})
    for i, rec in enumerate(records):
        if i in places:
            out.append(places[i](rec))
            bad_lines.append(len(out))
        out.append(rec)
    out.append(makers[1](records[0]))  # the last line too
    bad_lines.append(len(out))
    clean, bad = tmp_path / f"clean.{fmt}", tmp_path / f"bad.{fmt}"
    clean.write_text("\n".join(header + records) + "\n")
    bad.write_text("\n".join(out) + "\n")
    return clean, bad, bad_lines


def train(inputs, out, *extra, stdin=None):
    return ftrl("train", *inputs, "-o", out, "--quiet", "--learning-rate", "0.1",
                "--max-line-bytes", LINE_LIMIT, *extra, stdin=stdin)


@pytest.mark.parametrize("path", ["threads", "one-thread", "stdin"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_skipping_bad_lines_trains_the_clean_files_model(tmp_path, fmt, path):
    clean, bad, bad_lines = make_inputs(tmp_path, fmt)
    opts = OPTIONS.get(fmt, [])
    r = train([clean], tmp_path / "clean.parquet", "--format", fmt, *opts)
    assert r.code == 0, r.err
    extra = {"threads": [], "one-thread": ["--no-reader-thread"], "stdin": []}[path]
    inputs, stdin = ([bad], None) if path != "stdin" else (["-"], bad.read_bytes())
    r = train(inputs, tmp_path / "skip.parquet", "--format", fmt, "--on-error", "skip",
              *opts, *extra, stdin=stdin)
    assert r.code == 0, r.err
    assert (tmp_path / "skip.parquet").read_bytes() == (tmp_path / "clean.parquet").read_bytes()
    r = train(inputs, tmp_path / "fail.parquet", "--format", fmt, *opts, *extra, stdin=stdin)
    assert r.code == 2 and r.err.count("\n") == 1
    assert f":{bad_lines[0]}: " in r.err and not (tmp_path / "fail.parquet").exists()


def test_summary_counts_skipped_records_once_over_passes(tmp_path):
    clean, bad, bad_lines = make_inputs(tmp_path, "vw")
    r = train([clean], tmp_path / "clean.parquet", "--passes", "3")
    assert r.code == 0, r.err
    r = ftrl("train", bad, "-o", tmp_path / "skip.parquet", "--learning-rate", "0.1",
             "--max-line-bytes", LINE_LIMIT, "--passes", "3", "--on-error", "skip")
    assert r.code == 0, r.err
    assert f"\nskipped records = {len(bad_lines)}\n" in r.err
    # skipped lines are no records: the holdout takes the same ones as in the clean file
    assert (tmp_path / "skip.parquet").read_bytes() == (tmp_path / "clean.parquet").read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_predict_prints_an_empty_line_for_each_skipped_record(tmp_path, fmt):
    clean, bad, bad_lines = make_inputs(tmp_path, fmt)
    model = tmp_path / "m.parquet"
    assert train([clean], model, "--format", fmt, *OPTIONS.get(fmt, [])).code == 0
    want = ftrl("predict", "-m", model, clean).out.splitlines()
    first = 2 if HEADER.get(fmt) else 1  # the line of the first record
    for inputs, stdin in (([bad], None), (["-"], bad.read_bytes())):
        r = ftrl("predict", "-m", model, *inputs, "--on-error", "skip",
                 "--max-line-bytes", LINE_LIMIT, stdin=stdin)
        assert r.code == 0, r.err
        got = r.out.splitlines()
        gaps = [i for i, line in enumerate(got) if line == ""]
        assert gaps == [n - first for n in bad_lines]
        assert [line for line in got if line] == want


def test_evaluate_reports_the_count(tmp_path):
    clean, bad, bad_lines = make_inputs(tmp_path, "criteo")
    model = tmp_path / "m.parquet"
    assert train([clean], model).code == 0
    want = json.loads(ftrl("evaluate", "-m", model, clean, "--json").out)
    r = ftrl("evaluate", "-m", model, bad, "--json", "--on-error", "skip",
             "--max-line-bytes", LINE_LIMIT)
    assert r.code == 0, r.err
    assert json.loads(r.out) == {**want, "skipped_records": len(bad_lines)}
    text = ftrl("evaluate", "-m", model, bad, "--on-error", "skip",
                "--max-line-bytes", LINE_LIMIT).out
    assert f"skipped records     {len(bad_lines)}\n" in text
    assert "skipped" not in ftrl("evaluate", "-m", model, clean).out


def test_rejects_file_holds_each_skipped_line_with_its_reason(tmp_path):
    _, bad, bad_lines = make_inputs(tmp_path, "vw")
    rejects = tmp_path / "rejects.txt"
    r = train([bad], tmp_path / "m.parquet", "--on-error", "skip", "--rejects", rejects)
    assert r.code == 0, r.err
    lines = bad.read_bytes().split(b"\n")
    entries = rejects.read_bytes().splitlines()
    assert len(entries) == len(bad_lines)
    for entry, n in zip(entries, bad_lines):
        where, raw = entry.split(b"\t", 1)
        assert where.startswith(f"{bad}:{n}: ".encode())
        assert raw == lines[n - 1][:LINE_LIMIT]
    assert entries[0] == f"{bad}:1: bad label 'x' (expected 1, 0 or -1)\tx |a b".encode()
    assert entries[-2] == (f"{bad}:{bad_lines[-2]}: line longer than {LINE_LIMIT} bytes\t"
                           .encode() + b"1 |a " + b"y" * (LINE_LIMIT - 5))


def test_too_many_bad_records_stop_the_run_and_keep_the_old_model(tmp_path):
    _, bad, bad_lines = make_inputs(tmp_path, "vw")
    model = tmp_path / "m.parquet"
    assert train([sample("train.vw")], model).code == 0
    old = model.read_bytes()
    rejects = tmp_path / "rejects.txt"
    r = train([bad], model, "--on-error", "skip", "--max-errors", "3", "--rejects", rejects)
    assert r.code == 2
    assert r.err.startswith("ftrl: error: 4 bad records, more than --max-errors 3 allows; "
                            f"the last: {bad}:{bad_lines[3]}: ")
    assert r.err.count("\n") == 1
    assert model.read_bytes() == old
    # the rejects file says what stopped the run
    assert len(rejects.read_bytes().splitlines()) == 4
    assert train([bad], model, "--on-error", "skip", "--max-errors", "7").code == 0


def test_a_share_is_checked_at_the_end(tmp_path):
    _, bad, bad_lines = make_inputs(tmp_path, "vw")  # 7 bad of 307 records: 2.3%
    model = tmp_path / "m.parquet"
    r = train([bad], model, "--on-error", "skip", "--max-errors", "2%")
    assert r.code == 2 and not model.exists()
    assert r.err.startswith(f"ftrl: error: 7 bad records of {300 + len(bad_lines)} read, "
                            "more than --max-errors 2% allows; the last: ")
    assert train([bad], model, "--on-error", "skip", "--max-errors", "2.5%").code == 0


def test_a_share_is_checked_as_records_come_once_there_are_enough(tmp_path):
    # 2% bad in the first 12,000 records, none after: 0.8% at the end, but 1% is exceeded
    # as soon as 10,000 records were read
    good = open(sample("train.vw")).read().splitlines()
    lines = [("x |a b" if i % 50 == 0 and i < 12_000 else good[i % len(good)])
             for i in range(30_000)]
    path = tmp_path / "day.vw"
    path.write_text("\n".join(lines) + "\n")
    r = train([path], tmp_path / "m.parquet", "--on-error", "skip", "--max-errors", "1%")
    assert r.code == 2
    read = int(r.err.split(" bad records of ")[1].split(" ")[0])
    assert 10_000 <= read < 12_000


@pytest.mark.parametrize("args,message", [
    (["--max-errors", "5"], "--max-errors and --rejects need --on-error skip"),
    (["--rejects", "r.txt"], "--max-errors and --rejects need --on-error skip"),
    (["--on-error", "skip", "--max-errors", "lots"],
     "--max-errors: expected a count (100) or a percentage (0.1%), got 'lots'"),
    (["--on-error", "skip", "--max-errors", "120%"],
     "--max-errors: expected a count (100) or a percentage (0.1%), got '120%'"),
])
def test_bad_option_values(tmp_path, args, message):
    for command in (["train", sample("train.vw"), "-o", tmp_path / "m.parquet"],
                    ["evaluate", "--predictions", tmp_path / "p.txt", sample("test.vw")]):
        r = ftrl(*command, *args)
        assert (r.code, r.err) == (2, f"ftrl: error: {message}\n")
