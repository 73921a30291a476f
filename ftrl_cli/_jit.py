"""Where compiled kernels are cached, set before numba is imported.

Numba caches next to each module by default and checks only that module's own file for
changes, so a kernel that inlines code from another module could be served stale after an
upgrade or an edit; and a read-only installed package would recompile on every run.  The cache
lives in a per-user folder named after a digest of the package's sources instead.
"""

from __future__ import annotations

import os

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ftrl")


def source_digest() -> str:
    """Digest of every Python source of the package (a few ms)."""
    import hashlib

    h = hashlib.sha1()
    for root, dirs, files in os.walk(_PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(root, name), "rb") as fh:
                    h.update(name.encode())
                    h.update(fh.read())
    return h.hexdigest()[:16]


def configure() -> None:
    if "NUMBA_CACHE_DIR" not in os.environ:
        os.environ["NUMBA_CACHE_DIR"] = os.path.join(user_cache_dir(), "numba", source_digest())


def first_run_notice() -> None:
    """Say once, on the first run after install, that the kernels are being compiled.

    Only the first call after the sources change prints (a marker file records it).
    """
    from ftrl_cli._version import __version__

    marker = os.path.join(os.environ.get("NUMBA_CACHE_DIR", user_cache_dir()),
                          f"compiled-{__version__}")
    if os.path.exists(marker):
        return
    import sys

    print("ftrl: compiling kernels for this machine (first run only, about a minute)...",
          file=sys.stderr, flush=True)
    try:
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        with open(marker, "w") as fh:
            fh.write("ok\n")
    except OSError:
        pass
    _prune_other_caches()


def _prune_other_caches() -> None:
    """Drop caches compiled from other versions of the sources (best effort)."""
    import shutil

    here = os.environ.get("NUMBA_CACHE_DIR", "")
    parent = os.path.join(user_cache_dir(), "numba")
    if os.path.dirname(here) != parent:
        return
    for name in os.listdir(parent):
        path = os.path.join(parent, name)
        if path != here and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)


configure()
