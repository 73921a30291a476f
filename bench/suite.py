"""Running the cases: warm-up, timed rounds, prediction quality, latency and memory scaling."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import measure
from bench.cases import FTRL, Case
from bench.datasets import criteo_labels, read_predictions

Log = Callable[[str], None]


@dataclass
class Result:
    """Every run of one case, the timings its child reported, and its prediction quality."""

    case: Case
    series: measure.Series = field(default_factory=measure.Series)
    reports: list[dict] = field(default_factory=list)
    error: str | None = None
    metrics: dict | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.series)

    def times(self) -> list[float]:
        """Per run: the compared time (reported in-process phases, or the process wall)."""
        if not self.case.inproc:
            return self.series.walls
        return [sum(r["timings"][k] for k in self.case.inproc) for r in self.reports]

    def walls(self) -> list[float]:
        """Per run: the whole process's wall-clock time, start-up and imports included."""
        return self.series.walls

    def timing(self, key: str) -> list[float]:
        return [r["timings"][key] for r in self.reports if key in r.get("timings", {})]

    def median(self) -> float:
        return statistics.median(self.times())


GATE = measure.QuietGate()


def run_case(case: Case, result: Result) -> None:
    """One run of ``case``, appended to ``result`` (or its error recorded)."""
    GATE.wait()
    try:
        sample = measure.run(list(case.cmd), capture=case.capture)
    except measure.ChildFailed as e:
        result.error = str(e)
        return
    if case.capture:
        try:
            result.reports.append(json.loads(sample.stdout.strip().splitlines()[-1]))
        except (IndexError, json.JSONDecodeError):
            result.error = f"no JSON report on stdout: {' '.join(case.cmd)}\n{sample.stdout}"
            return
    result.series.add(sample)


def run_rounds(cases: list[Case], runs: int, log: Log) -> dict[str, Result]:
    """``runs`` rounds over all cases, in order, one child at a time."""
    results = {c.key: Result(c) for c in cases}
    for r in range(runs):
        for case in cases:
            res = results[case.key]
            if res.error or (case.once and r > 0):
                continue
            run_case(case, res)
            if res.error:
                log(
                    f"  [{r + 1}/{runs}] {case.key}: FAILED\n    "
                    + res.error.replace("\n", "\n    ")
                )
            else:
                s = res.series.samples[-1]
                loud = s.other is not None and s.other > 0.1 and s.wall > 0.5
                busy = f"  (others {s.other:.2f} cores)" if loud else ""
                log(f"  [{r + 1}/{runs}] {case.key:<30} {s.wall:8.2f} s {s.rss_mb:7.0f} MB{busy}")
    return results


def warm_up(cases: list[Case], log: Log) -> list[str]:
    """Run each case once on small inputs (fills numba's cache, the page cache); errors."""
    errors = []
    for case in cases:
        res = Result(case)
        run_case(case, res)
        if res.error:
            last = res.error.strip().splitlines()[-1]
            errors.append(f"{case.key}: {last}")
            log(f"  warm-up {case.key}: FAILED: {last}")
    return errors


def score(results: dict[str, Result], test_criteo: Path) -> None:
    """Test log loss and AUC of every case that wrote predictions."""
    from ftrl_cli.metrics import evaluate

    labels = criteo_labels(test_criteo)
    for res in results.values():
        path = res.case.predictions
        if not res.ok or path is None:
            continue
        try:
            preds = read_predictions(path)
            res.metrics = evaluate(labels, preds)
        except (OSError, ValueError) as e:
            res.metrics = {"error": str(e)}


def latency(cmd: list[str], repeats: int = 5) -> list[float] | str:
    """Wall times of ``repeats`` runs after one warm run, or the error text."""
    try:
        measure.run(cmd)
        times = []
        for _ in range(repeats):
            GATE.wait()
            times.append(measure.run(cmd).wall)
        return times
    except measure.ChildFailed as e:
        return str(e)


def help_latency() -> list[float] | str:
    return latency([FTRL, "--help"])


def single_record_latency(model: Path, test_criteo: Path, out: Path) -> list[float] | str:
    """``ftrl predict`` on a file holding one record (the first test record)."""
    one = out / "one.criteo"
    with open(test_criteo, "rb") as fh:
        one.write_bytes(fh.readline())
    return latency([FTRL, "predict", "-m", str(model), str(one), "--format", "criteo"])
