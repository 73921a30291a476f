"""--max-line-bytes: a huge line is a bad record read in bounded memory, never held whole."""

import json
import os
import subprocess
import sys

import pytest
from clirun import REPO

# Runs ftrl as its only child, feeding it (through stdin or a FIFO) a good line, a line of
# LONG bytes written a megabyte at a time, and another good line; prints the child's exit
# code, its stderr and its peak RSS (the only child's, so no other test's).
DRIVER = r"""
import json, os, resource, subprocess, sys, threading
long_bytes, fifo, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]

def feed(out):
    try:
        out.write(b"1 |a x\n1 |a ")
        chunk = b"y" * (1 << 20)
        for _ in range(long_bytes >> 20):
            out.write(chunk)
        out.write(b"\n0 |a z\n")
        out.close()
    except BrokenPipeError:  # ftrl stopped reading: the run failed, as it may
        pass

if fifo:
    proc = subprocess.Popen([sys.executable, "-m", "ftrl_cli", *args, fifo],
                            stderr=subprocess.PIPE)
    feeder = threading.Thread(target=lambda: feed(open(fifo, "wb")), daemon=True)
else:
    proc = subprocess.Popen([sys.executable, "-m", "ftrl_cli", *args, "-"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    feeder = threading.Thread(target=feed, args=(proc.stdin,), daemon=True)
feeder.start()
err = proc.stderr.read().decode()
code = proc.wait()
feeder.join(timeout=10)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss >> 10
print(json.dumps({"code": code, "err": err, "peak_mb": peak}))
"""


def run(tmp_path, long_bytes, via, *args):
    tmp_path.mkdir(exist_ok=True)
    fifo = ""
    if via == "fifo":
        fifo = str(tmp_path / "in.vw")
        os.mkfifo(fifo)
    out = subprocess.run([sys.executable, "-c", DRIVER, str(long_bytes), fifo, *map(str, args)],
                         capture_output=True, cwd=REPO, check=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("via", ["stdin", "fifo"])
def test_a_100_mb_line_is_skipped_in_bounded_memory(tmp_path, via):
    model = tmp_path / "m.parquet"
    train = ["train", "-o", model, "--format", "vw", "--max-line-bytes", 1 << 20]
    small = run(tmp_path / "a", 0, via, *train)
    assert small["code"] == 0, small["err"]
    big = run(tmp_path / "b", 100 << 20, via, *train, "--on-error", "skip",
              "--rejects", tmp_path / "rejects.txt")
    assert big["code"] == 0, big["err"]
    assert "skipped records = 1\n" in big["err"] and "number of examples = 2\n" in big["err"]
    # a 100 MB buffer (and the copies made to grow it) would show here
    assert big["peak_mb"] < small["peak_mb"] + 40, (small, big)
    where, raw = (tmp_path / "rejects.txt").read_bytes().split(b"\t")
    assert where.endswith(b":2: line longer than 1048576 bytes")
    assert raw == b"1 |a " + b"y" * ((1 << 20) - 5) + b"\n"


@pytest.mark.parametrize("via", ["stdin", "fifo"])
def test_a_too_long_line_stops_the_default_run(tmp_path, via):
    r = run(tmp_path, 20 << 20, via, "train", "-o", tmp_path / "m.parquet", "--quiet",
            "--format", "vw", "--max-line-bytes", 1 << 20)
    assert r["code"] == 2
    name = "<stdin>" if via == "stdin" else str(tmp_path / "in.vw")
    assert r["err"] == f"ftrl: error: {name}:2: line longer than 1048576 bytes\n"
    assert not (tmp_path / "m.parquet").exists()
