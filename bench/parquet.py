"""The Parquet cases alone: ``python -m bench.parquet`` (sizes from BENCH_ROWS).

Generates (or reuses) the data and its Parquet copy, warms up on a small set, runs
``ftrl train`` once on the TSV and once on the Parquet copy (``bench.parquet_cases``) and
prints their table.
"""

from __future__ import annotations

import dataclasses
import functools
import sys

from bench import datasets, suite
from bench.parquet_cases import parquet_cases
from bench.report import Outcome, parquet_section
from bench.run import WARMUP_ROWS, prepare_alone


def main() -> int:
    """Run the Parquet cases; 1 if any failed."""
    log = functools.partial(print, flush=True)
    s, ds = prepare_alone(log)
    small = datasets.ensure_dataset(dataclasses.replace(s, rows=WARMUP_ROWS), log)
    warm = s.out_dir / "warmup"
    warm.mkdir(parents=True, exist_ok=True)
    errors = suite.warm_up(parquet_cases(small, s.hyper, warm), log)
    results = suite.run_rounds(parquet_cases(ds, s.hyper, s.out_dir), 1, log)
    outcome = Outcome(settings=s, data=ds, results=results, scale={}, help_times="",
                      one_record="", env={}, warmup_errors=errors)
    log("\n".join(parquet_section(outcome)))
    return 1 if any(r.error for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
