"""Child process: where ``ftrl train`` spends its time (``python -m bench.ftrl_phases``).

``FORMAT FILE MODEL alpha beta l1 l2 bits [dtype]`` does what ``ftrl train`` does with the
same settings, one step after the other (no reader thread), timing separately the imports,
the set-up (allocating the state), the reader (parsing and hashing), the learner (the FTRL
kernel; also its CPU time, steadier than wall time on a shared machine) and the checkpoint
write. Set FTRL_PHASES_FULL to keep the full 32-byte state rows. Prints JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> None:
    t_import = time.perf_counter()
    import numpy as np

    from ftrl_cli import checkpoint
    from ftrl_cli.config import OptimizerConfig
    from ftrl_cli.model import Model
    from ftrl_cli.readers import read_batches, resolve_spec

    fmt, path, model_path = argv[:3]
    alpha, beta, l1, l2 = map(float, argv[3:7])
    bits = int(argv[7])
    dtype = np.dtype(argv[8] if len(argv) > 8 else "float64").type
    t_setup = time.perf_counter()
    imports = t_setup - t_import
    spec = resolve_spec([path], format=fmt, hash_bits=bits)
    cfg = OptimizerConfig(
        learning_rate=alpha,
        beta=beta,
        l1_regularization_strength=l1,
        l2_regularization_strength=l2 / 2.0,
        initial_accumulator_value=0.0,
    )
    model = Model(cfg, bits, True, dtype, compact=os.environ.get("FTRL_PHASES_FULL") is None)
    setup = time.perf_counter() - t_setup
    parse = learn = learn_cpu = 0.0
    rows = 0
    batches = iter(read_batches([path], spec))
    while True:
        t0 = time.perf_counter()
        batch = next(batches, None)
        t1 = time.perf_counter()
        c1 = time.thread_time()
        parse += t1 - t0
        if batch is None:
            break
        model.train_csr(batch.indptr, batch.indices, batch.data, batch.labels, batch.weights, 1)
        learn += time.perf_counter() - t1
        learn_cpu += time.thread_time() - c1
        rows += len(batch)
    t0 = time.perf_counter()
    model.flush()
    checkpoint.save(model, spec, model_path)
    save = time.perf_counter() - t0
    timings = {"import": imports, "setup": setup, "parse": parse, "learn": learn, "save": save,
               "learn_cpu": learn_cpu}
    print(json.dumps({"rows": rows, "timings": timings}))


if __name__ == "__main__":
    main(sys.argv[1:])
