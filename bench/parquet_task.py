"""Child process: the bench's Parquet file the way Python users load it
(``python -m bench.parquet_task``).

``dt-fit DATA MODEL alpha beta lambda1 lambda2 bits``: pyarrow reads DATA (``read``),
datatable takes the Arrow table, its chunks combined (``frame``; datatable reads no
Parquet itself), then fits one epoch of its FTRL (``fit``, label as booleans, every other
column as datatable hashes it) and pickles the model. ``pandas DATA``:
``pandas.read_parquet`` (pyarrow engine), which is what a pandas user pays before any
learning (``read_parquet``). Prints JSON with each phase's time, after the imports.
"""

from __future__ import annotations

import json
import pickle
import sys
import time


def dt_fit(data: str, model_path: str, alpha: str, beta: str, l1: str, l2: str,
           bits: str) -> dict:
    import datatable as dt
    import pyarrow.parquet as pq
    from datatable.models import Ftrl

    t0 = time.perf_counter()
    table = pq.read_table(data)
    t1 = time.perf_counter()
    frame = dt.Frame(table.combine_chunks())  # datatable takes one chunk per column
    del table
    y = frame[:, dt.as_type(dt.f[0], dt.bool8)]
    del frame[:, 0]
    t2 = time.perf_counter()
    model = Ftrl(alpha=float(alpha), beta=float(beta), lambda1=float(l1), lambda2=float(l2),
                 nbins=2 ** int(bits), nepochs=1, model_type="binomial")
    model.fit(frame, y)
    t3 = time.perf_counter()
    with open(model_path, "wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return {"read": t1 - t0, "frame": t2 - t1, "fit": t3 - t2}


def pandas_read(data: str) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    frame = pd.read_parquet(data, engine="pyarrow")
    t1 = time.perf_counter()
    assert len(frame)
    return {"read_parquet": t1 - t0}


def main(argv: list[str]) -> None:
    task = argv[0]
    if task == "dt-fit":
        # imported before the clock starts (pq.read_table reads through pyarrow.dataset)
        import datatable  # noqa: F401
        import pyarrow.dataset  # noqa: F401
        import pyarrow.parquet  # noqa: F401
        from datatable.models import Ftrl  # noqa: F401

        timings = dt_fit(*argv[1:])
    elif task == "pandas":
        import pandas  # noqa: F401
        import pyarrow.dataset  # noqa: F401
        import pyarrow.parquet  # noqa: F401

        timings = pandas_read(*argv[1:])
    else:
        raise SystemExit(f"unknown task {task!r}")
    print(json.dumps({"timings": timings}))


if __name__ == "__main__":
    main(sys.argv[1:])
