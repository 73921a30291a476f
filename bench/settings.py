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
        return " ".join([*map(shlex.quote, env), "make", "bench"])


def from_env() -> Settings:
    """Read ``BENCH_ROWS``, ``BENCH_RUNS`` and ``BENCH_SEED``."""
    return Settings(
        rows=_env_int("BENCH_ROWS", DEFAULT_ROWS, 100),
        runs=_env_int("BENCH_RUNS", DEFAULT_RUNS, 1),
        seed=_env_int("BENCH_SEED", DEFAULT_SEED, 0),
    )
