"""The Dask cases alone: ``python -m bench.dask`` (sizes from BENCH_ROWS).

Generates (or reuses) the data, warms up on a small set, runs the cases of
``bench.dask_cases`` and prints their tables.
"""

from __future__ import annotations

import dataclasses
import functools
import sys

from bench import datasets, suite
from bench.dask_cases import dask_cases, dask_section
from bench.run import WARMUP_ROWS, prepare_alone


def main() -> int:
    """Run the Dask cases; 1 if any failed."""
    log = functools.partial(print, flush=True)
    s, ds = prepare_alone(log)
    small = datasets.ensure_dataset(dataclasses.replace(s, rows=WARMUP_ROWS), log)
    warm = s.out_dir / "warmup"
    warm.mkdir(parents=True, exist_ok=True)
    # the one-worker training (whose model the scoring uses) and one scoring: every kernel
    warm_cases = dask_cases(small, s.hyper, warm)
    suite.warm_up([warm_cases[0], warm_cases[-2]], log)
    results = suite.run_rounds(dask_cases(ds, s.hyper, s.out_dir), s.runs, log)
    log("\n".join(dask_section(results)))
    return 1 if any(r.error for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
