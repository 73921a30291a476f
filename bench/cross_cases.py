"""Feature crosses: every pair of Criteo's 26 categorical columns, in the three tools.

ftrl trains on the criteo TSV with ``--interactions C*:C*`` (325 pairs), Vowpal Wabbit twice:
on the VW text with ``-q cc`` (the bench's VW layout puts C1..C26 in namespace ``c``; Vowpal
Wabbit 9 crosses a namespace with itself as i <= j, so it also makes the 26 squares, which
for 0/1 features repeat the features themselves at other coordinates), and on the same
records with one namespace per C column (``a`` for C1 .. ``z`` for C26, the counts in
``I``) with the 325 ``-q`` pairs of those letters: exactly ftrl's pairs.  datatable gets the
325 pairs as its ``interactions``.  Same data, same hash size, learning rate 0.03 for all
three, one run each (``python -m bench.crosses`` runs these alone).
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

from bench.cases import (
    PY,
    Case,
    _inproc_twin,
    _size,
    ftrl_predict_cmd,
    ftrl_train_cmd,
    vw_test_args,
    vw_train_args,
)
from bench.datasets import DataSet
from bench.settings import Hyper

CROSS_ALPHA = 0.03
C_COLUMNS = [f"C{i}" for i in range(1, 27)]
PAIRS = ",".join(f"{a}:{b}" for a, b in itertools.combinations(C_COLUMNS, 2))
LETTERS = "abcdefghijklmnopqrstuvwxyz"
VW_PAIRS = " ".join(f"-q {a}{b}" for a, b in itertools.combinations(LETTERS, 2))


def _column_namespaces(line: str) -> str:
    """``label |i I.. |c C1_x C2_y ..`` as ``label |I I.. |a C1_x |b C2_y ..``."""
    head, *groups = line.rstrip("\n").split(" |")
    out = [head]
    for group in groups:
        ns, *tokens = group.split(" ")
        if ns == "c":
            out += [f"|{LETTERS[int(t[1:t.index('_')]) - 1]} {t}" for t in tokens if t]
        else:
            out.append("|I " + " ".join(tokens))
    return " ".join(out) + "\n"


def per_column_vw(src: Path) -> Path:
    """``src`` with a namespace per C column (made once, beside it).

    >>> _column_namespaces("1 |i I1_3 |c C1_ab C26_cd\n")
    '1 |I I1_3 |a C1_ab |z C26_cd\n'
    """
    dst = src.with_name(f"{src.stem}-columns.vw")
    if not dst.exists():
        tmp = dst.with_suffix(".tmp")
        with open(src, encoding="utf-8") as fin, open(tmp, "w", encoding="utf-8") as fout:
            fout.writelines(_column_namespaces(line) for line in fin)
        tmp.rename(dst)
    return dst


def _train(ds: DataSet, h: Hyper, out: Path) -> list[Case]:
    crit, vw = ds.train("criteo"), ds.train("vw")
    cmd = ftrl_train_cmd(h, crit, "criteo", out / "cross-ftrl.parquet",
                         "--interactions", "C*:C*")
    ftrl = Case("cross/train/ftrl/criteo", "cross", "ftrl train C*:C*", "criteo", cmd,
                ds.train_rows, _size(crit), once=True)
    twin = dataclasses.replace(_inproc_twin(ftrl, out / "cross-ftrl-inproc.parquet"), once=True)
    vw_cmd = (PY, "-m", "bench.vw_task",
              vw_train_args(h, vw, out / "cross-vw.model") + " -q cc")
    cols = per_column_vw(vw)
    cols_cmd = (PY, "-m", "bench.vw_task",
                vw_train_args(h, cols, out / "cross-vw-pairs.model") + " " + VW_PAIRS)
    dt_cmd = (PY, "-m", "bench.dt_task", "fit", str(crit), str(out / "cross-dt.pickle"),
              *h.positional(), PAIRS)
    return [
        ftrl,
        twin,
        Case("cross/train/vw/vw", "cross", "VW --ftrl -q cc", "vw", vw_cmd, ds.train_rows,
             _size(vw), inproc=("parse_learn", "finish"), capture=True, once=True),
        Case("cross/train/vw-pairs/vw", "cross", "VW --ftrl, the 325 -q pairs", "vw", cols_cmd,
             ds.train_rows, _size(cols), inproc=("parse_learn", "finish"), capture=True,
             once=True),
        Case("cross/train/dt/criteo", "cross", "datatable fread+fit, C×C", "criteo", dt_cmd,
             ds.train_rows, _size(crit), inproc=("fread", "fit"), capture=True, once=True),
    ]


def _predict(ds: DataSet, out: Path) -> list[Case]:
    crit, vw = ds.test("criteo"), ds.test("vw")
    preds = {k: out / f"cross-{k}.predictions" for k in ("ftrl", "vw", "vw-pairs", "dt")}
    vw_cmd = (PY, "-m", "bench.vw_task", vw_test_args(vw, out / "cross-vw.model", preds["vw"]))
    cols = per_column_vw(vw)
    cols_cmd = (PY, "-m", "bench.vw_task",
                vw_test_args(cols, out / "cross-vw-pairs.model", preds["vw-pairs"]))
    dt_cmd = (PY, "-m", "bench.dt_task", "predict", str(crit), str(out / "cross-dt.pickle"),
              str(preds["dt"]))
    return [
        Case("cross/predict/ftrl/criteo", "cross", "ftrl predict C*:C*", "criteo",
             ftrl_predict_cmd(out / "cross-ftrl.parquet", crit, "criteo", preds["ftrl"]),
             ds.test_rows, _size(crit), predictions=preds["ftrl"], once=True),
        Case("cross/predict/vw/vw", "cross", "VW -t -q cc", "vw", vw_cmd, ds.test_rows,
             _size(vw), inproc=("parse_learn", "finish"), capture=True,
             predictions=preds["vw"], once=True),
        Case("cross/predict/vw-pairs/vw", "cross", "VW -t, the 325 -q pairs", "vw", cols_cmd,
             ds.test_rows, _size(cols), inproc=("parse_learn", "finish"), capture=True,
             predictions=preds["vw-pairs"], once=True),
        Case("cross/predict/dt/criteo", "cross", "datatable fread+predict, C×C", "criteo",
             dt_cmd, ds.test_rows, _size(crit), inproc=("fread", "predict"), capture=True,
             predictions=preds["dt"], once=True),
    ]


def cross_cases(ds: DataSet, h: Hyper, out: Path) -> list[Case]:
    """Training then prediction of each tool with the C×C crosses, at learning rate 0.03."""
    h = dataclasses.replace(h, alpha=CROSS_ALPHA)
    return [*_train(ds, h, out), *_predict(ds, out)]
