"""Child process: ftrl on a Dask LocalCluster, timed once the cluster is up
(``python -m bench.dask_task``).

``predict local:N MODEL OUT FILE...`` scores the files with N worker processes;
``train local:N SYNC_EVERY MODEL TEST FILE...`` trains with the bench's settings on N
workers, then scores TEST (untimed).  The cluster's start and each worker's import of the
package are left out of the clock; loading the cached kernels and the model are in it.
Prints JSON ``{"timings": {"run": s}, ...}``.
"""

from __future__ import annotations

import json
import sys
import time


def _warm() -> bool:
    """On each worker, before the clock: the package imported, as a long-lived worker has."""
    import ftrl_cli.distributed.replica  # noqa: F401
    import ftrl_cli.distributed.scoring  # noqa: F401

    return True


def main(argv: list[str]) -> None:
    from bench.settings import from_env
    from ftrl_cli import distributed as fd
    from ftrl_cli.distributed import scoring, training

    mode, address = argv[0], argv[1]
    with fd.connect(address) as client:
        client.run(_warm)
        if mode == "predict":
            model, out, files = argv[2], argv[3], argv[4:]
            t0 = time.perf_counter()
            pieces = scoring.predict(client, files, model, out)
            run = time.perf_counter() - t0
            print(json.dumps({"timings": {"run": run}, "pieces": pieces}))
            return
        sync_every, model, test, files = int(argv[2]), argv[3], argv[4], argv[5:]
        h = from_env().hyper
        t0 = time.perf_counter()
        figures = training.train(client, files, model, sync_every=sync_every,
                                 reader={"format": "criteo", "hash_bits": h.bits},
                                 learning_rate=h.alpha, beta=h.beta,
                                 l1_regularization_strength=h.l1,
                                 l2_regularization_strength=h.l2 / 2.0)
        run = time.perf_counter() - t0
        report = scoring.evaluate(client, [test], model)
    print(json.dumps({"timings": {"run": run}, "rounds": figures["rounds"],
                      "logloss": report["logloss"], "examples": figures["examples"]}))


if __name__ == "__main__":
    main(sys.argv[1:])
