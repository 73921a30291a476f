"""Child process: drive Vowpal Wabbit's own parser over a file (``python -m bench.vw_task``).

The single argument is VW's command line, e.g. ``"--ftrl -d train.vw -f model --quiet"``.
In vowpalwabbit 9.x, ``Workspace(...)`` given ``-d`` runs the native parser (and the learner)
over the file itself; ``run_parser()`` is called only if it has not. Prints JSON with the
time of each phase, excluding interpreter start-up and the import.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> None:
    from vowpalwabbit import Workspace

    t0 = time.perf_counter()
    ws = Workspace(argv[0])
    if not getattr(ws, "parser_ran", False):
        ws.run_parser()
    t1 = time.perf_counter()
    ws.finish()
    t2 = time.perf_counter()
    print(json.dumps({"timings": {"parse_learn": t1 - t0, "finish": t2 - t1}}))


if __name__ == "__main__":
    main(sys.argv[1:])
