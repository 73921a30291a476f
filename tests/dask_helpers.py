"""Shared by the Dask tests: a LocalCluster whose workers import this tree, and a worker
plugin that makes a worker die (once) as it starts a chosen task."""

from __future__ import annotations

import contextlib
import os

import pytest
from clirun import REPO

try:
    from distributed import WorkerPlugin
except ImportError:  # the tests that need it skip
    WorkerPlugin = object


@contextlib.contextmanager
def local_client(workers: int):
    """A client of a LocalCluster of ``workers`` processes, one thread each."""
    distributed = pytest.importorskip("distributed")
    # the workers are new processes: they must import ftrl_cli (and this module) from here
    path = os.pathsep.join([REPO, os.path.dirname(os.path.abspath(__file__)),
                            os.environ.get("PYTHONPATH", "")])
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = path
    try:
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                      processes=True, dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            yield client
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


class DieOnce(WorkerPlugin):
    """A worker plugin: the first worker to start a task whose key begins with ``prefix``
    removes ``marker`` and exits at once, as a crashed or killed worker does (the file
    makes it happen once over all workers, restarted ones included)."""

    name = "ftrl-die-once"

    def __init__(self, marker: str, prefix: str) -> None:
        self.marker = marker
        self.prefix = prefix

    def setup(self, worker) -> None:
        pass

    def teardown(self, worker) -> None:
        pass

    def transition(self, key, start, finish, **kwargs) -> None:
        name = key if isinstance(key, str) else str(key[0] if isinstance(key, tuple) else key)
        if finish == "executing" and name.startswith(self.prefix):
            try:
                os.unlink(self.marker)
            except FileNotFoundError:
                return
            os._exit(1)
