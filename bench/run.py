"""Entry point of ``make bench``: ``python -m bench.run``.

Generates (or reuses) the data, warms up every tool on a small set, times each case in
fresh child processes, scores the predictions, then prints the report and writes it to
BENCHMARKS.md (``BENCH_REPORT`` for another path). Exits 1 if any measured command failed
(the report is still written).

The parts (``BENCH_ONLY=sweep,memory`` runs some alone, folding them into the stored
measurements of the same row count): ``main`` (ftrl, VW and datatable at every size of
``BENCH_BITS``), ``scale``, ``latency``, ``memory``, ``sweep``, ``crosses``, ``parquet`` and
the optional parts of ``OPTIONAL_PARTS`` whose modules exist.

The measurements are pickled to ``bench/out/outcome-rows{N}.pickle`` (and
``outcome.pickle``); ``python -m bench.run --report-only`` renders the report again from them
without measuring anything. A run at 4M rows or more, or at about 1M, is added to the report
of the default row count as its own section (issue #14's targets at that size).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import importlib
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import cases, datasets, envinfo, measure, sizes, snapshot, suite
from bench.cross_cases import cross_cases
from bench.memory import memory_cases
from bench.parquet_cases import parquet_cases
from bench.report import Outcome, part_section, render
from bench.settings import DEFAULT_ROWS, Settings, from_env
from bench.sweep import plot_sweep, sweep_cases
from bench.targets import near_1m

WARMUP_ROWS = 4000

# Parts in modules that may not exist yet: name -> (module, cases function, section function).
# ``cases(ds, hyper, out) -> list[Case]`` as ``cross_cases``; ``section(outcome) -> list[str]``
# (Markdown lines) is optional: without it the report shows a table of the part's cases.
# A module that is absent is skipped; adding a part is one line here.
OPTIONAL_PARTS: dict[str, tuple[str, str, str]] = {
    "dask": ("bench.dask_cases", "dask_cases", "dask_section"),
}


def _optional(log=print) -> dict[str, tuple[Callable, Callable | None]]:
    """The optional parts whose modules import, with their functions."""
    found = {}
    for name, (module, cases_fn, section_fn) in OPTIONAL_PARTS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        fn = getattr(mod, cases_fn, None)
        if fn is None:
            log(f"bench: {module} has no {cases_fn}(); part {name!r} skipped")
            continue
        found[name] = (fn, getattr(mod, section_fn, None))
    return found


def _settings() -> Settings:
    return from_env(tuple(OPTIONAL_PARTS))


def _parts(s: Settings, ds: datasets.DataSet, out: Path, pair: datasets.ScalePair | None,
           log, small: bool = False) -> dict[str, list[cases.Case]]:
    """The cases of every part this run measures, by part, in the order a round runs them."""
    headline = s.bits[0]
    found: dict[str, list[cases.Case]] = {}
    if s.runs_part("main"):
        found["main"] = [c for b in s.bits
                         for c in sizes.main_cases(ds, dataclasses.replace(s.hyper, bits=b),
                                                   out, headline)]
    if s.runs_part("scale") and pair is not None:
        found["scale"] = [c for b in s.bits for c in sizes.sized_scale_cases(
            pair.small, pair.small_rows, pair.large, pair.large_rows,
            dataclasses.replace(s.hyper, bits=b), out, headline)]
    if s.runs_part("memory"):
        found["memory"] = memory_cases(ds, s, out)
    if s.runs_part("sweep"):
        # warming up, one small table is enough: it compiles nothing a larger one would not
        found["sweep"] = sweep_cases(ds, s, out, bits=s.sweep_bits[:1] if small else None)
    if s.runs_part("crosses"):
        found["crosses"] = cross_cases(ds, s.hyper, out)
    if s.runs_part("parquet"):
        found["parquet"] = parquet_cases(ds, s.hyper, out)
    for name, (fn, _) in _optional(log).items():
        if s.runs_part(name):
            found[name] = list(fn(ds, s.hyper, out))
    return found


def _warm_up(s: Settings, log, only_crosses: bool = False) -> list[str]:
    """Run the cases once on a small set: compiles ftrl's kernels, fills the page cache."""
    small = dataclasses.replace(s, rows=WARMUP_ROWS)
    ds = datasets.ensure_dataset(small, log)
    out = s.out_dir / "warmup"
    out.mkdir(parents=True, exist_ok=True)
    if only_crosses:
        return suite.warm_up(cross_cases(ds, s.hyper, out), log)
    todo = [c for part in _parts(small, ds, out, None, log, small=True).values() for c in part]
    if not s.runs_part("main"):  # the latency part predicts with the main model
        todo += cases.train_cases(ds, s.hyper, out)[:1]
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
    s = _settings()
    s.out_dir.mkdir(parents=True, exist_ok=True)
    ds = datasets.ensure_dataset(s, log)
    _freeze(s, log)
    log("warming up on a small set ...")
    return s, ds


def _store(s: Settings) -> Path:
    return s.out_dir / f"outcome-rows{s.rows}.pickle"


def _load(path: Path) -> Outcome | None:
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None


def _save(outcome: Outcome, path: Path) -> None:
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as fh:
        pickle.dump(outcome, fh)
    tmp.replace(path)


def _fold(prev: Outcome | None, new: Outcome, s: Settings) -> Outcome:
    """A run of some parts only, folded into the stored outcome of the same rows and seed."""
    if not s.only or prev is None or prev.settings.seed != s.seed:
        return new
    results = {**prev.results, **prev.scale, **new.results}
    ran = set(s.only)
    return dataclasses.replace(
        prev,
        results=results,
        scale={},
        help_times=new.help_times if "latency" in ran else prev.help_times,
        one_record=new.one_record if "latency" in ran else prev.one_record,
        sections={**prev.sections, **new.sections},
        warmup_errors=[*prev.warmup_errors, *new.warmup_errors],
        settings=dataclasses.replace(s, only=prev.settings.only),
        history=[*prev.history, f"Parts re-run by `{s.command()}` on {new.env['date']} "
                 f"(ftrl_cli at {new.env['revision']}): {', '.join(s.only)}."],
    )


def main() -> int:
    """Run the benchmark; return the exit status."""
    log = functools.partial(print, flush=True)
    s = _settings()
    start = time.perf_counter()
    s.out_dir.mkdir(parents=True, exist_ok=True)
    log(f"bench: {s.rows:,} train rows, {s.test_rows:,} test rows, {s.runs} run(s) per case, "
        f"-b {', '.join(map(str, s.bits))}" + (f"; parts: {', '.join(s.only)}" if s.only else ""))
    ds = datasets.ensure_dataset(s, log)
    pair = datasets.ensure_scale_pair(s, log) if s.runs_part("scale") else None
    revision = _freeze(s, log)
    log("warming up on a small set ...")
    warm_errors = _warm_up(s, log)
    log("timed runs ...")
    parts = _parts(s, ds, s.out_dir, pair, log)
    results = suite.run_rounds([c for part in parts.values() for c in part], s.runs, log)
    help_times: list[float] | str = ""
    one: list[float] | str = ""
    if s.runs_part("latency"):
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
        scale={},
        help_times=help_times,
        one_record=one,
        env=envinfo.describe(revision),
        truth=_truth(ds),
        warmup_errors=warm_errors,
        elapsed=time.perf_counter() - start,
        gate=suite.GATE,
    )
    for name, (_, section) in _optional(log).items():
        if name in parts:
            outcome.sections[name] = (list(section(outcome)) if section is not None else
                                      part_section(outcome, name, [c.key for c in parts[name]]))
    outcome = _fold(_load(_store(s)), outcome, s)
    _save(outcome, _store(s))
    _save(outcome, s.out_dir / "outcome.pickle")
    return _publish(outcome, log)


def _merges(rows: int) -> bool:
    """Whether a run of ``rows`` joins the default run's report (issue #14's sizes)."""
    return rows >= 4_000_000 or near_1m(rows)


def arrange(current: Outcome, stored: list[Outcome]) -> tuple[Outcome, tuple[Outcome, ...]]:
    """The report's main run and the runs at other row counts shown after it: a run at 4M
    (or about 1M) rows goes after the default run's report when that is stored."""
    same = [o for o in stored if o.settings.seed == current.settings.seed
            and o.settings.rows != current.settings.rows]
    main = current
    if _merges(current.settings.rows):
        main = next((o for o in same if o.settings.rows == DEFAULT_ROWS), current)
    others = [o for o in (current, *same) if o is not main and _merges(o.settings.rows)]
    return main, tuple(sorted(others, key=lambda o: o.settings.rows))


def _publish(outcome: Outcome, log) -> int:
    """Print the report, write BENCHMARKS.md and the sweep's plot; 1 if any case failed."""
    here = _settings()
    stored = [o for p in sorted(here.out_dir.glob("outcome-rows*.pickle"))
              if (o := _load(p)) is not None]
    main_run, others = arrange(outcome, stored)
    main_run = dataclasses.replace(
        main_run, settings=dataclasses.replace(main_run.settings, report_path=here.report_path))
    plot = None
    try:
        plot = plot_sweep(main_run, here.plot_path)
    except ImportError as e:
        log(f"bench: no sweep plot ({e}); pip install matplotlib")
    text = render(main_run, others, plot)
    path = here.report_path
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    log("")
    log(text)
    if others:
        log(f"\nbench: with the runs of {', '.join(f'{o.settings.rows:,}' for o in others)} rows")
    log(f"\nbench: report written to {path} at {_dt.datetime.now():%H:%M:%S}")
    failed = [r for r in outcome.every() if r.error]
    return 1 if failed else 0


def report_only() -> int:
    """Render the report again from the last run's pickled measurements."""
    path = _settings().out_dir / "outcome.pickle"
    outcome = _load(path) if path.exists() else None
    if outcome is None:
        raise SystemExit(f"bench: no measurements in {path}; run python -m bench.run first")
    return _publish(outcome, functools.partial(print, flush=True))


if __name__ == "__main__":
    sys.exit(report_only() if "--report-only" in sys.argv[1:] else main())
