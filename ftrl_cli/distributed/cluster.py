"""Reaching Dask: ``--dask tcp://host:8786`` (a running scheduler) or ``--dask local:N`` (a
LocalCluster of N worker processes, started and stopped by the command).

Dask is imported here only, when a command is given ``--dask`` or the Python API is used.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

from ftrl_cli.errors import FtrlError

_LOCAL = re.compile(r"local:(\d+)")


def import_distributed():
    """The ``distributed`` module, or a one-line error saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise FtrlError("--dask needs Dask: pip install 'ftrl-cli[dask]'") from None
    return distributed


def parse_address(address: str) -> tuple[str, int | None]:
    """``("local", N)`` for ``local:N``, else ``("scheduler", None)`` for a scheduler address.

    >>> parse_address("local:2"), parse_address("tcp://10.0.0.5:8786")
    (('local', 2), ('scheduler', None))
    """
    m = _LOCAL.fullmatch(address.strip())
    if m:
        n = int(m.group(1))
        if n < 1:
            raise FtrlError("--dask local:N needs N >= 1 workers")
        return "local", n
    if address.strip().startswith("local"):
        raise FtrlError(f"--dask: expected local:N (N workers), got {address!r}")
    return "scheduler", None


@contextlib.contextmanager
def connect(address: str, timeout: float = 30.0) -> Iterator[Any]:
    """A ``distributed.Client`` for ``address`` (see the module), closed on leaving; a
    ``local:N`` cluster is stopped with it.

    >>> with connect("local:1") as client:  # doctest: +SKIP
    ...     len(client.scheduler_info()["workers"])
    1
    """
    kind, n = parse_address(address)
    distributed = import_distributed()
    if kind == "local":
        # one thread per process: the kernels hold a core each; no dashboard port to collide;
        # no log lines (a lost worker is reported by the command itself)
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=None,
                                           silence_logs=logging.CRITICAL)
        try:
            with distributed.Client(cluster) as client:
                client.wait_for_workers(n, timeout=timeout)  # all of them, before any work
                yield client
        finally:
            cluster.close()
        return
    try:
        client = distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as e:
        raise FtrlError(f"--dask: cannot reach the scheduler at {address}: "
                        f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    with client:
        if not client.scheduler_info().get("workers"):
            client.wait_for_workers(1, timeout=timeout)
        yield client


def worker_addresses(client: Any) -> list[str]:
    """The addresses of the workers the scheduler knows now, sorted."""
    return sorted(client.scheduler_info()["workers"])
