"""Benchmarks of ``ftrl`` against Vowpal Wabbit and datatable: ``python -m bench.run``.

Settings come from the environment: ``BENCH_ROWS`` (training rows, default 2,000,000; the
test set has a quarter as many), ``BENCH_RUNS`` (timed runs per case, default 3),
``BENCH_SEED``, ``BENCH_BITS`` (table sizes of the main cases, default ``22,24``; the first
is the headline), ``BENCH_SWEEP_BITS`` and ``BENCH_SWEEP_ROWS`` (the table-size sweep,
default 18..26 on the first 1M rows), ``BENCH_ONLY`` (some parts alone, e.g. ``sweep``) and
``BENCH_REPORT`` (where the report goes). Generated data is cached under ``bench/data/``;
models and predictions go to ``bench/out/``; the report is printed and written to
``BENCHMARKS.md``, the sweep's plot to ``bench/sweep.png``.
"""
