"""The report's prose: the header (machine, versions, data, settings) and the notes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bench import measure
from bench.cases import FORMAT_NAMES, ftrl_train_args, vw_train_args
from bench.datasets import FORMATS

if TYPE_CHECKING:
    from bench.report import Outcome


def load_line(o: Outcome) -> str:
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


def header(o: Outcome) -> list[str]:
    s, h, env = o.settings, o.settings.hyper, o.env
    sizes = " and ".join(f"2^{b}" for b in s.bits)
    v = env["versions"]
    vers = ", ".join(f"{k} {v[k]}" for k in v)
    took = f" It took {o.elapsed / 60:.1f} min in all." if o.elapsed else ""
    return [
        "# Benchmarks",
        "",
        f"Produced by `{s.command()}` on {env['date']}: {s.rows:,} training rows and "
        f"{s.test_rows:,} test rows, {s.runs} timed run(s) per case.{took}",
        *(x for line in getattr(o, "history", []) for x in ("", line)),
        "",
        f"* Machine: {env['cpu']}, {env['cores']} cores, {env['memory']} RAM, {env['os']}.",
        f"* Versions: {vers}; ftrl_cli at {env['revision']}.",
        load_line(o),
        f"* Data: `python -m ftrl_cli.datagen generate --rows {s.rows} --seed {s.seed} "
        f"--interactions {s.interactions}` (criteo TSV, VW text and libsvm from the same rows); "
        f"the test set is `--rows {s.test_rows} --start {s.rows}` with the same seed. Files: "
        + ", ".join(
            f"{FORMAT_NAMES[f]} {o.data.train(f).stat().st_size / 1e6:,.0f} MB" for f in FORMATS
        )
        + " (training).",
        f"* FTRL-Proximal settings, the same for every tool (paper's form): alpha {h.alpha}, "
        f"beta {h.beta}, l1 {h.l1}, l2 {h.l2}, {sizes} hashed weights (the tables below say "
        f"which; the commands are shown at -b {h.bits}), one pass, bias on.",
        f"  * ftrl: `ftrl train FILE --format FMT {' '.join(ftrl_train_args(h))}` "
        "(Keras's l2 is half the paper's).",
        f"  * Vowpal Wabbit: `{vw_train_args(h, Path('train.vw'), Path('vw.model'))}` through "
        "`vowpalwabbit.Workspace`; test: `-t -i vw.model -d test.vw -p preds --link logistic`.",
        f"  * datatable: `Ftrl(alpha={h.alpha}, beta={h.beta}, lambda1={h.l1}, "
        f"lambda2={h.l2}, nbins=2**{h.bits}, nepochs=1)` after `fread` of the criteo TSV.",
        f"* Each case is a fresh child process, one at a time, the tools' runs alternating "
        f"round by round; time is wall-clock, peak RSS by {measure.rss_method()}. CPU is CPU "
        "seconds per wall second (1.00 = one busy core).",
        "* Whole processes lead every table, for every tool: `ftrl` is its command line; VW "
        "and datatable are `python -m bench.vw_task` / `bench.dt_task` (the pip packages have "
        "no command line of their own), so their whole process also counts Python's start-up "
        "and importing their package. The in-process tables are the second view: each tool "
        "timed inside its process from just before its work to just after it.",
        "",
    ]


def notes(o: Outcome) -> list[str]:
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
