"""-o on train and predict: regular files are replaced atomically, keeping their mode;
devices, FIFOs, inherited descriptors and symlinks are written through, never replaced."""

import contextlib
import os
import stat
import subprocess
import sys
import threading

import pyarrow.parquet as pq
import pytest
from clirun import REPO, answers_one_by_one, ftrl, ftrl_process, sample

TRAIN = ("--learning-rate", "0.1", "-b", "16", "--quiet")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.parquet"
    assert ftrl("train", sample("train.vw"), "-o", path, *TRAIN).code == 0
    return path


@pytest.fixture(scope="module")
def expected(model):
    r = ftrl("predict", "-m", model, sample("test.vw"))
    assert r.code == 0 and r.out.count("\n") == 500
    return r.out


@contextlib.contextmanager
def fifo_contents(fifo):
    """Collect everything written to ``fifo`` while the block runs, into a list."""
    # A second name for the FIFO: should the writer never open it (say it replaced the
    # FIFO by a file), the blocked reader is released through this one.
    keep = f"{fifo}.keep"
    os.link(fifo, keep)
    got = []

    def read():
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield got
    finally:
        reader.join(30)
        if reader.is_alive():
            os.close(os.open(keep, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(30)


def test_predict_into_a_fifo_writes_through_it(tmp_path, model, expected):
    fifo = tmp_path / "preds.fifo"
    os.mkfifo(fifo)
    with fifo_contents(fifo) as got:
        r = ftrl("predict", "-m", model, sample("test.vw"), "-o", fifo)
    assert r.code == 0, r.err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got == [expected.encode()]


def test_train_into_a_fifo_writes_a_valid_model(tmp_path, model):
    fifo = tmp_path / "model.fifo"
    os.mkfifo(fifo)
    with fifo_contents(fifo) as got:
        r = ftrl("train", sample("train.vw"), "-o", fifo, *TRAIN)
    assert r.code == 0, r.err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    (tmp_path / "copy.parquet").write_bytes(b"".join(got))
    assert pq.read_table(tmp_path / "copy.parquet").equals(pq.read_table(model))


def null_device(tmp_path):
    """A character device like /dev/null (1, 3) in ``tmp_path``: a test never risks the real
    one."""
    path = tmp_path / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.close(os.open(path, os.O_WRONLY))
    except PermissionError:
        pytest.skip("creating or opening a device node is not permitted here")
    return path


@pytest.mark.parametrize("command", ["predict", "train"])
def test_a_character_device_stays_a_device(tmp_path, model, command):
    dev = null_device(tmp_path)
    args = (["predict", "-m", model, sample("test.vw")] if command == "predict"
            else ["train", sample("train.vw"), *TRAIN])
    r = ftrl(*args, "-o", dev)
    assert r.code == 0, r.err
    assert stat.S_ISCHR(os.lstat(dev).st_mode)
    assert os.lstat(dev).st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_predict_into_a_unix_socket_connects_to_it(tmp_path, model, expected):
    import socket

    path = str(tmp_path / "preds.sock")
    got = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        server.settimeout(60)

        def serve():
            conn, _ = server.accept()
            with conn, conn.makefile("rb") as fh:
                got.append(fh.read())

        listener = threading.Thread(target=serve, daemon=True)
        listener.start()
        r = ftrl("predict", "-m", model, sample("test.vw"), "-o", path)
        listener.join(60)
    assert r.code == 0, r.err
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert got == [expected.encode()]


@pytest.mark.parametrize("target", ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_stdout_by_any_name(model, expected, target):
    if target != "-":
        guard_real_stdout(target)
    r = ftrl_process("predict", "-m", model, sample("test.vw"), "-o", target)
    assert r.code == 0, r.err
    assert r.out == expected
    assert os.path.islink("/dev/stdout")


def guard_real_stdout(target):
    """These tests name the machine's real /dev/stdout: refuse to run one where a broken
    build would swap it for a file."""
    if not (os.path.islink("/dev/stdout") and os.path.isdir("/proc/self/fd")):
        pytest.skip("needs Linux's /dev/stdout -> /proc/self/fd/1")
    from ftrl_cli.outputs import resolve

    assert resolve(target).kind == "fd"


def test_dev_stdout_appends_to_a_redirected_file(tmp_path, model, expected):
    # A copy of the descriptor, not a reopened file: `>> log` appends, as the shell means.
    guard_real_stdout("/dev/stdout")
    log = tmp_path / "log.txt"
    log.write_text("earlier\n")
    with open(log, "ab") as fh:
        proc = subprocess.run([sys.executable, "-m", "ftrl_cli", "predict", "-m", str(model),
                               sample("test.vw"), "-o", "/dev/stdout"], stdout=fh, cwd=REPO)
    assert proc.returncode == 0
    assert log.read_text() == "earlier\n" + expected
    assert os.path.islink("/dev/stdout")


def test_a_closed_descriptor_is_a_one_line_error(model):
    r = ftrl_process("predict", "-m", model, sample("test.vw"), "-o", "/dev/fd/9")
    assert r.code == 2
    assert r.err.strip() == "ftrl: error: /dev/fd/9: file descriptor 9 is not open"


def make_link(tmp_path, name):
    """``tmp_path/links/name -> ../real/name``: a relative symlink into another folder."""
    (tmp_path / "links").mkdir()
    (tmp_path / "real").mkdir()
    link = tmp_path / "links" / name
    link.symlink_to(os.path.join("..", "real", name))
    return link, tmp_path / "real" / name


def test_predict_writes_through_a_symlink(tmp_path, model, expected):
    link, target = make_link(tmp_path, "target.txt")
    target.write_text("old predictions\n")
    r = ftrl("predict", "-m", model, sample("test.vw"), "-o", link)
    assert r.code == 0, r.err
    assert link.is_symlink()
    assert target.read_text() == expected
    assert [p.name for p in (tmp_path / "links").iterdir()] == ["target.txt"]
    assert [p.name for p in (tmp_path / "real").iterdir()] == ["target.txt"]


def test_train_writes_a_model_through_a_dangling_symlink(tmp_path, model):
    link, target = make_link(tmp_path, "m.parquet")
    r = ftrl("train", sample("train.vw"), "-o", link, *TRAIN)
    assert r.code == 0, r.err
    assert link.is_symlink()
    assert pq.read_table(target).equals(pq.read_table(model))


def test_a_symlink_is_checked_where_it_leads(tmp_path):
    (tmp_path / "m.parquet").symlink_to(os.path.join("gone", "m.parquet"))
    r = ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", *TRAIN)
    assert r.code == 2
    assert r.err.strip() == (f"ftrl: error: {tmp_path / 'm.parquet'}: folder "
                             f"{tmp_path / 'gone'} does not exist")
    assert (tmp_path / "m.parquet").is_symlink()


def test_a_symlink_loop_is_a_one_line_error(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    r = ftrl("train", sample("train.vw"), "-o", tmp_path / "a", *TRAIN)
    assert r.code == 2
    assert r.err.strip() == f"ftrl: error: {tmp_path / 'a'}: too many levels of symbolic links"


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)],
                         ids=["022", "077", "002"])
def test_new_files_get_the_umasks_mode(tmp_path, model, mask, mode):
    with umask(mask):
        assert ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", *TRAIN).code == 0
        assert ftrl("predict", "-m", model, sample("test.vw"), "-o",
                    tmp_path / "p.txt").code == 0
    assert stat.S_IMODE(os.stat(tmp_path / "m.parquet").st_mode) == mode
    assert stat.S_IMODE(os.stat(tmp_path / "p.txt").st_mode) == mode


@pytest.mark.parametrize("old_mode,mask", [(0o644, 0o077), (0o640, 0o022), (0o600, 0o000)],
                         ids=["644", "640", "600"])
def test_a_replaced_file_keeps_its_mode(tmp_path, model, old_mode, mask):
    out, preds = tmp_path / "m.parquet", tmp_path / "p.txt"
    for path in (out, preds):
        path.write_bytes(b"old")
        path.chmod(old_mode)
    with umask(mask):
        assert ftrl("train", sample("train.vw"), "-o", out, *TRAIN).code == 0
        assert ftrl("predict", "-m", model, sample("test.vw"), "-o", preds).code == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == old_mode
    assert stat.S_IMODE(os.stat(preds).st_mode) == old_mode
    assert pq.read_table(out).num_rows > 0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="giving a file to another user needs root")
def test_a_replaced_file_keeps_its_owner_and_group(tmp_path):
    out = tmp_path / "m.parquet"
    out.write_bytes(b"old")
    os.chown(out, 4321, 8765)
    assert ftrl("train", sample("train.vw"), "-o", out, *TRAIN).code == 0
    st = os.stat(out)
    assert (st.st_uid, st.st_gid) == (4321, 8765)
    assert pq.read_table(out).num_rows > 0


@pytest.mark.parametrize("command", ["predict", "train"])
def test_a_failed_run_keeps_the_old_file_and_no_temporary(tmp_path, model, command):
    bad = tmp_path / "bad.vw"
    bad.write_text("1 |a x\n0 |a y\nmaybe |a z\n")
    out = tmp_path / "out" / "result"
    out.parent.mkdir()
    out.write_bytes(b"old contents")
    out.chmod(0o640)
    link = tmp_path / "link"
    link.symlink_to(out)
    args = (["predict", "-m", model, bad] if command == "predict"
            else ["train", bad, *TRAIN])
    r = ftrl(*args, "-o", link)
    assert r.code == 2
    assert len(r.err.strip().splitlines()) == 1 and f"{bad}:3:" in r.err
    assert out.read_bytes() == b"old contents"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    # no temporary file; train's lock file stays (beside the real file, not the link)
    lock = [".result.lock"] if command == "train" else []
    assert sorted(p.name for p in out.parent.iterdir()) == lock + ["result"]
    assert link.is_symlink()


def test_a_live_stream_reaches_a_fifo_record_by_record(tmp_path, model, expected):
    # Scored into a FIFO, each batch is flushed as on stdout: no waiting for end of input.
    fifo = tmp_path / "live.fifo"
    os.mkfifo(fifo)
    # Non-blocking open of the read end succeeds without a writer; select then waits for
    # the writer's data (Linux reports no hang-up before a writer has ever come).
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    proc = subprocess.Popen([sys.executable, "-m", "ftrl_cli", "predict", "-m", str(model),
                             "-", "--format", "vw", "-o", str(fifo)],
                            stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        lines = open(sample("test.vw"), "rb").read().splitlines(keepends=True)[:3]
        answers = answers_one_by_one(proc, fd, lines)
        assert answers == expected.splitlines(keepends=True)[:3]
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
        os.close(fd)
    assert proc.returncode == 0
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
