"""The learner alone across table sizes: ``python -m bench.learner_sweep FILE [BITS] [RUNS]``.

Parses the criteo FILE once (hashed at 2^28, cached beside it as ``FILE.npz``), then for each
table size in BITS (default ``18,20,22,24,26``; the coordinates masked to it) trains a fresh
model on the same rows with 16-byte (compact) and with 32-byte rows, in turn, RUNS times
(default 3), timing ``Model.train_csr`` only.  CPU seconds of the learning thread are shown
beside wall seconds: on a shared machine they move less.  Settings are the benchmark's (alpha
0.1, beta 1, L1 1, L2 1 in the paper's form, initial accumulator 0).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

from ftrl_cli.config import OptimizerConfig
from ftrl_cli.model import Model
from ftrl_cli.readers import read_batches, resolve_spec

BATCH = 65536


def load(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, indices at 2^28, values, labels)`` of the criteo file, cached."""
    cache = path + ".npz"
    if not os.path.exists(cache):
        spec = resolve_spec([path], format="criteo", hash_bits=28)
        parts: dict[str, list] = {"lens": [], "ix": [], "d": [], "y": []}
        for b in read_batches([path], spec):
            parts["lens"].append(np.diff(b.indptr))
            parts["ix"].append(b.indices.copy())
            parts["d"].append(b.data.copy())
            parts["y"].append(b.labels.copy())
        np.savez(cache, **{k: np.concatenate(v) for k, v in parts.items()})
    z = np.load(cache)
    indptr = np.concatenate([[0], np.cumsum(z["lens"])]).astype(np.int64)
    return indptr, z["ix"], z["d"], z["y"]


def main(argv: list[str]) -> None:
    path = argv[0]
    bits_list = [int(b) for b in (argv[1] if len(argv) > 1 else "18,20,22,24,26").split(",")]
    runs = int(argv[2]) if len(argv) > 2 else 3
    indptr, ix28, data, labels = load(path)
    weights = np.ones(len(labels))
    cfg = OptimizerConfig(learning_rate=0.1, beta=1.0, l1_regularization_strength=1.0,
                          l2_regularization_strength=0.5, initial_accumulator_value=0.0)
    times: dict[tuple[int, bool], list[tuple[float, float]]] = {}
    for _ in range(runs):
        for bits in bits_list:
            ix = (ix28 & ((1 << bits) - 1)).astype(np.int32)
            for compact in (True, False):
                model = Model(cfg, bits, True, np.float64, compact=compact)
                c0, t0 = time.thread_time(), time.perf_counter()
                for s in range(0, len(labels), BATCH):
                    e = min(s + BATCH, len(labels))
                    lo, hi = indptr[s], indptr[e]
                    model.train_csr(indptr[s : e + 1] - lo, ix[lo:hi], data[lo:hi],
                                    labels[s:e], weights[s:e], 1)
                times.setdefault((bits, compact), []).append(
                    (time.thread_time() - c0, time.perf_counter() - t0))
                del model
    print(f"{len(labels):,} rows, {indptr[-1]:,} features; learner seconds over {runs} runs")
    print("| table | rows | CPU best | CPU median | wall median | ns per feature (CPU best) |")
    print("| :-- | :-- | --: | --: | --: | --: |")
    for (bits, compact), v in sorted(times.items()):
        cpu = [c for c, _ in v]
        print(f"| 2^{bits} | {'16 B' if compact else '32 B'} | {min(cpu):.3f} | "
              f"{statistics.median(cpu):.3f} | {statistics.median(w for _, w in v):.3f} | "
              f"{min(cpu) / indptr[-1] * 1e9:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
