"""The measured commands: one ``Case`` per tool, phase and input format."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from bench.datasets import FORMATS, DataSet
from bench.settings import Hyper

PY = sys.executable
FTRL = str(Path(sys.executable).with_name("ftrl"))
FORMAT_NAMES = {"criteo": "criteo TSV", "vw": "VW text", "libsvm": "libsvm"}


@dataclass(frozen=True)
class Case:
    """One command measured in a fresh child process.

    ``inproc`` names timings the child reports (JSON on stdout) whose sum is the time compared
    across tools; empty means the whole process's wall-clock time.
    """

    key: str
    phase: str  # floor | train | predict | profile
    tool: str
    fmt: str
    cmd: tuple[str, ...]
    rows: int
    input_bytes: int
    inproc: tuple[str, ...] = ()
    capture: bool = False
    predictions: Path | None = None
    once: bool = False
    bits: int | None = None  # the hash size, for cases run at several table sizes

    @property
    def label(self) -> str:
        return f"{self.tool} ({FORMAT_NAMES.get(self.fmt, self.fmt)})"


# Formats whose ftrl cases are also timed in-process, the way the peers are timed.
INPROC_FORMATS = ("criteo", "vw")


def _inproc_twin(case: Case, output: Path) -> Case:
    """``case`` (an ``ftrl`` command) run by ``bench.ftrl_task``, timed inside the process
    like VW and datatable: without interpreter start-up and imports. Its output goes to
    ``output``, so the whole-process case's files stay those of the command line."""
    args = list(case.cmd[1:])
    flag = args.index("-o")
    args[flag + 1] = str(output)
    return Case(
        case.key.replace("/ftrl/", "/ftrl-inproc/"),
        case.phase,
        case.tool + ", in-process",
        case.fmt,
        (PY, "-m", "bench.ftrl_task", *args),
        case.rows,
        case.input_bytes,
        inproc=("run",),
        capture=True,
        predictions=output if case.predictions is not None else None,
    )


def ftrl_train_args(h: Hyper) -> list[str]:
    """The paper's (alpha, beta, l1, l2) in Keras's form; Keras's l2 is half the paper's."""
    return [
        "-b",
        str(h.bits),
        "--learning-rate",
        repr(h.alpha),
        "--beta",
        repr(h.beta),
        "--l1",
        repr(h.l1),
        "--l2",
        repr(h.l2 / 2.0),
        "--initial-accumulator-value",
        "0",
    ]


def ftrl_train_cmd(h: Hyper, data: Path, fmt: str, model: Path, *extra: str) -> tuple[str, ...]:
    """``ftrl train`` of ``data`` to ``model`` with the shared settings, quiet."""
    return (FTRL, "train", str(data), "--format", fmt, "-o", str(model), "--quiet", *extra,
            *ftrl_train_args(h))


def ftrl_predict_cmd(model: Path, data: Path, fmt: str, preds: Path) -> tuple[str, ...]:
    """``ftrl predict`` of ``data`` with ``model``, predictions written to ``preds``."""
    return (FTRL, "predict", "-m", str(model), str(data), "--format", fmt, "-o", str(preds))


def vw_train_args(h: Hyper, data: Path, model: Path) -> str:
    return (
        f"--ftrl --ftrl_alpha {h.alpha!r} --ftrl_beta {h.beta!r} --l1 {h.l1!r} "
        f"--l2 {h.l2!r} -b {h.bits} --loss_function logistic --link logistic "
        f"-d {data} -f {model} --quiet"
    )


def vw_test_args(data: Path, model: Path, preds: Path) -> str:
    return f"-t -i {model} -d {data} -p {preds} --link logistic --quiet"


def _size(path: Path) -> int:
    return path.stat().st_size


def floor_cases(ds: DataSet, h: Hyper) -> list[Case]:
    """Reading the bytes (cat) and ftrl's parse-only pass over each training file."""
    cases = []
    for fmt in FORMATS:
        for split, path, rows in (
            ("train", ds.train(fmt), ds.train_rows),
            ("test", ds.test(fmt), ds.test_rows),
        ):
            cases.append(
                Case(
                    f"floor/cat/{split}/{fmt}",
                    "floor",
                    f"cat {split}",
                    fmt,
                    ("cat", str(path)),
                    rows,
                    _size(path),
                )
            )
    for fmt in FORMATS:
        path = ds.train(fmt)
        cases.append(
            Case(
                f"floor/parse/{fmt}",
                "floor",
                "ftrl parse only",
                fmt,
                (PY, "-m", "bench.parse_only", fmt, str(h.bits), str(path)),
                ds.train_rows,
                _size(path),
                capture=True,
            )
        )
    return cases


def train_cases(ds: DataSet, h: Hyper, out: Path) -> list[Case]:
    cases = []
    for fmt in FORMATS:
        path = ds.train(fmt)
        cmd = ftrl_train_cmd(h, path, fmt, out / f"ftrl-{fmt}.parquet")
        cases.append(
            Case(f"train/ftrl/{fmt}", "train", "ftrl train", fmt, cmd, ds.train_rows, _size(path))
        )
        if fmt in INPROC_FORMATS:
            cases.append(_inproc_twin(cases[-1], out / f"ftrl-inproc-{fmt}.parquet"))
    path = ds.train("criteo")
    cmd = ftrl_train_cmd(h, path, "criteo", out / "ftrl32-criteo.parquet",
                         "--state-dtype", "float32")
    cases.append(
        Case(
            "train/ftrl32/criteo",
            "train",
            "ftrl train float32",
            "criteo",
            cmd,
            ds.train_rows,
            _size(path),
        )
    )
    path = ds.train("vw")
    cases.append(
        Case(
            "train/vw/vw",
            "train",
            "VW --ftrl",
            "vw",
            (PY, "-m", "bench.vw_task", vw_train_args(h, path, out / "vw.model")),
            ds.train_rows,
            _size(path),
            inproc=("parse_learn", "finish"),
            capture=True,
        )
    )
    path = ds.train("criteo")
    cmd = (
        PY,
        "-m",
        "bench.dt_task",
        "fit",
        str(path),
        str(out / "dt.pickle"),
        *h.positional(),
    )
    cases.append(
        Case(
            "train/dt/criteo",
            "train",
            "datatable fread+fit",
            "criteo",
            cmd,
            ds.train_rows,
            _size(path),
            inproc=("fread", "fit"),
            capture=True,
        )
    )
    return cases


def predict_cases(ds: DataSet, out: Path) -> list[Case]:
    cases = []
    runs = [("ftrl", fmt, f"ftrl-{fmt}") for fmt in FORMATS]
    runs.append(("ftrl32", "criteo", "ftrl32-criteo"))
    for tool, fmt, stem in runs:
        path, preds = ds.test(fmt), out / f"{stem}.predictions"
        cmd = ftrl_predict_cmd(out / f"{stem}.parquet", path, fmt, preds)
        name = "ftrl predict" if tool == "ftrl" else "ftrl predict float32"
        cases.append(
            Case(
                f"predict/{tool}/{fmt}",
                "predict",
                name,
                fmt,
                cmd,
                ds.test_rows,
                _size(path),
                predictions=preds,
            )
        )
        if tool == "ftrl" and fmt in INPROC_FORMATS:
            cases.append(_inproc_twin(cases[-1], out / f"ftrl-inproc-{fmt}.predictions"))
    path, preds = ds.test("vw"), out / "vw.predictions"
    cases.append(
        Case(
            "predict/vw/vw",
            "predict",
            "VW -t",
            "vw",
            (PY, "-m", "bench.vw_task", vw_test_args(path, out / "vw.model", preds)),
            ds.test_rows,
            _size(path),
            inproc=("parse_learn", "finish"),
            capture=True,
            predictions=preds,
        )
    )
    path, preds = ds.test("criteo"), out / "dt.predictions"
    cmd = (PY, "-m", "bench.dt_task", "predict", str(path), str(out / "dt.pickle"), str(preds))
    cases.append(
        Case(
            "predict/dt/criteo",
            "predict",
            "datatable fread+predict",
            "criteo",
            cmd,
            ds.test_rows,
            _size(path),
            inproc=("fread", "predict"),
            capture=True,
            predictions=preds,
        )
    )
    return cases


def bulk_cases(ds: DataSet, out: Path) -> list[Case]:
    """Every tool predicting the training rows (four times the test set): with start-up a
    smaller share of the time, the per-row speed shows. Not scored (no quality figures)."""
    path, rows = ds.train("criteo"), ds.train_rows
    model = out / "ftrl-criteo.parquet"
    cmd = ftrl_predict_cmd(model, path, "criteo", out / "bulk-ftrl.predictions")
    whole = Case("bulk/ftrl/criteo", "bulk", "ftrl predict", "criteo", cmd, rows, _size(path))
    cases = [whole, _inproc_twin(whole, out / "bulk-ftrl-inproc.predictions")]
    vw_path = ds.train("vw")
    cases.append(
        Case(
            "bulk/vw/vw",
            "bulk",
            "VW -t",
            "vw",
            (PY, "-m", "bench.vw_task",
             vw_test_args(vw_path, out / "vw.model", out / "bulk-vw.predictions")),
            rows,
            _size(vw_path),
            inproc=("parse_learn", "finish"),
            capture=True,
        )
    )
    cmd = (PY, "-m", "bench.dt_task", "predict", str(path), str(out / "dt.pickle"),
           str(out / "bulk-dt.predictions"))
    cases.append(
        Case("bulk/dt/criteo", "bulk", "datatable fread+predict", "criteo", cmd, rows,
             _size(path), inproc=("fread", "predict"), capture=True)
    )
    return cases


def profile_cases(ds: DataSet, h: Hyper, out: Path) -> list[Case]:
    """In-process split of ftrl training into parsing and learning (every round)."""
    cases = []
    for fmt in FORMATS:
        path = ds.train(fmt)
        cmd = (
            PY,
            "-m",
            "bench.ftrl_phases",
            fmt,
            str(path),
            str(out / f"phases-{fmt}.parquet"),
            *h.positional(),
        )
        cases.append(
            Case(
                f"profile/ftrl/{fmt}",
                "profile",
                "ftrl phases",
                fmt,
                cmd,
                ds.train_rows,
                _size(path),
                capture=True,
            )
        )
    return cases


def all_cases(ds: DataSet, h: Hyper, out: Path) -> list[Case]:
    """Every case in the order one round runs them (a model is trained before it predicts)."""
    return [
        *floor_cases(ds, h),
        *train_cases(ds, h, out),
        *predict_cases(ds, out),
        *bulk_cases(ds, out),
        *profile_cases(ds, h, out),
    ]


def scale_cases(
    small: Path, small_rows: int, large: Path, large_rows: int, h: Hyper, out: Path
) -> list[Case]:
    """ftrl train on N/2 and 2N rows: peak memory should not grow with the row count."""
    cases = []
    for name, path, rows in (("small", small, small_rows), ("large", large, large_rows)):
        cmd = ftrl_train_cmd(h, path, "criteo", out / f"scale-{name}.parquet")
        cases.append(
            Case(
                f"scale/{name}",
                "scale",
                f"ftrl train {rows:,} rows",
                "criteo",
                cmd,
                rows,
                _size(path),
                once=True,
            )
        )
    return cases

