"""SIGTERM and SIGINT during a run that writes checkpoints: stop at the next batch's end.

The first signal is only noted: the run finishes the batch it is on, writes a resumable
checkpoint and exits with 128 + the signal's number (143 for SIGTERM, 130 for SIGINT).  A
second signal stops at once; files being written are left as they were (the atomic writes
see to it), so the last checkpoint stays good.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ftrl_cli.errors import FtrlError

STOPPING = (signal.SIGTERM, signal.SIGINT)


class Interrupted(FtrlError):
    """The run stopped on a signal; ``str(e)`` says where and how to go on.

    >>> e = Interrupted(signal.SIGTERM, "train.vw:12345 (pass 1)")
    >>> e.exit_code, str(e)
    (143, 'interrupted at train.vw:12345 (pass 1); resume with the same command and --resume')
    """

    def __init__(self, signum: int, where: str) -> None:
        self.exit_code = 128 + signum
        super().__init__(f"interrupted at {where}; resume with the same command and --resume")


class Interrupts:
    """The stopping signal received so far (``signum``, None while there is none).

    >>> with catching() as got:
    ...     signal.raise_signal(signal.SIGTERM)
    ...     got.signum == signal.SIGTERM
    True
    """

    def __init__(self) -> None:
        self.signum: int | None = None

    def _handle(self, signum: int, _frame: object) -> None:
        if self.signum is not None:
            # The second signal: stop now, through the atomic writes' clean-up.
            print("ftrl: interrupted again: stopping now (the last checkpoint stays)",
                  file=sys.stderr)
            raise SystemExit(128 + signum)
        self.signum = signum


@contextmanager
def catching() -> Iterator[Interrupts]:
    """Note SIGTERM and SIGINT in the `Interrupts` given, instead of stopping at once;
    the handlers before are back afterwards."""
    got = Interrupts()
    before = {s: signal.signal(s, got._handle) for s in STOPPING}
    try:
        yield got
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
