"""Temporary files that a killed writer left are removed by the next writer of the same file."""

import os
import signal
import socket
import subprocess
import sys
import time

from ftrl_cli.atomic import _temp_prefix, atomic_binary


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _write(path, data=b"new"):
    with atomic_binary(str(path)) as fh:
        fh.write(data)


def test_a_dead_writers_temp_file_is_removed(tmp_path):
    target = tmp_path / "model.parquet"
    orphan = tmp_path / f"{_temp_prefix(target.name)}{_dead_pid()}-abcdef.tmp"
    orphan.write_bytes(b"half a model")
    _write(target)
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.parquet"]


def test_live_writers_other_files_and_other_hosts_are_kept(tmp_path):
    target = tmp_path / "model.parquet"
    live = tmp_path / f"{_temp_prefix(target.name)}{os.getpid()}-abcdef.tmp"
    other_file = tmp_path / f"{_temp_prefix('other.parquet')}{_dead_pid()}-abcdef.tmp"
    host = socket.gethostname().split(".")[0]
    elsewhere = tmp_path / f".model.parquet.ftrl-not{host}-{_dead_pid()}-abcdef.tmp"
    for f in (live, other_file, elsewhere):
        f.write_bytes(b"x")
    _write(target)
    assert all(f.exists() for f in (live, other_file, elsewhere))


def test_a_writer_killed_mid_write_leaves_a_file_the_next_run_removes(tmp_path):
    target = tmp_path / "model.parquet"
    target.write_bytes(b"old")
    code = (
        "import sys, time\n"
        "from ftrl_cli.atomic import atomic_binary\n"
        "with atomic_binary(sys.argv[1]) as fh:\n"
        "    fh.write(b'partial'); fh.flush(); print('writing', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE)
    assert child.stdout.readline() == b"writing\n"
    child.send_signal(signal.SIGKILL)
    child.wait()
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and target.read_bytes() == b"old"
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{child.pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    _write(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.parquet"]
    assert target.read_bytes() == b"new"
