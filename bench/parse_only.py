"""Child process: ftrl's readers alone, batches discarded (``python -m bench.parse_only``).

``FORMAT BITS FILE`` streams FILE through ``ftrl_cli.readers.read_batches``; prints JSON with
the record count and the parse time (after imports).
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> None:
    from ftrl_cli.readers import read_batches, resolve_spec

    fmt, bits, path = argv[0], int(argv[1]), argv[2]
    spec = resolve_spec([path], format=fmt, hash_bits=bits)
    t0 = time.perf_counter()
    rows = nnz = 0
    for batch in read_batches([path], spec):
        rows += len(batch)
        nnz += len(batch.data)
    parse = time.perf_counter() - t0
    print(json.dumps({"rows": rows, "nnz": nnz, "timings": {"parse": parse}}))


if __name__ == "__main__":
    main(sys.argv[1:])
