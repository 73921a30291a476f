"""Benchmark settings: sizes from the environment, one set of FTRL hyper-parameters for all."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_ROWS = 2_000_000
DEFAULT_RUNS = 3
DEFAULT_SEED = 20240607
DEFAULT_BITS = (22, 24)
DEFAULT_SWEEP_BITS = (18, 20, 22, 24, 26)
DEFAULT_SWEEP_ROWS = 1_000_000
# The parts of ``make bench``; BENCH_ONLY picks some of them (optional ones in bench.run too).
PARTS = ("main", "scale", "latency", "memory", "sweep", "crosses", "parquet")


def _env_ints(name: str, default: tuple[int, ...], lo: int, hi: int) -> tuple[int, ...]:
    """A comma-separated list of integers in [lo, hi], e.g. ``BENCH_BITS=22,24``."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SystemExit(
            f"bench: {name} must be integers separated by commas, got {text!r}"
        ) from None
    bad = [v for v in values if not lo <= v <= hi]
    if bad or not values:
        raise SystemExit(f"bench: {name} values must lie in {lo}..{hi}, got {text!r}")
    return values


def _env_parts(known: tuple[str, ...]) -> tuple[str, ...]:
    """``BENCH_ONLY=sweep,memory``: the parts to run (default: all)."""
    text = os.environ.get("BENCH_ONLY", "").strip()
    if not text:
        return ()
    names = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(
            f"bench: BENCH_ONLY: unknown part {unknown[0]!r}; parts: {', '.join(known)}"
        )
    return names


def _env_int(name: str, default: int, minimum: int) -> int:
    text = os.environ.get(name, "").strip().replace("_", "")
    if not text:
        return default
    try:
        value = int(float(text))
    except ValueError:
        raise SystemExit(f"bench: {name} must be an integer, got {text!r}") from None
    if value < minimum:
        raise SystemExit(f"bench: {name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Hyper:
    """FTRL-Proximal in the paper's form (McMahan et al. 2013), shared by every tool."""

    alpha: float = 0.1
    beta: float = 1.0
    l1: float = 1.0
    l2: float = 1.0
    bits: int = 22

    def positional(self) -> tuple[str, ...]:
        """``alpha beta l1 l2 bits`` as the child scripts take them on their command line."""
        return (repr(self.alpha), repr(self.beta), repr(self.l1), repr(self.l2), str(self.bits))


@dataclass(frozen=True)
class Settings:
    """Everything one benchmark run needs to know."""

    rows: int = DEFAULT_ROWS
    runs: int = DEFAULT_RUNS
    seed: int = DEFAULT_SEED
    interactions: int = 4
    hyper: Hyper = field(default_factory=Hyper)
    data_dir: Path = BENCH_DIR / "data"
    out_dir: Path = BENCH_DIR / "out"
    report_path: Path = REPO_DIR / "BENCHMARKS.md"
    bits: tuple[int, ...] = DEFAULT_BITS  # hash sizes of the main cases; the first is the headline
    sweep_bits: tuple[int, ...] = DEFAULT_SWEEP_BITS
    sweep_rows_wanted: int = DEFAULT_SWEEP_ROWS
    only: tuple[str, ...] = ()  # the parts to run; empty: every part

    @property
    def sweep_rows(self) -> int:
        """Rows of the table-size sweep: a fixed head of the training rows."""
        return min(self.sweep_rows_wanted, self.rows)

    def runs_part(self, name: str) -> bool:
        return not self.only or name in self.only

    @property
    def plot_path(self) -> Path:
        """The sweep's plot: under bench/ for the published report, else beside the report."""
        if self.report_path == REPO_DIR / "BENCHMARKS.md":
            return BENCH_DIR / "sweep.png"
        return self.report_path.with_name(self.report_path.stem + "-sweep.png")

    @property
    def test_rows(self) -> int:
        return max(1, self.rows // 4)

    @property
    def scale_rows(self) -> tuple[int, int]:
        """Row counts of the memory-scaling pair: half and twice the training rows (1:4)."""
        return max(1, self.rows // 2), 2 * self.rows

    def command(self) -> str:
        """The command line that reproduces this run."""
        env = []
        if self.rows != DEFAULT_ROWS:
            env.append(f"BENCH_ROWS={self.rows}")
        if self.runs != DEFAULT_RUNS:
            env.append(f"BENCH_RUNS={self.runs}")
        if self.seed != DEFAULT_SEED:
            env.append(f"BENCH_SEED={self.seed}")
        if self.bits != DEFAULT_BITS:
            env.append("BENCH_BITS=" + ",".join(map(str, self.bits)))
        if self.sweep_bits != DEFAULT_SWEEP_BITS:
            env.append("BENCH_SWEEP_BITS=" + ",".join(map(str, self.sweep_bits)))
        if self.sweep_rows_wanted != DEFAULT_SWEEP_ROWS:
            env.append(f"BENCH_SWEEP_ROWS={self.sweep_rows_wanted}")
        if self.only:
            env.append("BENCH_ONLY=" + ",".join(self.only))
        return " ".join([*map(shlex.quote, env), "make", "bench"])


def from_env(optional_parts: tuple[str, ...] = ()) -> Settings:
    """Read ``BENCH_ROWS``, ``BENCH_RUNS``, ``BENCH_SEED``, ``BENCH_BITS``,
    ``BENCH_SWEEP_BITS``, ``BENCH_SWEEP_ROWS``, ``BENCH_ONLY`` and ``BENCH_REPORT``.

    >>> from_env().rows >= 100
    True
    """
    report = os.environ.get("BENCH_REPORT", "").strip()
    bits = _env_ints("BENCH_BITS", DEFAULT_BITS, 1, 30)
    return Settings(
        rows=_env_int("BENCH_ROWS", DEFAULT_ROWS, 100),
        runs=_env_int("BENCH_RUNS", DEFAULT_RUNS, 1),
        seed=_env_int("BENCH_SEED", DEFAULT_SEED, 0),
        bits=bits,
        hyper=Hyper(bits=bits[0]),
        sweep_bits=_env_ints("BENCH_SWEEP_BITS", DEFAULT_SWEEP_BITS, 1, 30),
        sweep_rows_wanted=_env_int("BENCH_SWEEP_ROWS", DEFAULT_SWEEP_ROWS, 100),
        only=_env_parts(PARTS + optional_parts),
        report_path=Path(report).resolve() if report else REPO_DIR / "BENCHMARKS.md",
    )
