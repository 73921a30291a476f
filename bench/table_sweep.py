"""Whole-process train (and predict) times of ftrl and VW across table sizes, runs alternated.

``python -m bench.table_sweep CRITEO VW [--bits 18,20,22,24,26] [--runs 3] [--test-criteo F
--test-vw F] [--interactions SPEC --vw-q cc] [--alpha 0.1]``

Each round runs every (tool, bits) case once, one process at a time, in turn, so that load
from other processes on a shared machine falls on all of them alike; the table gives medians.
ftrl runs as ``python -m ftrl_cli train`` and VW through ``bench.vw_task`` (its native
parser and learner in a Python process), both timed from spawn to exit, with the peak RSS of
the process from ``wait4``.  With test files it also times ``predict`` / ``-t`` and reports
each model's test log loss.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def run(cmd: list[str], path: str | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process (``PYTHONPATH=path`` if given);
    raises if it fails."""
    # ``python -m`` puts the working directory first on sys.path: run in the tree to time
    # and a kernel cache of its own: two trees sharing one would recompile at every switch
    env = None
    if path:
        cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
        env = {**os.environ, "PYTHONPATH": path, "XDG_CACHE_HOME": cache + "-baseline"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            cwd=path)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024.0


def logloss(pred_path: Path, labels: np.ndarray, vw: bool) -> float:
    """Mean log loss of the predictions in ``pred_path`` (VW's or ftrl's output)."""
    if vw:
        p = np.loadtxt(pred_path, usecols=0)
    else:
        p = np.loadtxt(pred_path, usecols=-1, skiprows=0, ndmin=1)
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("criteo")
    ap.add_argument("vw")
    ap.add_argument("--bits", default="18,20,22,24,26")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--test-criteo")
    ap.add_argument("--test-vw")
    ap.add_argument("--interactions", help="ftrl --interactions, e.g. 'C*:C*'")
    ap.add_argument("--vw-q", help="VW -q argument, e.g. cc")
    ap.add_argument("--tools", default="ftrl,vw")
    ap.add_argument("--baseline", help="another ftrl source tree, run as tool 'base'")
    a = ap.parse_args(argv)
    py = sys.executable
    bits = [int(b) for b in a.bits.split(",")]
    tools = a.tools.split(",") + (["base"] if a.baseline else [])
    out = Path(tempfile.mkdtemp(prefix="ftrl-sweep-"))
    hyper = ["--learning-rate", str(a.alpha), "--beta", "1", "--l1", "1", "--l2", "0.5",
             "--initial-accumulator-value", "0"]
    times: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    for _ in range(a.runs):
        for b in bits:
            for tool in tools:
                model = out / f"{tool}{b}.model"
                path = a.baseline if tool == "base" else None
                if tool in ("ftrl", "base"):
                    cmd = [py, "-m", "ftrl_cli", "train", a.criteo, "--format", "criteo",
                           "-b", str(b), "-o", str(model), "--quiet", *hyper]
                    if a.interactions:
                        cmd += ["--interactions", a.interactions]
                else:
                    vw = (f"--ftrl --ftrl_alpha {a.alpha} --ftrl_beta 1.0 --l1 1.0 --l2 1.0 "
                          f"-b {b} --loss_function logistic --link logistic -d {a.vw} "
                          f"-f {model} --quiet")
                    if a.vw_q:
                        vw += f" -q {a.vw_q}"
                    cmd = [py, "-m", "bench.vw_task", vw]
                times.setdefault((tool, "train", b), []).append(run(cmd, path))
                if a.test_criteo and tool in ("ftrl", "base"):
                    cmd = [py, "-m", "ftrl_cli", "predict", "-m", str(model),
                           a.test_criteo, "--format", "criteo", "-o", str(out / f"{tool}{b}.txt")]
                    times.setdefault((tool, "predict", b), []).append(run(cmd, path))
                elif a.test_vw and tool == "vw":
                    vw = (f"-t -i {model} -d {a.test_vw} -p {out / f'v{b}.txt'} "
                          f"--link logistic --quiet")
                    times.setdefault((tool, "predict", b), []).append(
                        run([py, "-m", "bench.vw_task", vw]))
    print(f"{a.runs} alternated run(s); medians, wall seconds (peak RSS MB)")
    print("| bits | " + " | ".join(f"{t} {k}" for t in tools for k in ("train", "predict")
                                     if (t, k, bits[0]) in times) + " |")
    for b in bits:
        cells = []
        for t in tools:
            for k in ("train", "predict"):
                if (t, k, b) in times:
                    runs = times[(t, k, b)]
                    cells.append(f"{statistics.median(r[0] for r in runs):.2f} "
                                 f"({statistics.median(r[1] for r in runs):.0f})")
        print(f"| {b} | " + " | ".join(cells) + " |")
    if a.test_criteo and a.test_vw:
        labels = np.loadtxt(a.test_criteo, usecols=0, delimiter="\t")
        for b in bits:
            line = [f"2^{b} test logloss:"]
            for t in ("ftrl", "base"):
                if t in tools:
                    line.append(f"{t} {logloss(out / f'{t}{b}.txt', labels, False):.5f}")
            if "vw" in tools:
                line.append(f"VW {logloss(out / f'v{b}.txt', labels, True):.5f}")
            print(" ".join(line))


if __name__ == "__main__":
    main()
