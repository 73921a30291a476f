"""Entry point of ``make bench``: ``python -m bench.run``.

Generates (or reuses) the data, warms up every tool on a small set, times each case in
fresh child processes, scores the predictions, then prints the report and writes it to
BENCHMARKS.md. Exits 1 if any measured command failed (the report is still written).

The measurements are also pickled to ``bench/out/outcome.pickle``; ``python -m bench.run
--report-only`` renders the report again from them without measuring anything.
"""

from __future__ import annotations

import dataclasses
import functools
import pickle
import subprocess
import sys
import time

from bench import cases, datasets, envinfo, measure, snapshot, suite
from bench.cross_cases import cross_cases
from bench.parquet_cases import parquet_cases
from bench.report import Outcome, render
from bench.settings import Settings, from_env

WARMUP_ROWS = 4000


def _warm_up(s: Settings, log, only_crosses: bool = False) -> list[str]:
    """Train, predict and profile cases once on a small set: compiles ftrl's kernels."""
    small = dataclasses.replace(s, rows=WARMUP_ROWS)
    ds = datasets.ensure_dataset(small, log)
    out = s.out_dir / "warmup"
    out.mkdir(parents=True, exist_ok=True)
    if only_crosses:
        return suite.warm_up(cross_cases(ds, s.hyper, out), log)
    todo = [
        *cases.train_cases(ds, s.hyper, out),
        *cases.predict_cases(ds, out),
        *cases.profile_cases(ds, s.hyper, out),
        *cross_cases(ds, s.hyper, out),
        *parquet_cases(ds, s.hyper, out),
    ]
    return suite.warm_up(todo, log)


def _truth(ds: datasets.DataSet) -> dict:
    from ftrl_cli.metrics import evaluate

    labels = datasets.criteo_labels(ds.test("criteo"))
    return evaluate(labels, datasets.read_predictions(ds.folder / "test.truth"))


def _freeze(s: Settings, log) -> str:
    """Point every child at a frozen copy of the sources; return the tree's revision."""
    root = snapshot.freeze(s.out_dir)
    env = snapshot.child_env(root)
    measure.use(root, env)
    probe = [sys.executable, "-c", "import ftrl_cli; print(ftrl_cli.__file__)"]
    where = subprocess.run(probe, capture_output=True, text=True, cwd=root, env=env, check=False)
    if not where.stdout.strip().startswith(str(root)):
        raise SystemExit(f"bench: children do not import the frozen copy in {root}")
    rev = snapshot.revision()
    log(f"measuring ftrl_cli at {rev} (frozen copy in {root})")
    return rev


def prepare_alone(log) -> tuple[Settings, datasets.DataSet]:
    """For running some cases alone: the settings, the data, the sources frozen."""
    s = from_env()
    s.out_dir.mkdir(parents=True, exist_ok=True)
    ds = datasets.ensure_dataset(s, log)
    _freeze(s, log)
    log("warming up on a small set ...")
    return s, ds


def main() -> int:
    """Run the benchmark; return the exit status."""
    log = functools.partial(print, flush=True)
    s = from_env()
    start = time.perf_counter()
    s.out_dir.mkdir(parents=True, exist_ok=True)
    log(f"bench: {s.rows:,} train rows, {s.test_rows:,} test rows, {s.runs} run(s) per case")
    ds = datasets.ensure_dataset(s, log)
    pair = datasets.ensure_scale_pair(s, log)
    revision = _freeze(s, log)
    log("warming up on a small set ...")
    warm_errors = _warm_up(s, log)
    log("timed runs ...")
    todo = [*cases.all_cases(ds, s.hyper, s.out_dir), *cross_cases(ds, s.hyper, s.out_dir),
            *parquet_cases(ds, s.hyper, s.out_dir)]
    results = suite.run_rounds(todo, s.runs, log)
    log("memory scaling ...")
    scale = suite.run_rounds(
        cases.scale_cases(
            pair.small, pair.small_rows, pair.large, pair.large_rows, s.hyper, s.out_dir
        ),
        1,
        log,
    )
    log("latency ...")
    help_times = suite.help_latency()
    one = suite.single_record_latency(
        s.out_dir / "ftrl-criteo.parquet", ds.test("criteo"), s.out_dir
    )
    suite.score(results, ds.test("criteo"))
    outcome = Outcome(
        settings=s,
        data=ds,
        results=results,
        scale=scale,
        help_times=help_times,
        one_record=one,
        env=envinfo.describe(revision),
        truth=_truth(ds),
        warmup_errors=warm_errors,
        elapsed=time.perf_counter() - start,
        gate=suite.GATE,
    )
    with open(s.out_dir / "outcome.pickle", "wb") as fh:
        pickle.dump(outcome, fh)
    return _publish(outcome, log)


def _publish(outcome: Outcome, log) -> int:
    """Print the report, write BENCHMARKS.md; 1 if any measured command failed."""
    text = render(outcome)
    path = outcome.settings.report_path
    path.write_text(text + "\n", encoding="utf-8")
    log("")
    log(text)
    log(f"\nbench: report written to {path}")
    failed = [r for r in (*outcome.results.values(), *outcome.scale.values()) if r.error]
    return 1 if failed else 0


def report_only() -> int:
    """Render the report again from the last run's pickled measurements."""
    path = from_env().out_dir / "outcome.pickle"
    if not path.exists():
        raise SystemExit(f"bench: no measurements in {path}; run python -m bench.run first")
    with open(path, "rb") as fh:
        outcome = pickle.load(fh)
    return _publish(outcome, functools.partial(print, flush=True))


if __name__ == "__main__":
    sys.exit(report_only() if "--report-only" in sys.argv[1:] else main())
