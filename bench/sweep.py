"""The table-size sweep: ftrl and VW training time on the same rows at 2^18 .. 2^26 weights.

Both tools train on a fixed head of the training rows (``BENCH_SWEEP_ROWS``, default 1M) at
every size of ``BENCH_SWEEP_BITS``, timed as whole processes; ``bench.ftrl_phases`` splits
ftrl's time into its phases at each size, and a parse-only run counts the features, so the
learner's cost per feature can be compared across table sizes (issue #14: it should depend
on the work, not on the table).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from bench.cases import PY, Case, _size, ftrl_train_cmd, vw_train_args
from bench.datasets import DataSet
from bench.settings import Settings
from bench.tables import num, table

if TYPE_CHECKING:
    from bench.report import Outcome
    from bench.suite import Result

# the learner's cost per feature at the largest table against the smallest, as issue #14 asks
FLAT_BITS = (20, 26)


def head_copy(src: Path, rows: int) -> Path:
    """The first ``rows`` lines of ``src`` beside it (made once, moved into place whole)."""
    dst = src.with_name(f"{src.stem}-head{rows}{src.suffix}")
    if not dst.exists():
        tmp = dst.with_name(dst.name + ".partial")
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            for _, line in zip(range(rows), fin):
                fout.write(line)
        os.replace(tmp, dst)
    return dst


def _inputs(ds: DataSet, rows: int) -> tuple[Path, Path]:
    if rows >= ds.train_rows:
        return ds.train("criteo"), ds.train("vw")
    return head_copy(ds.train("criteo"), rows), head_copy(ds.train("vw"), rows)


def sweep_cases(ds: DataSet, s: Settings, out: Path, bits: tuple[int, ...] | None = None
                ) -> list[Case]:
    """At each table size: ftrl train and VW --ftrl (whole processes), ftrl's phases, and a
    parse-only run (once) for the feature count."""
    rows = min(s.sweep_rows, ds.train_rows)
    crit, vw = _inputs(ds, rows)
    folder = out / "sweep"
    folder.mkdir(parents=True, exist_ok=True)
    found = []
    for b in s.sweep_bits if bits is None else bits:
        h = dataclasses.replace(s.hyper, bits=b)
        model = folder / f"ftrl-b{b}.parquet"
        found += [
            Case(f"sweep/b{b}/ftrl", "sweep", "ftrl train", "criteo",
                 ftrl_train_cmd(h, crit, "criteo", model), rows, _size(crit), bits=b),
            Case(f"sweep/b{b}/vw", "sweep", "VW --ftrl", "vw",
                 (PY, "-m", "bench.vw_task", vw_train_args(h, vw, folder / f"vw-b{b}.model")),
                 rows, _size(vw), inproc=("parse_learn", "finish"), capture=True, bits=b),
            Case(f"sweep/b{b}/phases", "sweep", "ftrl phases", "criteo",
                 (PY, "-m", "bench.ftrl_phases", "criteo", str(crit),
                  str(folder / f"phases-b{b}.parquet"), *h.positional()),
                 rows, _size(crit), capture=True, bits=b),
            Case(f"sweep/b{b}/parse", "sweep", "ftrl parse only", "criteo",
                 (PY, "-m", "bench.parse_only", "criteo", str(b), str(crit)),
                 rows, _size(crit), capture=True, once=True, bits=b),
        ]
    return found


def _med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _wall(o: Outcome, key: str) -> float | None:
    res = o.get(key)
    return _med(res.walls()) if res else None


def _nnz(res: Result | None) -> int | None:
    if res is None or not res.reports:
        return None
    return res.reports[0].get("nnz")


def learn_per_feature(o: Outcome, bits: int) -> float | None:
    """Median learner seconds per feature at ``bits`` (phases / parse-only feature count)."""
    phases, nnz = o.get(f"sweep/b{bits}/phases"), _nnz(o.get(f"sweep/b{bits}/parse"))
    learn = _med(phases.timing("learn")) if phases else None
    return learn / nnz if learn is not None and nnz else None


def swept_bits(o: Outcome) -> list[int]:
    return sorted({r.case.bits for r in o.results.values()
                   if r.case.phase == "sweep" and r.case.bits is not None})


def _phase_keys(o: Outcome) -> list[str]:
    """The phases ``bench.ftrl_phases`` reported, in its order (it may add phases)."""
    keys: list[str] = []
    for b in swept_bits(o):
        res = o.get(f"sweep/b{b}/phases")
        for report in res.reports if res else []:
            keys += [k for k in report.get("timings", {}) if k not in keys]
    return keys


def sweep_table(o: Outcome) -> str:
    phases = _phase_keys(o)
    rows = []
    for b in swept_bits(o):
        ftrl, vw = _wall(o, f"sweep/b{b}/ftrl"), _wall(o, f"sweep/b{b}/vw")
        ph = o.get(f"sweep/b{b}/phases")
        per = learn_per_feature(o, b)
        rss = [o.get(f"sweep/b{b}/{t}") for t in ("ftrl", "vw")]
        rows.append([
            f"2^{b}", num(ftrl), num(vw),
            f"{vw / ftrl:.2f}×" if ftrl and vw else "n/a",
            *[num(_med(ph.timing(k)) if ph else None) for k in phases],
            f"{per * 1e9:.1f}" if per else "n/a",
            *[f"{r.series.rss_mb:,.0f}" if r else "n/a" for r in rss],
        ])
    header = ["weights", "ftrl train s", "VW --ftrl s", "ftrl speed-up",
              *[f"ftrl {k} s" for k in phases], "learn ns / feature",
              "ftrl peak RSS MB", "VW peak RSS MB"]
    return table(header, rows)


def plot_sweep(o: Outcome, path: Path) -> Path | None:
    """Training time against table size as a small PNG; None if there is nothing to draw."""
    bits = [b for b in swept_bits(o) if _wall(o, f"sweep/b{b}/ftrl")]
    if len(bits) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 3.2), dpi=90)
    for key, label in (("ftrl", "ftrl train (whole process)"), ("vw", "VW --ftrl (whole process)")):
        pts = [(b, _wall(o, f"sweep/b{b}/{key}")) for b in bits]
        pts = [(b, t) for b, t in pts if t is not None]
        ax.plot([b for b, _ in pts], [t for _, t in pts], marker="o", label=label)
    learn = [(b, o.get(f"sweep/b{b}/phases")) for b in bits]
    pts = [(b, _med(r.timing("learn"))) for b, r in learn if r and r.timing("learn")]
    if pts:
        ax.plot([b for b, _ in pts], [t for _, t in pts], marker="s", linestyle="--",
                label="ftrl learner alone")
    ax.set_xticks(bits, [f"2^{b}" for b in bits])
    ax.set_xlabel("hashed weights (-b)")
    ax.set_ylabel("seconds, median")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Training on the same {_rows(o):,} rows", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".partial.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _rows(o: Outcome) -> int:
    return next((r.case.rows for r in o.results.values() if r.case.phase == "sweep"), 0)


def sweep_section(o: Outcome, plot: Path | None, report: Path) -> list[str]:
    """The sweep's table, plot link and notes; nothing if the sweep did not run."""
    if not swept_bits(o):
        return []
    link = []
    if plot is not None:
        rel = os.path.relpath(plot, report.parent)
        link = [f"![ftrl and VW training time by table size]({rel})", ""]
    return [
        f"## Table size: 2^{min(swept_bits(o))} to 2^{max(swept_bits(o))} weights",
        "",
        sweep_table(o),
        "",
        *link,
        f"The same first {_rows(o):,} training rows at every size (`BENCH_SWEEP_ROWS`), "
        "medians; train times are whole processes (criteo TSV for ftrl, VW text for VW). "
        "The phase columns come from `bench/ftrl_phases.py` (one step after the other, no "
        "reader thread); learn ns / feature is the learner's time over the features the "
        "parse-only run counted at that size. `BENCH_ONLY=sweep make bench` runs this part "
        "alone.",
        "",
    ]
