"""One writer at a time: ``ftrl train -o`` holds an OS lock on a sidecar file beside the
model; a second run fails at once with exit 75, or waits with ``--wait-lock``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from clirun import REPO, ftrl, ftrl_process, sample

from ftrl_cli.writelock import lock_path

TRAIN = ("--quiet", "-b", "16")

# Takes the lock of argv[1], says so, and holds it until its stdin closes.
HOLDER = """
import sys
from ftrl_cli.writelock import output_lock
with output_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def hold(path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"locked\n"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0


def train_process(out, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ftrl_cli", "train", sample("train.vw"),
                             "-o", str(out), *TRAIN, *extra], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_second_writer_fails_at_once_with_75_naming_the_holder(tmp_path):
    out = tmp_path / "m.parquet"
    out.write_bytes(b"old model")
    holder = hold(out)
    try:
        r = ftrl_process("train", sample("train.vw"), "-o", out, *TRAIN)
    finally:
        release(holder)
    assert r.code == 75
    assert r.err.strip().splitlines() == [
        f"ftrl: error: {out}: being written by process {holder.pid}; "
        "--wait-lock SECONDS waits for it"]
    assert out.read_bytes() == b"old model"
    assert ftrl("train", sample("train.vw"), "-o", out, *TRAIN).code == 0  # free again


def test_wait_lock_succeeds_when_the_holder_finishes_in_time(tmp_path):
    out = tmp_path / "m.parquet"
    holder = hold(out)
    waiting = train_process(out, "--wait-lock", "120")
    try:
        # However long it runs, it cannot write the model while the lock is held.
        time.sleep(1.0)
        assert waiting.poll() is None and not out.exists()
    finally:
        release(holder)
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert out.stat().st_size > 0


def test_wait_lock_gives_up_with_75(tmp_path):
    out = tmp_path / "m.parquet"
    holder = hold(out)
    try:
        r = ftrl("train", sample("train.vw"), "-o", out, *TRAIN, "--wait-lock", "0.3")
    finally:
        release(holder)
    assert r.code == 75
    assert r.err.strip().splitlines() == [
        f"ftrl: error: {out}: being written by process {holder.pid} (waited 0.3 s)"]
    assert not out.exists()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "m.parquet"
    holder = hold(out)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    assert os.path.exists(lock_path(str(out)))  # the file stays, the lock went with the process
    r = ftrl("train", sample("train.vw"), "-o", out, *TRAIN)
    assert r.code == 0, r.err
    assert out.stat().st_size > 0


def test_the_lock_sits_beside_the_real_file_and_stays(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link.parquet"
    link.symlink_to(real / "m.parquet")
    assert ftrl("train", sample("train.vw"), "-o", link, *TRAIN).code == 0
    assert lock_path(str(link)) == str(real / ".m.parquet.lock")
    assert sorted(p.name for p in real.iterdir()) == [".m.parquet.lock", "m.parquet"]
    # a symlink's own folder gets no lock file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.parquet", "real"]


def test_devices_are_not_locked():
    assert lock_path("/dev/null") is None
    assert lock_path("/dev/fd/1") is None
    assert ftrl("train", sample("train.vw"), "-o", "/dev/null", *TRAIN).code == 0
