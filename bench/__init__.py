"""Benchmarks of ``ftrl`` against Vowpal Wabbit and datatable: ``python -m bench.run``.

Settings come from the environment: ``BENCH_ROWS`` (training rows, default 2,000,000; the
test set has a quarter as many), ``BENCH_RUNS`` (timed runs per case, default 3) and
``BENCH_SEED``. Generated data is cached under ``bench/data/``; models and predictions go
to ``bench/out/``; the report is printed and written to ``BENCHMARKS.md``.
"""
