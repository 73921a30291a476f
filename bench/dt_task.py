"""Child process: datatable's FTRL on a criteo TSV file (``python -m bench.dt_task``).

``fit DATA MODEL alpha beta lambda1 lambda2 bits [PAIRS]`` reads DATA with ``fread``, fits one
epoch (with PAIRS, comma-separated ``a:b`` groups, as its ``interactions``) and pickles the
model; ``predict DATA MODEL PREDICTIONS`` loads it, reads DATA, predicts and
writes one probability per line. Prints JSON with each phase's time (after the import).
"""

from __future__ import annotations

import json
import pickle
import sys
import time


def _read(path: str):
    import datatable as dt

    types = [dt.bool8] + [dt.int32] * 13 + [dt.str32] * 26
    frame = dt.fread(path, header=False, sep="\t", columns=types)
    label = frame[:, 0]
    del frame[:, 0]
    return frame, label


def fit(data: str, model_path: str, alpha: str, beta: str, l1: str, l2: str, bits: str,
        pairs: str = "") -> dict:
    from datatable.models import Ftrl

    t0 = time.perf_counter()
    X, y = _read(data)
    t1 = time.perf_counter()
    model = Ftrl(
        alpha=float(alpha),
        beta=float(beta),
        lambda1=float(l1),
        lambda2=float(l2),
        nbins=2 ** int(bits),
        nepochs=1,
        model_type="binomial",
    )
    if pairs:
        model.interactions = [group.split(":") for group in pairs.split(",")]
    model.fit(X, y)
    t2 = time.perf_counter()
    with open(model_path, "wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    t3 = time.perf_counter()
    return {"fread": t1 - t0, "fit": t2 - t1, "save": t3 - t2}


def predict(data: str, model_path: str, out: str) -> dict:
    t0 = time.perf_counter()
    with open(model_path, "rb") as fh:
        model = pickle.load(fh)
    t1 = time.perf_counter()
    X, _ = _read(data)
    t2 = time.perf_counter()
    probs = model.predict(X)
    t3 = time.perf_counter()
    probs[:, "True"].to_csv(out, header=False)
    t4 = time.perf_counter()
    return {"load": t1 - t0, "fread": t2 - t1, "predict": t3 - t2, "write": t4 - t3}


def main(argv: list[str]) -> None:
    import datatable  # noqa: F401  (imported before the clock starts)

    task = {"fit": fit, "predict": predict}[argv[0]]
    print(json.dumps({"timings": task(*argv[1:])}))


if __name__ == "__main__":
    main(sys.argv[1:])
