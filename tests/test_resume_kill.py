"""Kill a real ``ftrl train`` at random moments, resume it, and get the model of the run that
was never interrupted, byte for byte."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time

from clirun import REPO, ftrl, sample

INTERRUPTED = re.compile(r"^ftrl: interrupted at \S+:\d+ \(pass [12]\); resume with the same "
                         r"command and --resume$", re.M)


def _copies(name: str, times: int, dest: str, header: bool = False) -> str:
    """``times`` copies of a sample file one after another (a csv header only once)."""
    with open(sample(name)) as fh:
        lines = fh.readlines()
    body = lines[1:] if header else lines
    with open(dest, "w") as fh:
        fh.writelines((lines[:1] if header else []) + body * times)
    return dest


def _start(args: list[str], resume: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ftrl_cli", "train", *args,
                             *(["--resume"] if resume else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _after_checkpoints(proc: subprocess.Popen, ckpt: str, count: int) -> None:
    """Wait until ``ckpt`` was written ``count`` more times (or the run ended)."""
    seen = _identity(ckpt)
    deadline = time.monotonic() + 60
    while count > 0 and proc.poll() is None and time.monotonic() < deadline:
        now = _identity(ckpt)
        if now != seen and now is not None:
            count -= 1
            seen = now
        time.sleep(0.001)


def _killed_and_resumed(args: list[str], ckpt: str, rng: random.Random, kills: int) -> int:
    """Run ``ftrl train ARGS`` to its end, SIGKILLing it ``kills`` times at random moments
    (while it starts and parses, between and during checkpoint writes) and resuming it each
    time from its checkpoint (or from the start when none was written yet).  Returns how
    many kills stopped a running process."""
    landed = 0
    resume = False
    while True:
        proc = _start(args, resume)
        if landed < kills:
            _after_checkpoints(proc, ckpt, rng.choice([0, 1, 1, 2, 3]))
            time.sleep(rng.uniform(0, 0.03))
            if proc.poll() is None:
                proc.kill()
                landed += 1
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            return landed
        assert proc.returncode == -signal.SIGKILL, err.decode()
        resume = os.path.exists(ckpt)


def _bytes(path: str) -> str:
    """The file's digest (comparing it says whether the bytes are the same)."""
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


CASES = {
    # input files, options
    "vw, batch 1, sampled": (["vw"], ["--negative-sampling", "0.5", "--checkpoint-every", "200"]),
    "csv, batch 8": (["csv"], ["--batch-size", "8", "--checkpoint-every", "300"]),
    "vw.gz + vw, batch 8, EMA": (["vw.gz", "vw"], ["--batch-size", "8", "--use-ema",
                                                   "--checkpoint-every", "250"]),
}


def _inputs(tmp_path, kinds: list[str]) -> list[str]:
    paths = []
    for kind in kinds:
        if kind == "csv":
            paths.append(_copies("train.csv", 3, str(tmp_path / "train.csv"), header=True))
        elif kind == "vw":
            paths.append(_copies("train.vw", 3, str(tmp_path / "train.vw")))
        else:
            plain = _copies("train.vw", 2, str(tmp_path / "other.vw"))
            with open(plain, "rb") as src, gzip.open(plain + ".gz", "wb") as dst:
                dst.write(src.read())
            os.unlink(plain)
            paths.append(plain + ".gz")
    return paths


def test_sigkill_at_random_moments_then_resume_gives_the_same_model(tmp_path):
    rng = random.Random(20261129)
    landed = 0
    for n, (kinds, options) in enumerate(CASES.values()):
        inputs = _inputs(tmp_path, kinds)
        common = [*inputs, "--passes", "2", "--learning-rate", "0.1", "-b", "18", "--quiet",
                  *options]
        ref = str(tmp_path / f"ref{n}.parquet")
        assert ftrl("train", *common, "-o", ref).code == 0
        out = str(tmp_path / f"model{n}.parquet")
        ckpt = str(tmp_path / f"model{n}.ckpt.parquet")
        got = 0
        for _ in range(4):  # a fast machine may finish a run before every kill landed
            got += _killed_and_resumed([*common, "-o", out], ckpt, rng, kills=8 - got)
            assert _bytes(out) == _bytes(ref), list(CASES)[n]
            assert not os.path.exists(ckpt)  # a finished run leaves no checkpoint behind
            # (a kill during a checkpoint write leaves its temporary file: nothing can
            # remove it)
            assert not [f for f in os.listdir(tmp_path) if ".best-pass-" in f]
            if got == 8:
                break
        landed += got
    assert landed >= 20, landed


def test_sigterm_and_sigint_write_a_checkpoint_and_say_how_to_resume(tmp_path):
    inputs = _inputs(tmp_path, ["vw.gz"])
    common = [*inputs, "--passes", "2", "--batch-size", "8", "--learning-rate", "0.1", "-b",
              "18", "--quiet", "--checkpoint-every", "300"]
    ref = str(tmp_path / "ref.parquet")
    assert ftrl("train", *common, "-o", ref).code == 0
    out = str(tmp_path / "model.parquet")
    ckpt = str(tmp_path / "model.ckpt.parquet")
    for signum, resume in ((signal.SIGTERM, False), (signal.SIGINT, True)):
        proc = _start([*common, "-o", out], resume)
        _after_checkpoints(proc, ckpt, 2)
        before = _identity(ckpt)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + signum, err.decode()
        assert INTERRUPTED.search(err.decode()), err.decode()
        assert _identity(ckpt) != before  # written on the signal
        assert not os.path.exists(out)
    proc = _start([*common, "-o", out], True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert _bytes(out) == _bytes(ref)
