"""Run one command in a fresh child process; measure its wall-clock time and peak RSS.

Peak RSS comes from GNU ``/usr/bin/time -v`` when present (the kernel's maximum resident set
of the child), else from polling the child's process tree with psutil.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

GNU_TIME = "/usr/bin/time"


class ChildFailed(RuntimeError):
    """A measured command exited with an error."""


@dataclass(frozen=True)
class Sample:
    """One measured run: wall seconds, peak RSS in MB, CPU seconds (user + system, when
    known) and the child's standard output."""

    wall: float
    rss_mb: float
    stdout: str = ""
    cpu: float | None = None
    other: float | None = None  # cores busy with other processes meanwhile


@dataclass
class Series:
    """All runs of one case."""

    samples: list[Sample] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)

    @property
    def walls(self) -> list[float]:
        return [s.wall for s in self.samples]

    @property
    def cpu_share(self) -> float | None:
        """Median CPU seconds per wall second (1.0 = one busy core), if known."""
        shares = [s.cpu / s.wall for s in self.samples if s.cpu is not None and s.wall > 0]
        return statistics.median(shares) if shares else None

    @property
    def rss_mb(self) -> float:
        """The largest peak RSS seen over the runs."""
        return max(s.rss_mb for s in self.samples)

    def __bool__(self) -> bool:
        return bool(self.samples)


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)


def busy_seconds() -> float | None:
    """CPU seconds all cores have spent busy since boot (from /proc/stat), if available."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class QuietGate:
    """Before a measurement, wait (within a total budget) until other processes are idle."""

    def __init__(self, budget_s: float = 300.0, threshold: float = 0.3, window: float = 0.5):
        self.budget, self.threshold, self.window = budget_s, threshold, window
        self.waited = 0.0

    def _busy_cores(self) -> float | None:
        b0, t0 = busy_seconds(), time.perf_counter()
        time.sleep(self.window)
        b1, t1 = busy_seconds(), time.perf_counter()
        return None if b0 is None or b1 is None else (b1 - b0) / (t1 - t0)

    def wait(self) -> None:
        while self.waited < self.budget:
            busy = self._busy_cores()
            if busy is None or busy < self.threshold:
                return
            self.waited += self.window


def _has_gnu_time() -> bool:
    if not os.access(GNU_TIME, os.X_OK):
        return False
    probe = subprocess.run([GNU_TIME, "-v", "true"], capture_output=True, text=True, check=False)
    return "Maximum resident set size" in probe.stderr


_USE_GNU_TIME = _has_gnu_time()
_CHILD: dict = {"cwd": None, "env": None}


def use(cwd: Path | None, env: dict | None) -> None:
    """Working folder and environment of every later child (default: the harness's own)."""
    _CHILD.update(cwd=cwd, env=env)


def rss_method() -> str:
    return "GNU time -v (max RSS)" if _USE_GNU_TIME else "psutil polling every 10 ms"


def _tail(text: str, n: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def run(cmd: list[str], *, capture: bool = False) -> Sample:
    """Run ``cmd`` once; stdout is captured if ``capture`` else discarded."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    cwd, env = _CHILD["cwd"], _CHILD["env"]
    busy0 = busy_seconds()
    if _USE_GNU_TIME:
        with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
            report = Path(tf.name)
        try:
            start = time.perf_counter()
            done = subprocess.run(
                [GNU_TIME, "-v", "-o", str(report), *cmd],
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=cwd,
                check=False,
            )
            wall = time.perf_counter() - start
            text = report.read_text()
            rss_kb, cpu = _max_rss_kb(text), _cpu_seconds(text)
        finally:
            report.unlink(missing_ok=True)
        stdout, stderr, code = done.stdout or "", done.stderr, done.returncode
    else:
        wall, rss_kb, stdout, stderr, code = _run_polled(cmd, out, env, cwd)
        cpu = None
    if code != 0:
        raise ChildFailed(f"exit {code}: {' '.join(cmd)}\n{_tail(stderr)}")
    busy1, other = busy_seconds(), None
    if busy0 is not None and busy1 is not None and cpu is not None and wall > 0:
        other = max(0.0, (busy1 - busy0) - cpu) / wall
    return Sample(wall, rss_kb / 1024.0, stdout, cpu, other)


def _max_rss_kb(text: str) -> float:
    for line in text.splitlines():
        if "Maximum resident set size" in line:
            return float(line.rsplit(":", 1)[1])
    raise ChildFailed(f"no peak RSS in the time report:\n{_tail(text)}")


def _cpu_seconds(text: str) -> float | None:
    total, seen = 0.0, 0
    for line in text.splitlines():
        if "User time (seconds)" in line or "System time (seconds)" in line:
            total += float(line.rsplit(":", 1)[1])
            seen += 1
    return total if seen == 2 else None


def _run_polled(cmd: list[str], out, env, cwd) -> tuple[float, float, str, str, int]:
    import psutil

    with tempfile.TemporaryFile("w+") as so, tempfile.TemporaryFile("w+") as se:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdout=so if out == subprocess.PIPE else out,
            stderr=se,
            text=True,
            env=env,
            cwd=cwd,
        )
        ps = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                tree = [ps, *ps.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.01)
        wall = time.perf_counter() - start
        so.seek(0)
        se.seek(0)
        return wall, peak / 1024.0, so.read(), se.read(), proc.returncode
