"""The benchmark report: tables per phase, ratios against targets, notes; Markdown."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench import measure
from bench.cases import FORMAT_NAMES, ftrl_train_args, vw_train_args
from bench.datasets import FORMATS, DataSet
from bench.settings import Settings
from bench.suite import Result
from bench.tables import (
    TIMING_HEADER,
    error_summary,
    metric,
    rate,
    secs,
    table,
    timing_row,
    verdict,
)
from bench.targets import Check, checks, cross_checks


@dataclass
class Outcome:
    """Everything measured in one benchmark run."""

    settings: Settings
    data: DataSet
    results: dict[str, Result]
    scale: dict[str, Result]
    help_times: list[float] | str
    one_record: list[float] | str
    env: dict
    truth: dict = field(default_factory=dict)
    warmup_errors: list[str] = field(default_factory=list)
    elapsed: float | None = None
    gate: measure.QuietGate | None = None

    def get(self, key: str) -> Result | None:
        res = self.results.get(key) or self.scale.get(key)
        return res if res is not None and res.ok else None

    def median(self, key: str) -> float | None:
        res = self.get(key)
        return res.median() if res else None

    def logloss(self, key: str) -> float | None:
        res = self.get(key)
        if res is None or not res.metrics or "logloss" not in res.metrics:
            return None
        return float(res.metrics["logloss"])


QUALITY_OF = {
    "train/ftrl/criteo": "predict/ftrl/criteo",
    "train/ftrl/vw": "predict/ftrl/vw",
    "train/ftrl/libsvm": "predict/ftrl/libsvm",
    "train/ftrl32/criteo": "predict/ftrl32/criteo",
    "train/ftrl-inproc/criteo": "predict/ftrl-inproc/criteo",
    "train/ftrl-inproc/vw": "predict/ftrl-inproc/vw",
    "train/vw/vw": "predict/vw/vw",
    "train/dt/criteo": "predict/dt/criteo",
    "cross/train/ftrl/criteo": "cross/predict/ftrl/criteo",
    "cross/train/ftrl-inproc/criteo": "cross/predict/ftrl/criteo",
    "cross/train/vw/vw": "cross/predict/vw/vw",
    "cross/train/vw-pairs/vw": "cross/predict/vw-pairs/vw",
    "cross/train/dt/criteo": "cross/predict/dt/criteo",
}


def _phase_table(o: Outcome, phase: str) -> str:
    rows = []
    for key, res in o.results.items():
        if res.case.phase != phase:
            continue
        scored = phase not in ("floor", "bulk")
        quality = o.results.get(QUALITY_OF.get(key, key)) if scored else None
        row = timing_row(res, res.case.label, quality)
        rows.append(row if scored else row[:-2])
    if phase in ("floor", "bulk"):
        return table(TIMING_HEADER[:-2], rows)
    if phase == "predict" and o.truth:
        rows.append(
            [
                "truth (the generator's click probabilities)",
                "",
                "",
                "",
                "",
                "",
                f"{o.truth['logloss']:.5f}",
                f"{o.truth['auc']:.5f}",
            ]
        )
    return table(TIMING_HEADER, rows)


def cross_section(o: Outcome) -> list[str]:
    """The feature-cross cases: their table, their targets, what is compared."""
    return [
        "## Feature crosses (all 325 pairs of C1..C26)",
        "",
        _phase_table(o, "cross"),
        "",
        _checks_table(cross_checks(o)),
        "",
        "One run each, learning rate 0.03 for all three tools, same data and hash size. "
        "ftrl: `--interactions C*:C*` on the criteo TSV; VW: `-q cc` on the VW text (its "
        "namespace `c` holds C1..C26; VW 9 crosses a namespace with itself as i ≤ j, so it "
        "also makes the 26 squares), and the same records with a namespace per C column "
        "(`a`..`z`) crossed by the 325 `-q` pairs of those letters, exactly ftrl's pairs; "
        "datatable: the 325 pairs as `interactions`. The test "
        "logloss of a training row is that of its model's predictions (the predict rows). "
        "`python -m bench.crosses` runs these cases alone.",
        "",
    ]


def parquet_section(o: Outcome) -> list[str]:
    """``ftrl train`` on the same records as TSV (named columns) and as Parquet."""
    return [
        "## Parquet input",
        "",
        _phase_table(o, "parquet"),
        "",
        "One run each: the training rows as TSV read with `--no-header --columns` (every "
        "column categorical) and as Parquet (`bench/parquet_cases.py`), the same model. "
        "`python -m bench.parquet` runs these cases alone.",
        "",
    ]


def _checks_table(found: list[Check]) -> str:
    rows = [[c.name, c.measured, c.target, verdict(c.ok)] for c in found]
    return table(["check", "measured", "target", "result"], rows)


def _med(res: Result | None, key: str) -> float | None:
    values = res.timing(key) if res else []
    return statistics.median(values) if values else None


def _split_table(o: Outcome) -> str:
    """Per input format: the CLI's wall time next to the serial cost of each phase."""
    rows = []
    for fmt in FORMATS:
        train = o.get(f"train/ftrl/{fmt}")
        wall = train.median() if train else None
        po = _med(o.get(f"floor/parse/{fmt}"), "parse")
        prof = o.get(f"profile/ftrl/{fmt}")
        ph = {k: _med(prof, k) for k in ("import", "setup", "parse", "learn", "save")}
        inside = (ph["parse"] or 0.0) + (ph["learn"] or 0.0)
        cells = [FORMAT_NAMES[fmt], _num(wall), _num(po)]
        cells += [_num(ph[k]) for k in ("import", "setup", "parse", "learn", "save")]
        cells.append(f"{ph['parse'] / inside:.0%}" if ph["parse"] and inside else "n/a")
        rows.append(cells)
    header = [
        "input",
        "ftrl train wall s",
        "parse-only run: parse s",
        "import s",
        "set-up s",
        "parse s",
        "learn s",
        "write model s",
        "parse share",
    ]
    return table(header, rows)


def _num(v: float | None) -> str:
    return "n/a" if v is None else (f"{v:.3f}" if v < 1 else f"{v:.2f}")


def _detail_table(o: Outcome) -> str:
    rows = []
    for res in o.results.values():
        if not res.ok or not res.case.inproc:
            continue
        keys = res.reports[0]["timings"].keys()
        phases = ", ".join(f"{k} {statistics.median(res.timing(k)):.2f}" for k in keys)
        rows.append(
            [
                res.case.label,
                phases,
                secs(res.times()),
                secs(res.series.walls),
                f"{res.series.rss_mb:,.0f}",
            ]
        )
    return table(["case", "phases, median s", "compared s", "process wall s", "peak RSS MB"], rows)


def _scale_table(o: Outcome) -> str:
    rows = []
    for key in ("scale/small", "scale/large"):
        res = o.scale.get(key)
        if res is None:
            continue
        if not res.ok:
            rows.append([res.case.label, "failed", "", ""])
            continue
        t = res.times()
        rows.append(
            [f"{res.case.rows:,}", secs(t), rate(res.case.rows, t), f"{res.series.rss_mb:,.0f}"]
        )
    return table(["training rows", "time s", "rows/s", "peak RSS MB"], rows)


def _latency(values: list[float] | str) -> str:
    if isinstance(values, str):
        return "failed: " + values.splitlines()[0]
    return f"{secs(values)} s"


def _fixed_cost(o: Outcome) -> list[str]:
    """The one-record time is what every ``ftrl predict`` pays before its first record."""
    full = o.median("predict/ftrl/criteo")
    if isinstance(o.one_record, str) or not full:
        return []
    one = statistics.median(o.one_record)
    return [
        f"* That start-up cost (imports, loading the model) is {one / full:.0%} of the "
        f"{o.settings.test_rows:,}-row `ftrl predict` time on criteo TSV ({full:.2f} s)."
    ]


def _bulk_ratios(o: Outcome) -> list[str]:
    """Speed-ups of ftrl over the peers on the training rows, as the targets compute them."""
    lines = []
    for theirs, name in (("bulk/vw/vw", "VW -t"), ("bulk/dt/criteo", "datatable")):
        other = o.median(theirs)
        if other is None:
            continue
        for mine, how in (("bulk/ftrl/criteo", "whole process"),
                          ("bulk/ftrl-inproc/criteo", "in-process")):
            t = o.median(mine)
            if t:
                lines.append(f"* ftrl ({how}) vs {name}: {other / t:.2f}× (ratio of medians)")
    return lines


def _float32_table(o: Outcome) -> str:
    rows = []
    base = o.logloss("predict/ftrl/criteo")
    for dtype, tk, pk in (
        ("float64", "train/ftrl/criteo", "predict/ftrl/criteo"),
        ("float32", "train/ftrl32/criteo", "predict/ftrl32/criteo"),
    ):
        tr, pr = o.get(tk), o.get(pk)
        ll = o.logloss(pk)
        delta = f"{ll - base:+.2e}" if ll is not None and base is not None else "n/a"
        rows.append(
            [
                dtype,
                secs(tr.times()) if tr else "n/a",
                secs(pr.times()) if pr else "n/a",
                f"{tr.series.rss_mb:,.0f}" if tr else "n/a",
                metric(pr, "logloss"),
                metric(pr, "auc"),
                delta,
            ]
        )
    return table(
        [
            "--state-dtype",
            "train s",
            "predict s",
            "train peak RSS MB",
            "test logloss",
            "test AUC",
            "Δ logloss vs float64",
        ],
        rows,
    )


def _load_line(o: Outcome) -> str:
    """How busy the machine was with other work while the children ran."""
    samples = [
        x
        for r in (*o.results.values(), *o.scale.values())
        for x in r.series.samples
        if x.other is not None
    ]
    total = sum(x.wall for x in samples)
    if not total:
        return "* CPU use by other processes during the runs: unknown."
    mean = sum(x.other * x.wall for x in samples) / total
    long = [x.other for x in samples if x.wall >= 1.0]
    top = f", at most {max(long):.2f} during a run of 1 s or more" if long else ""
    text = (
        f"* CPU use by other processes while the children ran: {mean:.2f} cores on average"
        f"{top} (/proc/stat minus the child's own CPU time)."
    )
    g = o.gate
    if g is not None:
        text += (
            f" Before each run the harness waited for other processes to go idle "
            f"(< {g.threshold} cores): {g.waited:.0f} s in all (budget {g.budget:.0f} s)."
        )
    if mean > 0.1:
        text += " The machine was not idle: times are noisier and slower than on a quiet one."
    return text


def _header(o: Outcome) -> list[str]:
    s, h, env = o.settings, o.settings.hyper, o.env
    v = env["versions"]
    vers = ", ".join(f"{k} {v[k]}" for k in v)
    took = f" It took {o.elapsed / 60:.1f} min in all." if o.elapsed else ""
    return [
        "# Benchmarks",
        "",
        f"Produced by `{s.command()}` on {env['date']}: {s.rows:,} training rows and "
        f"{s.test_rows:,} test rows, {s.runs} timed run(s) per case.{took}",
        "",
        f"* Machine: {env['cpu']}, {env['cores']} cores, {env['memory']} RAM, {env['os']}.",
        f"* Versions: {vers}; ftrl_cli at {env['revision']}.",
        _load_line(o),
        f"* Data: `python -m ftrl_cli.datagen generate --rows {s.rows} --seed {s.seed} "
        f"--interactions {s.interactions}` (criteo TSV, VW text and libsvm from the same rows); "
        f"the test set is `--rows {s.test_rows} --start {s.rows}` with the same seed. Files: "
        + ", ".join(
            f"{FORMAT_NAMES[f]} {o.data.train(f).stat().st_size / 1e6:,.0f} MB" for f in FORMATS
        )
        + " (training).",
        f"* FTRL-Proximal settings, the same for every tool (paper's form): alpha {h.alpha}, "
        f"beta {h.beta}, l1 {h.l1}, l2 {h.l2}, 2^{h.bits} hashed weights, one pass, bias on.",
        f"  * ftrl: `ftrl train FILE --format FMT {' '.join(ftrl_train_args(h))}` "
        "(Keras's l2 is half the paper's).",
        f"  * Vowpal Wabbit: `{vw_train_args(h, Path('train.vw'), Path('vw.model'))}` through "
        "`vowpalwabbit.Workspace`; test: `-t -i vw.model -d test.vw -p preds --link logistic`.",
        f"  * datatable: `Ftrl(alpha={h.alpha}, beta={h.beta}, lambda1={h.l1}, "
        f"lambda2={h.l2}, nbins=2**{h.bits}, nepochs=1)` after `fread` of the criteo TSV.",
        f"* Each case is a fresh child process, one at a time; time is wall-clock, peak RSS by "
        f"{measure.rss_method()}. CPU is CPU seconds per wall second (1.00 = one busy core).",
        "",
    ]


def render(o: Outcome) -> str:
    """The whole report as Markdown."""
    n = o.settings.test_rows
    parts = _header(o)
    parts += ["## Targets", "", _checks_table(checks(o)), ""]
    parts += [
        "## Training",
        "",
        _phase_table(o, "train"),
        "",
        "† timed inside the child process from just before the tool's work to just after "
        "it (reading, learning and, for VW, writing the model): interpreter start-up and "
        "imports are excluded. The rows without † are whole `ftrl` processes, start-up "
        "and imports included; *in-process* rows run the same `ftrl` command inside a "
        "Python process that imported ftrl_cli first (`bench/ftrl_task.py`), timed from "
        "parsing the command line to the model written, starting numba's runtime and "
        "loading the cached kernels included. Test log loss and AUC are those of the "
        f"trained model on the {n:,} test rows.",
        "",
    ]
    parts += [
        f"## Prediction ({n:,} test rows)",
        "",
        _phase_table(o, "predict"),
        "",
        "† as above: VW's time covers loading the model, reading and writing predictions; "
        "datatable's covers fread and predict (not loading the model or writing the "
        "file); ftrl in-process covers the whole `ftrl predict` command: loading the "
        "model, reading, scoring and writing the predictions.",
        "",
    ]
    parts += [
        f"## Prediction of the {o.settings.rows:,} training rows",
        "",
        _phase_table(o, "bulk"),
        "",
        *_bulk_ratios(o),
        "",
        "The same commands on four times the rows of the test set (not scored): start-up is "
        "a smaller share of the time, so this shows the speed per row. Boundaries (†) as "
        "above.",
        "",
    ]
    parts += [
        "## Floor: reading the input",
        "",
        _phase_table(o, "floor"),
        "",
        "`cat FILE > /dev/null` is the cost of reading the bytes from the page cache; "
        "ftrl parse only streams the file through `ftrl_cli.readers.read_batches` "
        "(parsing and hashing) and discards the batches.",
        "",
    ]
    parts += [
        "## Where ftrl's training time goes",
        "",
        _split_table(o),
        "",
        "Medians over the runs. *parse-only run* is the reader alone (the floor table). The "
        "next five columns come from `bench/ftrl_phases.py`, which does what `ftrl train` "
        "does one step after the other and times each: importing ftrl_cli (numba, the cached "
        "kernels), allocating the state, reading (parsing and hashing), learning (the FTRL "
        "kernel) and writing the model; parse share = parse / (parse + learn). `ftrl train` "
        "itself parses in a reader thread while the learner runs, so its wall time can be "
        "less than the sum (its CPU column above exceeds 1.00 when the two overlap).",
        "",
    ]
    parts += cross_section(o)
    parts += parquet_section(o)
    parts += ["## Memory scaling of ftrl train", "", _scale_table(o), ""]
    parts += ["## float32 optimizer state (criteo TSV)", "", _float32_table(o), ""]
    parts += [
        "## Latency",
        "",
        f"* `ftrl --help`: {_latency(o.help_times)} (median (min–max) of 5, warm).",
        f"* `ftrl predict` on one record with the {o.settings.rows:,}-row criteo model: "
        f"{_latency(o.one_record)} (median (min–max) of 5, warm).",
        *_fixed_cost(o),
        "",
    ]
    parts += ["## Phase timings of the cases timed in-process", "", _detail_table(o), ""]
    parts += _notes(o)
    failed = [r for r in (*o.results.values(), *o.scale.values()) if r.error]
    if failed or o.warmup_errors:
        parts += ["## Errors", ""]
        parts += [f"* `{r.case.key}`: {error_summary(r.error)}" for r in failed]
        parts += [f"* warm-up of {e}" for e in o.warmup_errors]
        parts += [""]
    return "\n".join(parts)


def _notes(o: Outcome) -> list[str]:
    return [
        "## Notes on the comparison",
        "",
        "* Vowpal Wabbit's `--ftrl` (`ftrl.cc`, proximal update) uses `--l1` and `--l2` "
        "unscaled as the paper's per-coordinate lambda1 and lambda2 "
        "(`w = -(z - sign(z) l1) / ((beta + sqrt(n)) / alpha + l2)`), so they map one to one; "
        "unlike VW's default learner, they are not multiplied by the learning rate or divided "
        "by the example count. VW keeps its weights in float32 and clips its margin to "
        "[-50, 50]; ftrl keeps float64 unless `--state-dtype float32`.",
        "* VW reads with a parser thread beside the learner thread; datatable's `fread` and "
        "`Ftrl.fit` use all cores (Hogwild updates). The CPU column shows how many cores each "
        "tool kept busy.",
        "* Features: ftrl on criteo TSV bins each count column I1..I13 as `floor(ln(v)^2)` and "
        "hashes it as a category; the VW and libsvm files hold the same bins, so ftrl and VW see "
        "the same information. datatable hashes the raw integers of I1..I13 (identity hash, no "
        "binning), so its model has many more, sparser count features: its log loss is not "
        "strictly comparable.",
        "* The truth row is the log loss and AUC of the generator's own click probabilities on "
        "the test rows: no model can do better in expectation.",
        "",
    ]
