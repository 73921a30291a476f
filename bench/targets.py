"""The performance targets, each checked against the measurements (PASS/FAIL)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.report import Outcome


@dataclass(frozen=True)
class Check:
    name: str
    measured: str
    target: str
    ok: bool | None


def _speedup(o: Outcome, ftrl_key: str, other_key: str, name: str, need: float) -> Check:
    """How many times faster ftrl's case is than the other tool's (same rows): the ratio of
    medians decides; the ratio of the best runs is shown beside it."""
    mine, theirs = o.get(ftrl_key), o.get(other_key)
    if mine is None or theirs is None:
        return Check(name, "n/a", f"≥ {need:g}×", None)
    r = theirs.median() / mine.median()
    best = min(theirs.times()) / min(mine.times())
    return Check(name, f"{r:.2f}× (best runs {best:.2f}×)", f"≥ {need:g}×", r >= need)


def _loss_vs(o: Outcome, ftrl_key: str, other_key: str, name: str, most: float) -> Check:
    a, b = o.logloss(ftrl_key), o.logloss(other_key)
    if a is None or b is None:
        return Check(name, "n/a", f"≤ {most:g}", None)
    r = a / b
    return Check(name, f"{a:.5f} / {b:.5f} = {r:.4f}", f"≤ {most:g}", r <= most)


def _rss_scaling(o: Outcome) -> Check:
    small, large = o.get("scale/small"), o.get("scale/large")
    name = "ftrl train peak RSS, 4× the rows vs 1×"
    if small is None or large is None:
        return Check(name, "n/a", "≤ 1.10×", None)
    r = large.series.rss_mb / small.series.rss_mb
    shown = (
        f"{large.series.rss_mb:,.0f} / {small.series.rss_mb:,.0f} MB = {r:.3f}× "
        f"({large.case.rows:,} vs {small.case.rows:,} rows)"
    )
    return Check(name, shown, "≤ 1.10×", r <= 1.10)


def _latency(values: list[float] | str, name: str, limit: float) -> Check:
    if isinstance(values, str):
        return Check(name, "failed", f"< {limit:g} s", False)
    med = statistics.median(values)
    return Check(name, f"{med:.3f} s", f"< {limit:g} s", med < limit)


# (ftrl's case, the peer's case, what is compared, required speed-up); the peers are timed
# inside their processes, so each is compared both with the whole ``ftrl`` process and with
# the same command timed inside Python (``-inproc``), i.e. with the peers' own boundary.
SPEEDUPS = [
    ("train/ftrl/criteo", "train/vw/vw", "train speed: ftrl (criteo TSV) vs VW --ftrl (VW text)",
     2.0),
    ("train/ftrl/vw", "train/vw/vw", "train speed: ftrl (VW text) vs VW --ftrl (VW text)", 2.0),
    ("train/ftrl/criteo", "train/dt/criteo",
     "train speed: ftrl (criteo TSV) vs datatable fread+fit", 1.5),
    ("predict/ftrl/criteo", "predict/vw/vw",
     "predict speed: ftrl (criteo TSV) vs VW -t (VW text)", 4.0),
    ("predict/ftrl/vw", "predict/vw/vw", "predict speed: ftrl (VW text) vs VW -t (VW text)", 4.0),
    ("predict/ftrl/criteo", "predict/dt/criteo",
     "predict speed: ftrl (criteo TSV) vs datatable fread+predict", 2.0),
]


# feature crosses: ftrl --interactions C*:C* against VW -q cc and datatable's C×C pairs
CROSS_SPEEDUPS = [
    ("cross/train/ftrl/criteo", "cross/train/vw/vw",
     "C×C crosses, train speed: ftrl (criteo TSV) vs VW --ftrl -q cc (VW text)", 3.0),
    ("cross/train/ftrl/criteo", "cross/train/vw-pairs/vw",
     "C×C crosses, train speed: ftrl (criteo TSV) vs VW --ftrl, the same 325 -q pairs", 3.0),
    ("cross/train/ftrl/criteo", "cross/train/dt/criteo",
     "C×C crosses, train speed: ftrl (criteo TSV) vs datatable fread+fit", 2.0),
]


def cross_checks(o: Outcome) -> list[Check]:
    """The targets of the feature-cross cases (``bench.cross_cases``)."""
    return [
        *_speedups(o, CROSS_SPEEDUPS),
        _loss_vs(o, "cross/predict/ftrl/criteo", "cross/predict/vw/vw",
                 "C×C crosses, test logloss: ftrl / VW -q cc", 1.0),
        _loss_vs(o, "cross/predict/ftrl/criteo", "cross/predict/vw-pairs/vw",
                 "C×C crosses, test logloss: ftrl / VW, the same 325 -q pairs", 1.0),
    ]


def _speedups(o: Outcome, pairs: list | None = None) -> list[Check]:
    found = []
    for mine, theirs, name, need in SPEEDUPS if pairs is None else pairs:
        found.append(_speedup(o, mine, theirs, f"{name}; ftrl whole process", need))
        inproc = mine.replace("/ftrl/", "/ftrl-inproc/")
        found.append(_speedup(o, inproc, theirs, f"{name}; ftrl in-process, as the peer", need))
    return found


def checks(o: Outcome) -> list[Check]:
    """Every target in the order the report lists them."""
    return [
        *_speedups(o),
        _loss_vs(
            o, "predict/ftrl/criteo", "predict/vw/vw", "test logloss: ftrl (criteo TSV) / VW", 1.002
        ),
        _loss_vs(o, "predict/ftrl/vw", "predict/vw/vw", "test logloss: ftrl (VW text) / VW", 1.002),
        _rss_scaling(o),
        _latency(o.help_times, "`ftrl --help` wall time", 0.3),
        _latency(o.one_record, "`ftrl predict` of one record, wall time", 1.0),
        *cross_checks(o),
    ]
