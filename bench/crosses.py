"""The feature-cross cases alone: ``python -m bench.crosses`` (sizes from BENCH_ROWS).

Generates (or reuses) the data, warms the tools up on a small set, runs each cross case once
(``bench.cross_cases``), scores the predictions and prints their table and targets.
"""

from __future__ import annotations

import functools
import sys

from bench import suite
from bench.cross_cases import cross_cases
from bench.report import Outcome, cross_section
from bench.run import _warm_up, prepare_alone


def main() -> int:
    """Run the cross cases; 1 if any failed."""
    log = functools.partial(print, flush=True)
    s, ds = prepare_alone(log)
    errors = _warm_up(s, log, only_crosses=True)
    results = suite.run_rounds(cross_cases(ds, s.hyper, s.out_dir), 1, log)
    suite.score(results, ds.test("criteo"))
    outcome = Outcome(settings=s, data=ds, results=results, scale={}, help_times="",
                      one_record="", env={}, warmup_errors=errors)
    log("\n".join(cross_section(outcome)))
    return 1 if any(r.error for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
