"""The Parquet cases alone: ``python -m bench.parquet`` (sizes from BENCH_ROWS).

Generates (or reuses) the data and its Parquet copies, warms up on a small set, runs each
case of ``bench.parquet_cases`` (``ftrl train`` on the TSV and on the Parquet copies,
datatable and pandas on the same file) BENCH_RUNS times (3 by default) and prints their
table and what they say.
"""

from __future__ import annotations

import dataclasses
import functools
import sys

from bench import datasets, suite
from bench.parquet_cases import parquet_cases, parquet_summary
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
    todo = [dataclasses.replace(c, once=False) for c in parquet_cases(ds, s.hyper, s.out_dir)]
    results = suite.run_rounds(todo, s.runs, log)
    outcome = Outcome(settings=s, data=ds, results=results, scale={}, help_times="",
                      one_record="", env={}, warmup_errors=errors)
    log("\n".join([*parquet_section(outcome), *parquet_summary(results)]))
    return 1 if any(r.error for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
