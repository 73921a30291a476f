"""Markdown building blocks: number formats and tables of results."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from bench.measure import spread
from bench.suite import Result


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; the first column is left-aligned, others right."""
    align = [":--"] + ["--:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _s(v: float) -> str:
    return f"{v:.3f}" if v < 1.0 else f"{v:.2f}"


def secs(values: Sequence[float]) -> str:
    """``median (min–max)`` seconds; just the value for one run."""
    med, lo, hi = spread(list(values))
    return _s(med) if len(values) == 1 else f"{_s(med)} ({_s(lo)}–{_s(hi)})"


def _k(v: float) -> str:
    return f"{v / 1e3:,.0f}k" if v >= 1e4 else f"{v:,.0f}"


def rate(count: float, times: Sequence[float]) -> str:
    """``count / time`` as ``median (min–max)``, in thousands above 10,000."""
    rates = [count / t for t in times if t > 0]
    if not rates:
        return "n/a"
    med, lo, hi = spread(rates)
    return _k(med) if len(rates) == 1 else f"{_k(med)} ({_k(lo)}–{_k(hi)})"


def mbps(nbytes: int, times: Sequence[float]) -> str:
    return f"{nbytes / 1e6 / statistics.median(times):,.0f}" if times else "n/a"


def metric(res: Result | None, name: str) -> str:
    if res is None or not res.metrics or name not in res.metrics:
        return "n/a"
    return f"{res.metrics[name]:.5f}"


def cpu(res: Result) -> str:
    share = res.series.cpu_share
    return "n/a" if share is None else f"{share:.2f}"


def error_summary(text: str | None) -> str:
    """The last line of a child's error output (usually the exception), shortened."""
    lines = [ln.strip() for ln in (text or "no run").splitlines() if ln.strip()]
    last = lines[-1] if lines else "failed"
    return last if len(last) <= 90 else last[:87] + "..."


def timing_row(
    res: Result,
    label: str,
    quality: Result | None = None,
    times: Sequence[float] | None = None,
    mark: str | None = None,
) -> list[str]:
    """Name, time, rows/s, MB/s, CPU, RSS, test logloss and AUC of one case; ``times``
    (default: the compared times) and the ``mark`` after them choose the view."""
    c = res.case
    if mark is None:
        mark = " †" if c.inproc else ""
    if not res.ok:
        return [label, "failed", error_summary(res.error), "", "", "", "", ""]
    t = res.times() if times is None else times
    return [
        label,
        secs(t) + mark,
        rate(c.rows, t),
        mbps(c.input_bytes, t),
        cpu(res),
        f"{res.series.rss_mb:,.0f}",
        metric(quality, "logloss"),
        metric(quality, "auc"),
    ]


TIMING_HEADER = [
    "case",
    "time s, median (min–max)",
    "rows/s, median (min–max)",
    "input MB/s",
    "CPU (cores)",
    "peak RSS MB",
    "test logloss",
    "test AUC",
]


def num(v: float | None) -> str:
    """Seconds with three decimals below 1, two above; ``n/a`` for None."""
    return "n/a" if v is None else _s(v)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")
