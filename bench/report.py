"""The benchmark report: tables per phase and table size, targets, notes; Markdown.

``render(o, others)`` writes the run ``o`` in full and, after it, a section for each other
run in ``others`` (the same benchmark at another row count, e.g. ``BENCH_ROWS=4000000``).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench import measure
from bench.cases import FORMAT_NAMES
from bench.datasets import FORMATS, DataSet
from bench.memory import memory_section
from bench.parquet_cases import parquet_summary
from bench.report_tables import (
    bulk_ratios,
    detail_table,
    fixed_cost,
    float32_table,
    latency,
    scale_table,
)
from bench.report_text import header, notes
from bench.settings import Settings
from bench.sizes import sized_key, unsized_key
from bench.suite import Result
from bench.sweep import sweep_section
from bench.tables import (
    TIMING_HEADER,
    error_summary,
    num,
    table,
    timing_row,
    verdict,
)
from bench.targets import Check, checks, cross_checks, rows_checks


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
    sections: dict[str, list[str]] = field(default_factory=dict)  # optional parts' Markdown
    history: list[str] = field(default_factory=list)  # parts re-run later into this outcome

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

    @property
    def headline(self) -> int:
        return self.settings.bits[0]

    def key(self, key: str, bits: int) -> str:
        return sized_key(key, bits, self.headline)

    def every(self) -> list[Result]:
        return [*self.results.values(), *self.scale.values()]


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
UNSCORED = ("floor", "bulk")


def _quality(o: Outcome, key: str) -> Result | None:
    """The case whose predictions score the model ``key`` trained (at the same size)."""
    base = unsized_key(key)
    prefix = key[: len(key) - len(base)]
    return o.results.get(prefix + QUALITY_OF.get(base, base))


def _cases(o: Outcome, phase: str, bits: int | None) -> list[Result]:
    return [r for r in o.every() if r.case.phase == phase
            and (bits is None or (r.case.bits or o.headline) == bits)]


def _phase_table(o: Outcome, phase: str, bits: int | None = None) -> str:
    """Whole processes first (every tool); the cases also timed in-process after them (†)."""
    found = _cases(o, phase, bits)
    scored = phase not in UNSCORED
    head = TIMING_HEADER if scored else TIMING_HEADER[:-2]

    def row(res: Result, whole: bool) -> list[str]:
        quality = _quality(o, res.case.key) if scored else None
        label = res.case.label
        if whole and res.case.inproc:
            label += ", whole process"
        cells = timing_row(res, label, quality, res.walls() if whole else res.times(),
                           "" if whole else " †")
        return cells if scored else cells[:-2]

    whole = [row(r, True) for r in found if "/ftrl-inproc/" not in r.case.key]
    if phase == "predict" and o.truth:
        whole.append(["truth (the generator's click probabilities)", "", "", "", "", "",
                      f"{o.truth['logloss']:.5f}", f"{o.truth['auc']:.5f}"])
    inside = [row(r, False) for r in found if r.case.inproc]
    text = table(head, whole)
    if inside:
        text += "\n\nIn-process (second view):\n\n" + table(head, inside)
    return text


def cross_section(o: Outcome) -> list[str]:
    """The feature-cross cases: their table, their targets, what is compared."""
    if not _cases(o, "cross", None):
        return []
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
        "`python -m bench.crosses` (or `BENCH_ONLY=crosses make bench`) runs these cases alone.",
        "",
    ]


def parquet_section(o: Outcome) -> list[str]:
    """``ftrl train`` on the same records as TSV (named columns) and as Parquet."""
    if not _cases(o, "parquet", None):
        return []
    return [
        "## Parquet input",
        "",
        _phase_table(o, "parquet"),
        "",
        "The training rows as TSV read with `--no-header --columns` (every column "
        "categorical) and as Parquet (65,536-row row groups, dictionary-encoded, snappy), the "
        "same model; the Parquet file as pyarrow writes it by default; datatable fitting the "
        "same records read from the Parquet file through pyarrow and from the TSV with fread; "
        "`pandas.read_parquet` of the file alone (`bench/parquet_cases.py`). "
        "`python -m bench.parquet` (or `BENCH_ONLY=parquet make bench`) runs these cases alone.",
        "",
        *parquet_summary(o.results),
        "",
    ]


def part_section(o: Outcome, title: str, keys: list[str]) -> list[str]:
    """A table per phase of an optional part's cases, for a part without its own section."""
    phases = list(dict.fromkeys(o.results[k].case.phase for k in keys if k in o.results))
    parts = [f"## {title}", ""]
    for phase in phases:
        parts += [_phase_table(o, phase), ""]
    return parts if phases else []


def _checks_table(found: list[Check]) -> str:
    rows = [[c.name, c.measured, c.target, verdict(c.ok)] for c in found]
    return table(["check", "measured", "target", "result"], rows)


def _med(res: Result | None, key: str) -> float | None:
    values = res.timing(key) if res else []
    return statistics.median(values) if values else None


PHASES = ("import", "setup", "parse", "learn", "save")
PHASE_NAMES = {"import": "import s", "setup": "set-up s", "parse": "parse s",
               "learn": "learn s", "save": "write model s"}


def _split_table(o: Outcome, bits: int) -> str:
    """Per input format: the CLI's wall time next to the serial cost of each phase."""
    profiles = {f: o.get(o.key(f"profile/ftrl/{f}", bits)) for f in FORMATS}
    keys = list(PHASES)
    for prof in profiles.values():  # phases bench.ftrl_phases may report beyond these
        for report in prof.reports if prof else []:
            keys += [k for k in report.get("timings", {}) if k not in keys]
    rows = []
    for fmt, prof in profiles.items():
        train = o.get(o.key(f"train/ftrl/{fmt}", bits))
        if prof is None and train is None:
            continue
        po = _med(o.get(f"floor/parse/{fmt}"), "parse") if bits == o.headline else None
        ph = {k: _med(prof, k) for k in keys}
        inside = (ph["parse"] or 0.0) + (ph["learn"] or 0.0)
        cells = [FORMAT_NAMES[fmt], num(train.median() if train else None), num(po)]
        cells += [num(ph[k]) for k in keys]
        cells.append(f"{ph['parse'] / inside:.0%}" if ph["parse"] and inside else "n/a")
        rows.append(cells)
    head = ["input", "ftrl train wall s", "parse-only run: parse s",
            *[PHASE_NAMES.get(k, f"{k} s") for k in keys], "parse share"]
    return table(head, rows)














def _by_size(o: Outcome, phase: str, title: str, note: str) -> list[str]:
    """``title`` with one sub-table per table size that has cases of ``phase``."""
    sizes = [b for b in o.settings.bits if _cases(o, phase, b)]
    if not sizes:
        return []
    parts = [f"## {title}", ""]
    for b in sizes:
        parts += [f"### 2^{b} weights (`-b {b}`)", "", _phase_table(o, phase, b), ""]
    return parts + [note, ""]


TRAIN_NOTE = (
    "The first table of each size times whole processes, start-up and imports included, for "
    "every tool. † (second view): timed inside the child process from just before the tool's "
    "work to just after it (reading, learning and, for VW, writing the model); *in-process* "
    "ftrl rows run the same `ftrl` command inside a Python process that imported ftrl_cli "
    "first (`bench/ftrl_task.py`), timed from parsing the command line to the model written, "
    "starting numba's runtime and loading the cached kernels included. Test log loss and AUC "
    "are those of the trained model on the test rows."
)
PREDICT_NOTE = (
    "† as above: VW's time covers loading the model, reading and writing predictions; "
    "datatable's covers fread and predict (not loading the model or writing the file); ftrl "
    "in-process covers the whole `ftrl predict` command: loading the model, reading, scoring "
    "and writing the predictions."
)
SPLIT_NOTE = (
    "Medians over the runs. *parse-only run* is the reader alone (the floor table). The phase "
    "columns come from `bench/ftrl_phases.py`, which does what `ftrl train` does one step "
    "after the other and times each: importing ftrl_cli (numba, the cached kernels), "
    "allocating the state, reading (parsing and hashing), learning (the FTRL kernel, which "
    "also faults the state's pages in on first touch) and writing the model; parse share = "
    "parse / (parse + learn). `ftrl train` itself parses in a reader thread while the "
    "learner runs, so its wall time can be less than the sum."
)


def _main_sections(o: Outcome) -> list[str]:
    n = o.settings.test_rows
    parts = _by_size(o, "train", "Training", TRAIN_NOTE)
    parts += _by_size(o, "predict", f"Prediction ({n:,} test rows)", PREDICT_NOTE)
    if _cases(o, "bulk", None):
        parts += [f"## Prediction of the {o.settings.rows:,} training rows", "",
                  _phase_table(o, "bulk"), "", *bulk_ratios(o), "",
                  "The same commands on four times the rows of the test set (not scored): "
                  "start-up is a smaller share of the time, so this shows the speed per row.", ""]
    if _cases(o, "floor", None):
        parts += ["## Floor: reading the input", "", _phase_table(o, "floor"), "",
                  "`cat FILE > /dev/null` is the cost of reading the bytes from the page cache; "
                  "ftrl parse only streams the file through `ftrl_cli.readers.read_batches` "
                  "(parsing and hashing) and discards the batches.", ""]
    sizes = [b for b in o.settings.bits if _cases(o, "profile", b)]
    if sizes:
        parts += ["## Where ftrl's training time goes", ""]
        for b in sizes:
            parts += [f"### 2^{b} weights (`-b {b}`)", "", _split_table(o, b), ""]
        parts += [SPLIT_NOTE, ""]
    return parts


def render(o: Outcome, others: tuple[Outcome, ...] = (), plot: Path | None = None) -> str:
    """The whole report as Markdown; ``others`` (runs at other row counts) after it."""
    parts = header(o)
    found = checks(o)
    if o.settings.only:  # some parts only: the targets of the others were not measured
        found = [c for c in found if c.measured not in ("n/a", "not run")]
    for m in others:
        found += rows_checks(m)
    parts += ["## Targets", "", _checks_table(found), "",
              "Targets marked *at ≥ 4M rows* or *1M rows* are judged only on a run of that "
              "many rows (`make bench-4m` adds its section to this report); "
              "on other runs they show the measured ratio as n/a.", ""]
    parts += _main_sections(o)
    parts += sweep_section(o, plot, o.settings.report_path)
    parts += memory_section(o)
    if o.get("scale/small") or o.get(o.key("scale/small", o.settings.bits[-1])):
        parts += ["## Memory scaling of ftrl train", "", scale_table(o), ""]
    parts += cross_section(o)
    parts += parquet_section(o)
    for lines in o.sections.values():
        parts += lines
    if o.get("train/ftrl32/criteo"):
        parts += ["## float32 optimizer state (criteo TSV)", "", float32_table(o), ""]
    if not isinstance(o.help_times, str) or o.help_times:
        parts += [
            "## Latency",
            "",
            f"* `ftrl --help`: {latency(o.help_times)} (median (min–max) of 5, warm).",
            f"* `ftrl predict` on one record with the {o.settings.rows:,}-row criteo model: "
            f"{latency(o.one_record)} (median (min–max) of 5, warm).",
            *fixed_cost(o),
            "",
        ]
    detail = detail_table(o)
    if detail.count("\n") > 1:
        parts += ["## Phase timings of the cases timed in-process", "", detail, ""]
    parts += notes(o)
    failed = [r for r in o.every() if r.error]
    if failed or o.warmup_errors:
        parts += ["## Errors", ""]
        parts += [f"* `{r.case.key}`: {error_summary(r.error)}" for r in failed]
        parts += [f"* warm-up of {e}" for e in o.warmup_errors]
        parts += [""]
    for m in others:
        parts += other_rows_section(m)
    return "\n".join(parts)


def other_rows_section(m: Outcome) -> list[str]:
    """A run at another row count: its targets, training and prediction tables."""
    s, env = m.settings, m.env
    parts = [
        f"## At {s.rows:,} training rows",
        "",
        f"Produced by `{s.command()}` on {env.get('date', '?')}, ftrl_cli at "
        f"{env.get('revision', '?')}: {s.rows:,} training rows, {s.test_rows:,} test rows, "
        f"{s.runs} timed run(s) per case; the same machine, settings and cases as above.",
        "",
        _checks_table(rows_checks(m)),
        "",
    ]
    for phase, title in (("train", "Training"), ("predict", f"Prediction ({s.test_rows:,} rows)")):
        for b in s.bits:
            if _cases(m, phase, b):
                parts += [f"### {title}, 2^{b} weights (`-b {b}`)", "", _phase_table(m, phase, b),
                          ""]
    for b in s.bits:
        if _cases(m, "profile", b):
            parts += [f"### Where ftrl's training time goes, `-b {b}`", "", _split_table(m, b), ""]
    mem = memory_section(m)
    if mem:
        parts += ["#" + mem[0], *mem[1:]]
    return parts
