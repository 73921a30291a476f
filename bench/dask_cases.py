"""ftrl on Dask (``ftrl_cli.distributed``): scoring four files with one and two local
workers, training with one, two and four, and how the logloss moves with ``--sync-every``.

Each case is a child (``bench.dask_task``) that starts a LocalCluster and times the work
once its workers are up.  The training rows are cut into four files (made once, beside the
data); the one-worker training case writes the model the scoring cases use (it is the
single-process model, byte for byte).  ``python -m bench.dask`` runs these cases alone;
``make bench`` runs them as its optional part ``dask`` (``bench.run.OPTIONAL_PARTS``).
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.cases import PY, Case, _size
from bench.datasets import DataSet
from bench.settings import Hyper
from ftrl_cli.distributed.training import SYNC_EVERY

TRAIN_WORKERS = (1, 2, 4)
SCORE_WORKERS = (1, 2)
SYNC_SWEEP = ((2, 250), (2, 4000), (4, 250), (4, 4000))


def four_files(src: Path) -> list[Path]:
    """``src`` cut into four files of whole lines (made once, beside it)."""
    parts = [src.with_name(f"{src.stem}.part{i}{src.suffix}") for i in range(4)]
    if all(p.exists() for p in parts):
        return parts
    lines = src.read_bytes().splitlines(keepends=True)
    step = -(-len(lines) // 4)
    for i, p in enumerate(parts):
        tmp = p.with_suffix(".tmp")
        tmp.write_bytes(b"".join(lines[i * step:(i + 1) * step]))
        tmp.rename(p)
    return parts


def _model(out: Path, workers: int, sync: int) -> Path:
    return out / f"dask-train-{workers}-{sync}.parquet"


def dask_cases(ds: DataSet, h: Hyper, out: Path) -> list[Case]:
    """Training with 1, 2, 4 workers (and the --sync-every sweep), then scoring."""
    files = four_files(ds.train("criteo"))
    size = sum(_size(f) for f in files)
    test = str(ds.test("criteo"))
    cases = []
    for workers, sync in [*((w, SYNC_EVERY) for w in TRAIN_WORKERS), *SYNC_SWEEP]:
        cmd = (PY, "-m", "bench.dask_task", "train", f"local:{workers}", str(sync),
               str(_model(out, workers, sync)), test, *map(str, files))
        cases.append(Case(f"dask/train/{workers}/{sync}", "dask", f"train, {workers} "
                          f"worker{'s' if workers > 1 else ''}, --sync-every {sync}",
                          "criteo", cmd, ds.train_rows, size, inproc=("run",), capture=True,
                          once=(workers, sync) in SYNC_SWEEP))
    model = str(_model(out, 1, SYNC_EVERY))
    for workers in SCORE_WORKERS:
        cmd = (PY, "-m", "bench.dask_task", "predict", f"local:{workers}", model,
               str(out / f"dask-scores-{workers}.txt"), *map(str, files))
        cases.append(Case(f"dask/predict/{workers}", "dask", f"predict, {workers} "
                          f"worker{'s' if workers > 1 else ''}", "criteo", cmd,
                          ds.train_rows, size, inproc=("run",), capture=True))
    return cases


def _median(res, key: str = "run") -> float | None:
    values = [r["timings"][key] for r in res.reports] if res and res.ok else []
    return statistics.median(values) if values else None


def dask_section(outcome) -> list[str]:
    """The Dask tables, from a ``bench.report.Outcome`` (``bench.run``'s optional part
    ``dask``) or the results of ``suite.run_rounds`` on `dask_cases` (``bench.dask``)."""
    results = getattr(outcome, "results", outcome)
    lines = ["## Dask (`--dask local:N`)", "",
             "| case | seconds | rows/s | test logloss | vs 1 worker |",
             "| :-- | --: | --: | --: | --: |"]
    base = results.get(f"dask/train/1/{SYNC_EVERY}")
    base_loss = base.reports[-1]["logloss"] if base is not None and base.ok else None
    for key, res in results.items():
        if not key.startswith("dask/train/"):
            continue
        if not res.ok:
            lines.append(f"| {res.case.tool} | failed | | | |")
            continue
        secs = _median(res)
        loss = res.reports[-1]["logloss"]
        change = f"{(loss / base_loss - 1) * 100:+.2f}%" if base_loss else ""
        lines.append(f"| {res.case.tool} | {secs:.2f} | {res.case.rows / secs:,.0f} | "
                     f"{loss:.6f} | {change} |")
    lines += ["", "| scoring 4 files | seconds | rows/s | speed-up |", "| :-- | --: | --: | --: |"]
    one = _median(results.get("dask/predict/1"))
    for workers in SCORE_WORKERS:
        res = results.get(f"dask/predict/{workers}")
        secs = _median(res)
        if secs is None:
            lines.append(f"| {workers} worker(s) | failed | | |")
            continue
        speed = f"{one / secs:.2f}×" if one else ""
        lines.append(f"| {res.case.tool} | {secs:.2f} | {res.case.rows / secs:,.0f} | "
                     f"{speed} |")
    lines += ["", "Timed once the LocalCluster's workers are up (`bench/dask_task.py`); the "
              "training rows as four files. Training: the bench's settings, the logloss of "
              "each model on the test rows; one worker gives the single-process model. "
              "`python -m bench.dask` runs these cases alone.", ""]
    return lines
