"""Run the ``ftrl`` CLI in-process (fast: compiled kernels stay loaded) or as a subprocess."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass

from ftrl_cli.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(REPO, "data", "samples")


@dataclass
class Result:
    code: int
    out: str
    err: str


def ftrl(*args: str, stdin: bytes | None = None) -> Result:
    """``ftrl ARGS`` in this process, capturing stdout, stderr and the exit code."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([str(a) for a in args])
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())


def ftrl_process(*args: str, stdin: bytes | None = None, env: dict | None = None) -> Result:
    """``python -m ftrl_cli ARGS`` as a child process (for stdin pipes and exit codes)."""
    proc = subprocess.run([sys.executable, "-m", "ftrl_cli", *map(str, args)], input=stdin,
                          capture_output=True, env={**os.environ, **(env or {})}, cwd=REPO)
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def answers_one_by_one(proc: subprocess.Popen, out_fd: int, lines: list[bytes]) -> list[str]:
    """Write ``lines`` to ``proc``'s stdin one at a time, each time waiting (stdin still
    open) for what ``proc`` writes to ``out_fd`` in answer."""
    import select

    answers = []
    for line in lines:
        proc.stdin.write(line)
        proc.stdin.flush()
        ready, _, _ = select.select([out_fd], [], [], 60)
        assert ready, "no answer while the stream stays open"
        answers.append(os.read(out_fd, 100).decode())
    return answers


def sample(name: str) -> str:
    return os.path.join(SAMPLES, name)
