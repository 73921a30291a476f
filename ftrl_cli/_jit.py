"""Where compiled kernels are cached, set before numba is imported.

Numba caches next to the module by default; an installed, read-only package would then
recompile on every run, so a per-user folder is used instead when the package is not writable.
"""

from __future__ import annotations

import os

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ftrl")


def configure() -> None:
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    if not os.access(_PACKAGE_DIR, os.W_OK):
        os.environ["NUMBA_CACHE_DIR"] = os.path.join(user_cache_dir(), "numba")


def first_run_notice() -> None:
    """Say once, on the first run after install, that the kernels are being compiled."""
    from ftrl_cli._version import __version__

    marker = os.path.join(user_cache_dir(), f"compiled-{__version__}")
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


configure()
