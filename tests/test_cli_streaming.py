"""predict and evaluate on stdin: live streams scored as they arrive (with or without
--format), no INPUT meaning stdin, empty stdin, and the predictions owed before a bad record.
"""

import os
import select
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from clirun import REPO, ftrl, ftrl_process, sample

# generous: a loaded two-core machine may take long to start a process
WAIT = 120


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    paths = {}
    for fmt in ("vw", "csv"):
        paths[fmt] = out / f"{fmt}.parquet"
        r = ftrl("train", sample(f"train.{fmt}"), "-o", paths[fmt], "-b", "16",
                 "--learning-rate", "0.1", "--quiet")
        assert r.code == 0, r.err
    return paths


def _lines(name: str, n: int) -> list[bytes]:
    with open(sample(name), "rb") as fh:
        return fh.read().splitlines(keepends=True)[:n]


def _read_lines(proc: subprocess.Popen, n: int) -> list[str]:
    """Read ``n`` lines of the process's stdout, failing if they take longer than WAIT."""
    got = b""
    deadline = time.monotonic() + WAIT
    while got.count(b"\n") < n:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], max(left, 0))
        assert ready, f"only {got!r} after {WAIT} s while the stream stays open"
        chunk = os.read(proc.stdout.fileno(), 1 << 16)
        assert chunk, f"stdout closed after {got!r}"
        got += chunk
    return got.decode().splitlines()


@pytest.mark.parametrize("fmt,args", [
    ("vw", ["-", "--format", "vw"]),
    ("vw", ["-"]),  # the format is detected from the first line
    ("vw", []),  # no INPUT: stdin
    ("csv", ["-"]),  # the first line is the header: detected, then read, as it comes
])
def test_live_stream_is_scored_while_the_producer_pauses(models, fmt, args):
    lines = _lines(f"test.{fmt}", 6)
    proc = subprocess.Popen([sys.executable, "-m", "ftrl_cli", "predict", "-m",
                             str(models[fmt]), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO)
    try:
        proc.stdin.write(b"".join(lines[:4]))
        proc.stdin.flush()
        # the producer pauses with stdin open: the predictions must come all the same
        first = _read_lines(proc, 3 if fmt == "csv" else 4)
        assert proc.poll() is None
        proc.stdin.write(b"".join(lines[4:]))
        proc.stdin.flush()
        second = _read_lines(proc, 2)
        proc.stdin.close()
        assert proc.wait(timeout=WAIT) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    whole = ftrl("predict", "-m", models[fmt], sample(f"test.{fmt}")).out.splitlines()
    assert first + second == whole[: len(first) + len(second)]


@pytest.mark.parametrize("args", [["-"], []])
def test_predict_on_empty_stdin_prints_nothing(models, args):
    for model in models.values():
        r = ftrl("predict", "-m", model, *args, stdin=b"")
        assert (r.code, r.out, r.err) == (0, "", "")


@pytest.mark.parametrize("args", [["-"], []])
def test_evaluate_on_empty_stdin_has_no_labelled_records(models, args):
    r = ftrl("evaluate", "-m", models["vw"], *args, stdin=b"")
    assert r.code == 2 and r.out == ""
    assert r.err.strip() == "ftrl: error: no labelled records in the input"


def test_train_on_empty_stdin_is_train_on_an_empty_file(tmp_path):
    empty = tmp_path / "empty.vw"
    empty.write_bytes(b"")
    a = ftrl("train", empty, "-o", tmp_path / "a.parquet", "--quiet")
    b = ftrl("train", "-", "-o", tmp_path / "b.parquet", "--quiet", stdin=b"")
    assert (a.code, a.err) == (0, "") and (b.code, b.err) == (0, "")
    ta, tb = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    assert ta.equals(tb) and ta.schema.metadata == tb.schema.metadata


def test_no_input_reads_stdin(models, tmp_path):
    data = open(sample("test.vw"), "rb").read()
    preds = ftrl("predict", "-m", models["vw"], sample("test.vw"))
    assert ftrl("predict", "-m", models["vw"], stdin=data).out == preds.out
    report = ftrl("evaluate", "-m", models["vw"], sample("test.vw")).out
    assert ftrl("evaluate", "-m", models["vw"], stdin=data).out == report
    (tmp_path / "p.txt").write_text(preds.out)
    r = ftrl("evaluate", "--predictions", tmp_path / "p.txt", stdin=data)
    assert r.code == 0 and r.out == report


def test_train_still_needs_input(tmp_path):
    r = ftrl("train", "-o", tmp_path / "m.parquet", stdin=b"1 |a x\n")
    assert r.code == 2 and "INPUT" in r.err
    assert not (tmp_path / "m.parquet").exists()


@pytest.mark.parametrize("args", [["--format", "vw", "-"], ["-"]])
def test_bad_record_on_stdin_after_the_owed_predictions(models, args):
    r = ftrl_process("predict", "-m", models["vw"], *args,
                     stdin=b"1 |a x\n1 |a y\nbad line\n")
    good = ftrl("predict", "-m", models["vw"], "-", stdin=b"1 |a x\n1 |a y\n")
    assert r.code == 2
    assert r.out == good.out and len(r.out.splitlines()) == 2
    # (a first run in a fresh kernel cache says so on stderr before)
    errors = [line for line in r.err.splitlines() if line.startswith("ftrl: error:")]
    assert len(errors) == 1 and errors[0].startswith("ftrl: error: <stdin>:3: bad label 'bad'")
    assert "Traceback" not in r.err


def test_bad_record_in_a_file_after_the_owed_predictions(models, tmp_path):
    bad = tmp_path / "bad.vw"
    bad.write_bytes(open(sample("test.vw"), "rb").read() + b"bad line\n1 |a x\n")
    r = ftrl("predict", "-m", models["vw"], bad)
    assert r.code == 2
    assert r.out == ftrl("predict", "-m", models["vw"], sample("test.vw")).out
    assert r.err.strip() == f"ftrl: error: {bad}:501: bad label 'bad' (expected 1, 0 or -1)"
