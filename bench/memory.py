"""Where ``ftrl train``'s peak memory goes: interpreter and libraries, state, the rest.

The cases: ``ftrl train`` of the first 100 training rows at ``-b 10`` (the interpreter, the
libraries and the loaded kernels, with next to no state or data), the same 100 rows at each
benchmarked size (how much of the state a few records fault in), and a child that builds the
model ``ftrl train`` builds and sums the bytes of its arrays (the state allocated). The
whole run's peak comes from the main cases; the rest of it is reader buffers, batches in
flight and the checkpoint write.

As a child: ``python -m bench.memory state BITS alpha beta l1 l2`` prints the model's arrays
and their sizes as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.cases import PY, Case, _size, ftrl_train_cmd
from bench.datasets import DataSet
from bench.settings import Settings
from bench.sizes import sized_key
from bench.sweep import head_copy
from bench.tables import table

if TYPE_CHECKING:
    from bench.report import Outcome

TINY_ROWS = 100
BASE_BITS = 10
RSS_LIMIT_MB = 600.0  # issue #14: peak RSS of ftrl train at -b 24


def memory_cases(ds: DataSet, s: Settings, out: Path) -> list[Case]:
    """The baseline, a 100-row run and the allocated state at each benchmarked size."""
    tiny = head_copy(ds.train("criteo"), min(TINY_ROWS, ds.train_rows))
    folder = out / "memory"
    folder.mkdir(parents=True, exist_ok=True)
    base_h = dataclasses.replace(s.hyper, bits=BASE_BITS)
    found = [Case("memory/base", "memory", f"ftrl train, {TINY_ROWS} rows, -b {BASE_BITS}",
                  "criteo", ftrl_train_cmd(base_h, tiny, "criteo", folder / "base.parquet"),
                  TINY_ROWS, _size(tiny), once=True, bits=BASE_BITS)]
    for b in s.bits:
        h = dataclasses.replace(s.hyper, bits=b)
        found += [
            Case(f"memory/b{b}/tiny", "memory", f"ftrl train, {TINY_ROWS} rows, -b {b}",
                 "criteo", ftrl_train_cmd(h, tiny, "criteo", folder / f"tiny-b{b}.parquet"),
                 TINY_ROWS, _size(tiny), once=True, bits=b),
            Case(f"memory/b{b}/state", "memory", f"state of -b {b}", "criteo",
                 (PY, "-m", "bench.memory", "state", str(b), *h.positional()[:4]),
                 0, 0, capture=True, once=True, bits=b),
        ]
    return found


def _rss(o: Outcome, key: str) -> float | None:
    res = o.get(key)
    return res.series.rss_mb if res else None


def state_mb(o: Outcome, bits: int) -> tuple[float, str] | None:
    """The model's allocated array bytes at ``bits`` in MB, and its arrays listed."""
    res = o.get(f"memory/b{bits}/state")
    if res is None or not res.reports:
        return None
    arrays = res.reports[0]["arrays"]
    # the gather buffers of multi-record steps are allocated but never touched by the
    # one-record steps of these runs (zero pages: not resident), so they do not count
    listed = ", ".join(f"`{k}` {v['shape']} {v['dtype']} {v['bytes'] / 2**20:,.0f} MB"
                       + ("" if v.get("touched", True) else " (untouched here)")
                       for k, v in arrays.items() if v["bytes"] >= 2**20)
    return sum(v["bytes"] for v in arrays.values() if v.get("touched", True)) / 2**20, listed


def train_peak(o: Outcome, bits: int) -> tuple[float, str] | None:
    """Peak RSS over ftrl's whole-process training cases at ``bits`` (main, scale, sweep)."""
    headline = o.settings.bits[0]
    keys = [sized_key(k, bits, headline) for k in
            ("train/ftrl/criteo", "train/ftrl/vw", "scale/small", "scale/large")]
    keys.append(f"sweep/b{bits}/ftrl")
    found = [(o.get(k).series.rss_mb, k) for k in keys if o.get(k)]
    return max(found) if found else None


def breakdown_table(o: Outcome) -> str:
    base = _rss(o, "memory/base")
    bits = [b for b in o.settings.bits if o.get(f"memory/b{b}/state")]
    rows = {n: [n] for n in ("peak RSS of ftrl train (criteo TSV), MB",
                             f"interpreter, libraries, kernels: {TINY_ROWS} rows at "
                             f"-b {BASE_BITS}, MB",
                             "optimizer state (the model's arrays one-record steps touch), MB",
                             f"state faulted in by {TINY_ROWS} rows (that run − the "
                             "interpreter line), MB",
                             "the rest: reader buffers, batches, checkpoint write (peak − "
                             "interpreter − state), MB",
                             "state bytes per weight",
                             "training rows of the peak's run")}
    cells = list(rows.values())
    for b in bits:
        # the main case's peak, else (BENCH_ONLY without main) the sweep's run at this size
        source = next((r for r in (o.get(sized_key("train/ftrl/criteo", b, o.settings.bits[0])),
                                   o.get(f"sweep/b{b}/ftrl")) if r is not None), None)
        peak = source.series.rss_mb if source else None
        state = state_mb(o, b)
        tiny = _rss(o, f"memory/b{b}/tiny")
        smb = state[0] if state else None
        rest = peak - base - smb if None not in (peak, base, smb) else None
        touched = tiny - base if tiny is not None and base is not None else None
        for row, v in zip(cells, (peak, base, smb, touched, rest)):
            row.append("n/a" if v is None else f"{v:,.0f}")
        cells[5].append(f"{smb * 2**20 / (2**b + 1):.1f}" if smb else "n/a")
        cells[6].append(f"{source.case.rows:,}" if source else "n/a")
    return table(["", *[f"-b {b}" for b in bits]], cells)


def memory_section(o: Outcome) -> list[str]:
    """The breakdown of ftrl's peak memory; nothing if the part did not run."""
    bits = [b for b in o.settings.bits if o.get(f"memory/b{b}/state")]
    if not bits:
        return []
    arrays = [f"* -b {b}: {state_mb(o, b)[1]}." for b in bits]
    return [
        "## Where ftrl's peak memory goes",
        "",
        breakdown_table(o),
        "",
        "The peak is the whole `ftrl train` process on the training rows (the training "
        "table; the sweep's run at that size when the main cases did not run); the "
        f"interpreter line is `ftrl train` of the first {TINY_ROWS} rows at "
        f"`-b {BASE_BITS}` (Python, numpy, numba's runtime, pyarrow, the cached kernels); "
        "the state is what the model allocates (`ftrl_cli.model.Model`'s arrays, counted by "
        "`python -m bench.memory state BITS ...`), which the kernel's first touches fault in "
        "as training reaches them (*the rest* is negative when the run did not touch all "
        "of the state's pages). Arrays of 1 MB or more:",
        "",
        *arrays,
        "",
    ]


def _state(bits: str, alpha: str, beta: str, l1: str, l2: str) -> dict:
    import numpy as np

    from ftrl_cli.config import OptimizerConfig
    from ftrl_cli.model import COMPACT_FROM_BITS, Model

    cfg = OptimizerConfig(learning_rate=float(alpha), beta=float(beta),
                          l1_regularization_strength=float(l1),
                          l2_regularization_strength=float(l2) / 2.0,
                          initial_accumulator_value=0.0)
    # as ftrl train builds it: 16-byte rows from COMPACT_FROM_BITS on
    model = Model(cfg, int(bits), True, np.float64, compact=int(bits) >= COMPACT_FROM_BITS)
    arrays = {k: v for k, v in vars(model).items() if isinstance(v, np.ndarray)}
    gather = ("gbuf", "mark", "active", "pending")
    return {"arrays": {k: {"bytes": int(v.nbytes), "shape": "×".join(map(str, v.shape)),
                           "dtype": str(v.dtype), "touched": k not in gather}
                       for k, v in arrays.items()}}


def main(argv: list[str]) -> None:
    if argv[:1] != ["state"] or len(argv) != 6:
        raise SystemExit("usage: python -m bench.memory state BITS alpha beta l1 l2")
    print(json.dumps(_state(*argv[1:])))


if __name__ == "__main__":
    main(sys.argv[1:])
