"""The benchmark harness's own logic, on made-up measurements: no tool is run.

Settings from the environment, the keys of cases at several table sizes, the targets of
issue #14 (judged only at the row counts they name), which stored runs join the report,
the report's layout (whole processes first), the sweep's figures and plot, and the hook for
optional parts.
"""

import dataclasses
import doctest
import sys
import types

import pytest

from bench import measure, run, settings, sizes, sweep, targets
from bench.cases import Case
from bench.datasets import FORMATS, DataSet
from bench.report import Outcome, render
from bench.suite import Result

ENV = {"date": "2026-01-01 00:00 UTC", "cpu": "cpu", "cores": 2, "memory": "1 GB",
       "os": "Linux", "versions": {"python": "3"}, "revision": "abc1234"}


@pytest.fixture
def data(tmp_path):
    for split in ("train", "test"):
        for fmt in FORMATS:
            (tmp_path / f"{split}.{fmt}").write_text("1\tx\n")
    return DataSet(tmp_path, 1000, 250, {}, {})


def _result(key, phase, walls, tool="ftrl", inside=None, rss=100.0, bits=None, rows=1000,
            logloss=None, reports=None):
    inproc = ("run",) if inside is not None else ()
    case = Case(key, phase, tool, "criteo", ("true",), rows, 1000, inproc=inproc,
                capture=bool(inproc or reports), bits=bits)
    res = Result(case)
    for i, w in enumerate(walls):
        res.series.add(measure.Sample(w, rss, cpu=w))
        if inside is not None:
            res.reports.append({"timings": {"run": inside[i]}})
    if reports is not None:
        res.reports = reports
    if logloss is not None:
        res.metrics = {"logloss": logloss, "auc": 0.7}
    return res


def _outcome(data, results, rows=2_000_000, **kw):
    s = dataclasses.replace(settings.Settings(), rows=rows, runs=len(next(iter(
        results)).series.walls) if results else 1)
    return Outcome(settings=s, data=data, results={r.case.key: r for r in results}, scale={},
                   help_times="", one_record="", env=ENV, **kw)


def _b24(data, rows, ftrl=1.0, vw=3.0, dt=2.5):
    """-b 24 train and predict cases: ftrl ``ftrl`` s, VW ``vw`` s, datatable ``dt`` s."""
    return [
        _result("b24/train/ftrl/criteo", "train", [ftrl] * 3, bits=24, rss=550, rows=rows),
        _result("b24/train/vw/vw", "train", [vw] * 3, "VW", inside=[vw / 2] * 3, bits=24,
                rows=rows),
        _result("b24/train/dt/criteo", "train", [dt] * 3, "dt", inside=[dt / 2] * 3, bits=24,
                rows=rows),
        _result("b24/predict/ftrl/criteo", "predict", [ftrl / 4] * 3, bits=24, rows=rows,
                logloss=0.45),
        _result("b24/predict/vw/vw", "predict", [vw / 2] * 3, "VW", inside=[vw / 4] * 3,
                bits=24, rows=rows, logloss=0.46),
        _result("b24/predict/dt/criteo", "predict", [dt / 2] * 3, "dt", inside=[dt / 4] * 3,
                bits=24, rows=rows, logloss=0.47),
    ]


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("BENCH_BITS", "24,26")
    monkeypatch.setenv("BENCH_ONLY", "sweep,memory")
    monkeypatch.setenv("BENCH_ROWS", "1_000_000")
    s = settings.from_env()
    assert s.bits == (24, 26) and s.hyper.bits == 24
    assert s.runs_part("sweep") and not s.runs_part("main")
    assert s.sweep_rows == 1_000_000
    assert "BENCH_BITS=24,26" in s.command() and "BENCH_ONLY=sweep,memory" in s.command()


@pytest.mark.parametrize("name, value, message", [
    ("BENCH_ONLY", "sweep,nope", "unknown part 'nope'"),
    ("BENCH_BITS", "22,x", "integers separated by commas"),
    ("BENCH_BITS", "40", "must lie in 1..30"),
])
def test_bad_settings_name_the_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=message):
        settings.from_env()


def test_optional_parts_are_accepted_by_bench_only(monkeypatch):
    monkeypatch.setenv("BENCH_ONLY", "dask")
    assert settings.from_env(("dask",)).only == ("dask",)


def test_cases_at_another_size_compare_the_tools_in_their_own_folder(data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    h24 = dataclasses.replace(settings.Hyper(), bits=24)
    found = sizes.main_cases(data, h24, out, headline=22)
    keys = {c.key for c in found}
    assert keys == {f"b24/{k}" for k in sizes.COMPARED}
    assert all(c.bits == 24 for c in found)
    train = next(c for c in found if c.key == "b24/train/ftrl/criteo")
    assert "24" in train.cmd and str(out / "b24" / "ftrl-criteo.parquet") in train.cmd
    headline = sizes.main_cases(data, settings.Hyper(), out, headline=22)
    assert "train/ftrl/criteo" in {c.key for c in headline}
    assert len(headline) > len(found)
    assert {sizes.unsized_key(c.key) for c in found} == set(sizes.COMPARED)


def test_issue14_speed_targets_are_judged_only_at_4m_rows(data):
    for rows, judged in ((2_000_000, None), (4_000_000, True)):
        o = _outcome(data, _b24(data, rows, ftrl=1.0, vw=3.0, dt=2.5), rows=rows)
        found = {c.name: c for c in targets.big_table_checks(o)}
        train_vw = next(c for n, c in found.items() if "train: ftrl (criteo TSV) vs VW" in n)
        assert train_vw.measured.startswith("3.00×")  # whole processes: 3.0 s / 1.0 s
        assert train_vw.ok is judged
        train_dt = next(c for n, c in found.items() if "vs datatable" in n and "train" in n)
        assert train_dt.ok is judged  # 2.5× ≥ 2×
        predict_vw = next(c for n, c in found.items() if "predict: ftrl (criteo TSV) vs VW" in n)
        assert predict_vw.measured.startswith("6.00×")  # 1.5 s / 0.25 s
    slow = _outcome(data, _b24(data, 4_000_000, ftrl=2.0), rows=4_000_000)
    verdicts = [c.ok for c in targets.big_table_checks(slow) if "train" in c.name]
    assert verdicts == [False, False]  # 1.5× VW and 1.25× datatable


def test_issue14_targets_at_1m_rows_use_the_1m_thresholds(data):
    o = _outcome(data, _b24(data, 1_000_000, ftrl=1.0, vw=1.6), rows=1_000_000)
    found = targets.big_table_checks(o)
    train_vw = next(c for c in found if "train: ftrl (criteo TSV) vs VW" in c.name)
    assert train_vw.target.startswith("≥ 1.5×") and train_vw.ok is True
    predict_vw = next(c for c in found if "predict: ftrl (criteo TSV) vs VW" in c.name)
    assert predict_vw.target.startswith("≥ 2.5×") and predict_vw.ok is True  # 0.8 / 0.25


def test_peak_memory_target_uses_the_largest_ftrl_training_peak(data):
    results = _b24(data, 2_000_000)
    results.append(_result("b24/scale/large", "scale", [2.0], bits=24, rss=640))
    results.append(_result("b24/scale/small", "scale", [1.0], bits=24, rss=600))
    o = _outcome(data, results)
    peak = next(c for c in targets.rows_checks(o) if "peak RSS at -b 24" in c.name)
    assert peak.measured.startswith("640 MB") and peak.ok is False
    flat = next(c for c in targets.rows_checks(o) if "4× the rows" in c.name)
    assert flat.ok is True  # 640 / 600 ≤ 1.1


def _sweep_results(learn20, learn26, nnz=1_000_000):
    found = []
    for b, learn in ((20, learn20), (26, learn26)):
        found += [
            _result(f"sweep/b{b}/ftrl", "sweep", [1.0 + learn] * 3, bits=b),
            _result(f"sweep/b{b}/vw", "sweep", [2.0] * 3, "VW", inside=[1.5] * 3, bits=b),
            _result(f"sweep/b{b}/phases", "sweep", [2.0] * 3, bits=b, reports=[
                {"timings": {"import": 0.3, "parse": 0.5, "learn": learn}}] * 3),
            _result(f"sweep/b{b}/parse", "sweep", [0.7], bits=b,
                    reports=[{"nnz": nnz, "timings": {"parse": 0.5}}]),
        ]
    return found


def test_sweep_learner_cost_per_feature_and_flat_check(data):
    o = _outcome(data, _sweep_results(0.4, 0.8))
    assert sweep.learn_per_feature(o, 20) == pytest.approx(0.4e-6)
    check = targets._flat(o)
    assert check.measured.endswith("2.00×") and check.ok is False
    assert targets._flat(_outcome(data, _sweep_results(0.4, 0.5))).ok is True
    text = sweep.sweep_table(o)
    assert "| 2^20 |" in text and "| 2^26 |" in text and "400.0" in text


def test_sweep_plot_is_a_small_png(data, tmp_path):
    pytest.importorskip("matplotlib")
    path = sweep.plot_sweep(_outcome(data, _sweep_results(0.4, 0.8)), tmp_path / "sweep.png")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size < 100_000
    assert not list(tmp_path.glob("*.partial*"))
    assert sweep.plot_sweep(_outcome(data, _b24(data, 1000)), tmp_path / "none.png") is None


def test_report_leads_with_whole_processes_and_has_each_size(data):
    results = [
        _result("train/ftrl/criteo", "train", [1.5] * 3, bits=22, logloss=None),
        _result("train/vw/vw", "train", [3.0] * 3, "VW", inside=[2.8] * 3, bits=22),
        *_b24(data, 2_000_000),
    ]
    text = render(_outcome(data, results))
    train = text[text.index("## Training"):text.index("## Prediction")]
    assert train.index("### 2^22 weights") < train.index("### 2^24 weights")
    b24 = train[train.index("### 2^24 weights"):]
    whole, inside = b24.split("In-process (second view):")
    assert "| VW (criteo TSV), whole process | 3.00 (3.00–3.00) |" in whole
    assert "†" not in whole.split("\n\n")[1]
    assert "| VW (criteo TSV) | 1.50 (1.50–1.50) † |" in inside
    assert "## Feature crosses" not in text  # no cross cases measured


def test_report_renders_the_crosses_table_and_targets(data):
    results = [
        _result("cross/train/ftrl/criteo", "cross", [2.0], bits=None),
        _result("cross/train/vw/vw", "cross", [7.0], "VW -q cc", inside=[6.5], bits=None),
        _result("cross/predict/ftrl/criteo", "cross", [0.5], logloss=0.44),
        _result("cross/predict/vw/vw", "cross", [1.0], "VW", inside=[0.9], logloss=0.45),
    ]
    text = render(_outcome(data, results))
    section = text[text.index("## Feature crosses"):]
    assert "ftrl (criteo TSV) vs VW --ftrl -q cc (VW text); whole processes | 3.50×" in section
    assert "| ≥ 3× | PASS |" in section
    assert "C×C crosses, test logloss: ftrl / VW -q cc | 0.44000 / 0.45000" in section


def test_runs_at_4m_rows_join_the_default_runs_report(data):
    def at(rows, seed=settings.DEFAULT_SEED):
        o = _outcome(data, _b24(data, rows), rows=rows)
        return dataclasses.replace(o, settings=dataclasses.replace(o.settings, seed=seed))

    default, big, tiny, other_seed = (at(2_000_000), at(4_000_000), at(20_000),
                                      at(4_000_000, seed=1))
    main, others = run.arrange(big, [default, big, tiny, other_seed])
    assert main is default and others == (big,)
    main, others = run.arrange(default, [default, big, tiny])
    assert main is default and others == (big,)
    main, others = run.arrange(tiny, [default, tiny])
    assert main is tiny and others == ()
    text = render(default, (big,))
    assert "## At 4,000,000 training rows" in text
    assert "| 4,000,000 rows, -b 24, whole processes: train: ftrl (criteo TSV) vs VW --ftrl " \
           "| 3.00× (best runs 3.00×) | ≥ 2.5× (at ≥ 4M rows) | PASS |" in text


def test_a_part_run_alone_is_folded_into_the_stored_run(data, monkeypatch):
    monkeypatch.setenv("BENCH_ONLY", "sweep")
    s = settings.from_env()
    stored = _outcome(data, _b24(data, 2_000_000))
    fresh = _outcome(data, _sweep_results(0.4, 0.5))
    folded = run._fold(stored, fresh, dataclasses.replace(s, rows=2_000_000))
    assert set(stored.results) | set(fresh.results) == set(folded.results)
    assert folded.settings.only == () and "BENCH_ONLY=sweep" in folded.history[0]


def test_optional_parts_are_used_when_their_module_exists(monkeypatch):
    fake = types.ModuleType("bench_fake_part")
    fake.fake_cases = lambda ds, h, out: []
    monkeypatch.setitem(sys.modules, "bench_fake_part", fake)
    monkeypatch.setattr(run, "OPTIONAL_PARTS", {
        "fake": ("bench_fake_part", "fake_cases", "fake_section"),
        "absent": ("bench_no_such_module_here", "cases", "section"),
    })
    found = run._optional(lambda line: None)
    assert list(found) == ["fake"] and found["fake"][1] is None


@pytest.mark.parametrize("module", [settings, sizes])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0


def test_memory_breakdown_splits_the_peak(data):
    from bench.memory import breakdown_table, state_mb

    mb = 2**20
    # the gather buffer of multi-record steps is allocated but not touched: not counted
    state = {"arrays": {"state": {"bytes": 512 * mb, "shape": "16777217×4", "dtype": "float64"},
                        "gbuf": {"bytes": 128 * mb, "shape": "16777217", "dtype": "float64",
                                 "touched": False}}}
    results = [
        _result("train/ftrl/criteo", "train", [2.0], bits=24, rss=1000),  # 24 is the headline
        _result("memory/base", "memory", [1.0], bits=10, rss=200),
        _result("memory/b24/tiny", "memory", [1.0], bits=24, rss=300),
        _result("memory/b24/state", "memory", [1.0], bits=24, reports=[state]),
    ]
    o = _outcome(data, results)
    o = dataclasses.replace(o, settings=dataclasses.replace(o.settings, bits=(24,)))
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1].rstrip(" |")
            for line in breakdown_table(o).splitlines()[2:]}
    assert rows["peak RSS of ftrl train (criteo TSV), MB"] == "1,000"
    assert rows["optimizer state (the model's arrays one-record steps touch), MB"] == "512"
    assert rows["the rest: reader buffers, batches, checkpoint write (peak − interpreter − "
                "state), MB"] == "288"  # 1000 − 200 − 512
    assert rows["state faulted in by 100 rows (that run − the interpreter line), MB"] == "100"
    assert rows["state bytes per weight"] == "32.0"
    assert "`gbuf` 16777217 float64 128 MB (untouched here)" in state_mb(o, 24)[1]


def test_a_part_without_its_own_section_gets_a_table_per_phase(data):
    from bench.report import part_section

    results = [_result("dask/score/1", "dask", [4.0]), _result("dask/score/2", "dask", [2.0])]
    text = "\n".join(part_section(_outcome(data, results), "Dask", [r.case.key for r in results]))
    assert text.startswith("## Dask") and text.count("| ftrl (criteo TSV) | ") == 2
    assert part_section(_outcome(data, results), "Dask", ["no/such/key"]) == []
