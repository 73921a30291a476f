"""Child process: one ``ftrl`` command run and timed inside Python (``python -m bench.ftrl_task``).

The arguments are ftrl's own, e.g. ``train FILE --format criteo -o MODEL --quiet``. The
package's modules are imported first, untimed, as the VW and datatable children import theirs
before their clocks start; the timed part is the command itself: everything it does from
parsing its options to having written its model or predictions (starting numba's runtime,
loading the cached kernels and reading the model included). Prints JSON ``{"timings": {"run": s}}``.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> None:
    from ftrl_cli import cli
    from ftrl_cli.commands import predict, train  # noqa: F401  (imported as `ftrl` would)

    t0 = time.perf_counter()
    cli.main(argv)
    run = time.perf_counter() - t0
    print(json.dumps({"timings": {"run": run}}))


if __name__ == "__main__":
    main(sys.argv[1:])
