"""The report's smaller tables: float32 state, memory scaling, latency, in-process phases."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from bench.tables import metric, rate, secs, table

if TYPE_CHECKING:
    from bench.report import Outcome


def detail_table(o: Outcome) -> str:
    rows = []
    for res in o.every():
        if not res.ok or not res.case.inproc or res.case.phase == "sweep":
            continue
        keys = res.reports[0]["timings"].keys()
        phases = ", ".join(f"{k} {statistics.median(res.timing(k)):.2f}" for k in keys)
        size = f" -b {res.case.bits}" if res.case.bits not in (None, o.headline) else ""
        rows.append([res.case.label + size, phases, secs(res.times()), secs(res.walls()),
                     f"{res.series.rss_mb:,.0f}"])
    return table(["case", "phases, median s", "compared s", "process wall s", "peak RSS MB"], rows)


def scale_table(o: Outcome) -> str:
    rows = []
    for b in o.settings.bits:
        for name in ("small", "large"):
            key = o.key(f"scale/{name}", b)
            res = o.results.get(key) or o.scale.get(key)
            if res is None:
                continue
            if not res.ok:
                rows.append([f"-b {b}", res.case.label, "failed", "", ""])
                continue
            t = res.times()
            rows.append([f"-b {b}", f"{res.case.rows:,}", secs(t), rate(res.case.rows, t),
                         f"{res.series.rss_mb:,.0f}"])
    return table(["weights", "training rows", "time s", "rows/s", "peak RSS MB"], rows)


def latency(values: list[float] | str) -> str:
    if isinstance(values, str):
        return "failed: " + values.splitlines()[0]
    return f"{secs(values)} s"


def fixed_cost(o: Outcome) -> list[str]:
    """The one-record time is what every ``ftrl predict`` pays before its first record."""
    full = o.median("predict/ftrl/criteo")
    if isinstance(o.one_record, str) or not full:
        return []
    one = statistics.median(o.one_record)
    return [
        f"* That start-up cost (imports, loading the model) is {one / full:.0%} of the "
        f"{o.settings.test_rows:,}-row `ftrl predict` time on criteo TSV ({full:.2f} s)."
    ]


def bulk_ratios(o: Outcome) -> list[str]:
    """Speed-ups of ftrl over the peers on the training rows, both views."""
    lines = []
    for theirs, name in (("bulk/vw/vw", "VW -t"), ("bulk/dt/criteo", "datatable")):
        peer = o.get(theirs)
        for mine, how in (("bulk/ftrl/criteo", "whole processes"),
                          ("bulk/ftrl-inproc/criteo", "in-process")):
            res = o.get(mine)
            if peer is None or res is None:
                continue
            whole = how == "whole processes"
            a = statistics.median(res.walls() if whole else res.times())
            b = statistics.median(peer.walls() if whole else peer.times())
            lines.append(f"* ftrl vs {name}, {how}: {b / a:.2f}× (ratio of medians)")
    return lines


def float32_table(o: Outcome) -> str:
    rows = []
    base = o.logloss("predict/ftrl/criteo")
    for dtype, tk, pk in (
        ("float64", "train/ftrl/criteo", "predict/ftrl/criteo"),
        ("float32", "train/ftrl32/criteo", "predict/ftrl32/criteo"),
    ):
        tr, pr = o.get(tk), o.get(pk)
        ll = o.logloss(pk)
        delta = f"{ll - base:+.2e}" if ll is not None and base is not None else "n/a"
        rows.append([dtype, secs(tr.times()) if tr else "n/a", secs(pr.times()) if pr else "n/a",
                     f"{tr.series.rss_mb:,.0f}" if tr else "n/a", metric(pr, "logloss"),
                     metric(pr, "auc"), delta])
    return table(["--state-dtype", "train s", "predict s", "train peak RSS MB", "test logloss",
                  "test AUC", "Δ logloss vs float64"], rows)
