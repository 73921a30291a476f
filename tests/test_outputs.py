"""-o on train and predict: regular files are replaced atomically, keeping their mode."""

import contextlib
import os
import stat

import pyarrow.parquet as pq
import pytest
from clirun import ftrl, sample

TRAIN = ("--learning-rate", "0.1", "-b", "16", "-q")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.parquet"
    assert ftrl("train", sample("train.vw"), "-o", path, *TRAIN).code == 0
    return path


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
