"""A write the system refuses (file-size limit, full disk, read-only folder) and SIGTERM:
one line, the right exit code, the old file intact and no temporary file left."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
import time

import pytest
from clirun import REPO, ftrl, ftrl_process, sample

TRAIN = ("--quiet", "-b", "16")


def _small_file_limit(size: int):
    def limit() -> None:
        # SIGXFSZ would kill the process; ignored, the write fails with EFBIG instead.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def ftrl_limited(size: int, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ftrl_cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, preexec_fn=_small_file_limit(size))


def temporaries(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def refused_past_the_limit(limit: int, out, args: list) -> None:
    """``ftrl ARGS`` writing ``out`` past a file-size limit: one line, exit 1, the old file
    as it was and no temporary file."""
    before = out.read_bytes()
    assert len(before) > limit
    r = ftrl_limited(limit, *args)
    assert r.returncode == 1, r.stderr
    assert r.stderr.splitlines() == [f"ftrl: error: {out}: file too large"]
    assert out.read_bytes() == before
    assert temporaries(out.parent) == []


def test_model_larger_than_the_file_size_limit(tmp_path):
    out = tmp_path / "m.parquet"
    args = ["train", sample("train.vw"), "-o", out, *TRAIN, "--passes", "2"]
    # unlimited first: the old file, and the kernels the limited run must not compile
    assert ftrl_process(*args).code == 0
    refused_past_the_limit(4096, out, args)


def test_predictions_larger_than_the_file_size_limit(tmp_path):
    model, out = tmp_path / "m.parquet", tmp_path / "preds.txt"
    assert ftrl_process("train", sample("train.vw"), "-o", model, *TRAIN).code == 0
    # unlimited first: the old file, and the kernel cache the limited run must not write
    assert ftrl_process("predict", "-m", model, sample("test.vw"), "-o", out).code == 0
    refused_past_the_limit(1024, out, ["predict", "-m", model, sample("test.vw"), "-o", out])


def test_predictions_to_a_redirected_stdout_larger_than_the_limit(tmp_path):
    model, out = tmp_path / "m.parquet", tmp_path / "preds.txt"
    assert ftrl_process("train", sample("train.vw"), "-o", model, *TRAIN).code == 0
    assert ftrl_process("predict", "-m", model, sample("test.vw"), "-o", out).code == 0
    with open(out, "wb") as stdout:  # as `ftrl predict ... > preds.txt`
        r = subprocess.run([sys.executable, "-m", "ftrl_cli", "predict", "-m", model,
                            sample("test.vw")], cwd=REPO, stdout=stdout,
                           stderr=subprocess.PIPE, text=True,
                           preexec_fn=_small_file_limit(1024))
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["ftrl: error: file too large"]


ONE_BIG_WRITE = """
import sys
from ftrl_cli.outputs import open_output
with open_output(sys.argv[1]) as fh:
    fh.write(b"x" * 100_000)
"""


def test_one_write_past_the_limit_is_not_cut_short(tmp_path):
    # A buffered file reports a short write and drops the rest: the file would be cut.
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")
    r = subprocess.run([sys.executable, "-c", ONE_BIG_WRITE, str(out)], cwd=REPO,
                       capture_output=True, text=True, preexec_fn=_small_file_limit(1024))
    assert r.returncode != 0
    assert r.stderr.splitlines()[-1] == f"ftrl_cli.errors.SystemIOError: {out}: file too large"
    assert out.read_bytes() == b"old"
    assert temporaries(tmp_path) == []


def test_full_disk_is_exit_1_with_one_line(tmp_path, monkeypatch):
    out = tmp_path / "m.parquet"
    out.write_bytes(b"old model")

    def full(_fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    r = ftrl("train", sample("train.vw"), "-o", out, *TRAIN)
    assert r.code == 1
    assert r.err.splitlines() == [f"ftrl: error: {out}: no space left on device"]
    assert out.read_bytes() == b"old model"
    assert temporaries(tmp_path) == []


def test_an_unwritable_folder_is_exit_1_before_any_work(tmp_path, monkeypatch):
    model = tmp_path / "m.parquet"
    assert ftrl("train", sample("train.vw"), "-o", model, *TRAIN).code == 0
    folder = tmp_path / "models"
    folder.mkdir()
    real_access = os.access

    def access(path, mode, **kw):
        if os.fspath(path) == str(folder) and mode & os.W_OK:
            return False  # as for a read-only folder when not root
        return real_access(path, mode, **kw)

    monkeypatch.setattr(os, "access", access)
    for args in (["train", sample("train.vw"), *TRAIN],
                 ["predict", "-m", model, sample("test.vw")]):
        r = ftrl(*args, "-o", folder / "out")
        assert r.code == 1
        assert r.err.splitlines() == [
            f"ftrl: error: {folder / 'out'}: folder {folder} is not writable"]
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_a_read_only_folder(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "m.parquet").write_bytes(b"old model")
    folder.chmod(0o555)
    try:
        r = ftrl("train", sample("train.vw"), "-o", folder / "m.parquet", *TRAIN)
    finally:
        folder.chmod(0o755)
    assert r.code == 1 and len(r.err.splitlines()) == 1 and "not writable" in r.err
    assert (folder / "m.parquet").read_bytes() == b"old model"


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _terminate_streaming(args: list, started) -> subprocess.CompletedProcess:
    """Run ``ftrl ARGS`` on a stdin that stays open, send SIGTERM once ``started(proc)``."""
    proc = subprocess.Popen([sys.executable, "-m", "ftrl_cli", *map(str, args)], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    with open(sample("train.vw"), "rb") as fh:
        proc.stdin.write(b"".join(fh.readlines()[:50]))
    proc.stdin.flush()
    try:
        _wait_for(lambda: started(proc), "the run to start")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(args, proc.returncode, out, err.decode())


def test_sigterm_while_training_on_a_slow_stdin(tmp_path):
    out = tmp_path / "m.parquet"
    assert ftrl_process("train", sample("train.vw"), "-o", out, *TRAIN).code == 0
    before = out.read_bytes()
    lock = tmp_path / ".m.parquet.lock"

    def training(proc) -> bool:  # the lock file holds its pid once the run has begun
        return lock.exists() and lock.read_text().strip() == str(proc.pid)

    r = _terminate_streaming(["train", "-", "--format", "vw", "-o", out, *TRAIN], training)
    assert r.returncode == 143
    assert r.stderr.splitlines() == ["ftrl: terminated"]
    assert out.read_bytes() == before
    assert temporaries(tmp_path) == []


def test_sigterm_while_predicting_into_a_file(tmp_path):
    model, out = tmp_path / "m.parquet", tmp_path / "preds.txt"
    assert ftrl_process("train", sample("train.vw"), "-o", model, *TRAIN).code == 0
    out.write_bytes(b"old predictions\n")
    r = _terminate_streaming(["predict", "-m", model, "-", "-o", out],
                             lambda _proc: temporaries(tmp_path) != [])
    assert r.returncode == 143
    assert r.stderr.splitlines() == ["ftrl: terminated"]
    assert out.read_bytes() == b"old predictions\n"
    assert temporaries(tmp_path) == []
