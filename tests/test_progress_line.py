"""The progress line: drawn on a terminal (a pseudo-terminal here) and cleared at the end,
absent when stderr is a pipe; bytes counted from the readers, compressed ones included."""

from __future__ import annotations

import gzip
import io
import lzma
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest
from clirun import REPO, ftrl, ftrl_process, sample

from ftrl_cli.progress_line import CLEAR, ProgressLine, human_bytes, progress_line
from ftrl_cli.readers.source import open_source

LINES = open(sample("test.vw"), "rb").read().splitlines(keepends=True)


def run_on_terminal(args, feed):
    """``ftrl ARGS`` with stderr on a pseudo-terminal and stdout a pipe, its stdin fed the
    ``feed`` chunks 0.3 s apart; returns (code, stdout, terminal bytes)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "ftrl_cli", *map(str, args)], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = bytearray()

    def drain(wait):
        while select.select([master], [], [], wait)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            seen.extend(chunk)
            wait = 0

    for chunk in feed:
        proc.stdin.write(chunk)
        proc.stdin.flush()
        drain(0.3)
    proc.stdin.close()
    out = proc.stdout.read()
    code = proc.wait()
    drain(0.2)
    os.close(master)
    return code, out, bytes(seen)


def slowly(lines, pieces=8):
    step = -(-len(lines) // pieces)
    return [b"".join(lines[i:i + step]) for i in range(0, len(lines), step)]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "model.parquet"
    assert ftrl("train", sample("train.vw"), "-o", path, "--learning-rate", "0.1",
                "--quiet").code == 0
    return path


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_a_terminal_sees_one_line_that_is_cleared_at_the_end(model, command):
    code, out, tty = run_on_terminal([command, "-m", model], slowly(LINES))
    assert code == 0
    piped = ftrl_process(command, "-m", model, stdin=b"".join(LINES))
    assert out.decode() == piped.out and piped.err == ""
    text = tty.decode()
    assert "\n" not in text and text.startswith("\r") and text.endswith(CLEAR)
    drawn = [part.removesuffix("\x1b[K") for part in text[:-len(CLEAR)].split("\r") if part]
    assert len(drawn) >= 2  # redrawn as the records arrive
    assert all(re.fullmatch(r"[\d,]+ records  [\d,]+ records/s  [\d.]+ k?B read", part)
               for part in drawn), drawn
    counts = [int(part.split()[0].replace(",", "")) for part in drawn]
    assert counts == sorted(counts) and counts[-1] <= len(LINES)


def test_train_quiet_shows_the_line_and_the_table_does_not_get_one(tmp_path):
    args = ["train", "-", "--format", "vw", "-o", tmp_path / "m.parquet"]
    code, _, tty = run_on_terminal([*args, "--quiet"], slowly(LINES))
    assert code == 0 and tty.startswith(b"\r") and tty.endswith(CLEAR.encode())
    assert b" records  " in tty
    code, _, tty = run_on_terminal(args, slowly(LINES))
    assert code == 0 and b"records/s" not in tty and b"finished run" in tty


def test_an_error_comes_after_the_line_is_cleared(model):
    bad = slowly(LINES[:300]) + [b"x |a b\n"]
    code, _, tty = run_on_terminal(["predict", "-m", model], bad)
    assert code == 2
    before, error = tty.decode().rsplit(CLEAR, 1)
    assert " records  " in before and error.startswith("ftrl: error: <stdin>:301: ")


def test_pipes_get_nothing_more(model, tmp_path):
    predictions = tmp_path / "p.txt"
    r = ftrl_process("predict", "-m", model, sample("test.vw"), "-o", predictions)
    assert (r.code, r.out, r.err) == (0, "", "")
    r = ftrl_process("evaluate", "-m", model, sample("test.vw"))
    assert r.err == "" and r.out == ftrl("evaluate", "-m", model, sample("test.vw")).out


def test_the_line_counts_compressed_bytes_of_the_total(tmp_path):
    data = b"".join(LINES) * 20
    files = [tmp_path / "a.vw.gz", tmp_path / "b.vw.xz", tmp_path / "c.vw"]
    files[0].write_bytes(gzip.compress(data))
    files[1].write_bytes(lzma.compress(data))
    files[2].write_bytes(data)
    total = sum(os.path.getsize(f) for f in files)
    now = iter(range(10**6)).__next__  # a second passes between two looks at the clock
    out = io.StringIO()
    line = ProgressLine([str(f) for f in files], out, clock=now)
    assert line.total == total
    for f in files:
        with open_source(str(f)) as source:
            line.opened(source)
            while source.read(1 << 14):
                line.add(10)
            assert source.bytes_read == os.path.getsize(f)
    last = out.getvalue().rsplit("\r", 1)[1].removesuffix("\x1b[K")
    assert f"of {human_bytes(total)} (100%)" in last and last.endswith("ETA 0:00")


def test_nothing_is_drawn_off_a_terminal(capsys):
    with progress_line(["-"]) as line:
        assert line.on_open is None
        line.add(10**6)
        time.sleep(0.3)
        line.add(1)
    assert capsys.readouterr().err == ""
