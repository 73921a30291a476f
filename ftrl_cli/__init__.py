"""ftrl: click-through-rate models on hashed sparse features, trained with Keras's FTRL."""

from ftrl_cli import _jit  # noqa: F401  (sets the compiled-kernel cache before numba loads)
from ftrl_cli._version import __version__

__all__ = ["Ftrl", "FtrlClassifier", "__version__", "hash_records"]

# Loaded on first use, so that ``import ftrl_cli`` (and the CLI's start) stays light.
_LAZY = {"Ftrl": "ftrl_cli.optimizer", "FtrlClassifier": "ftrl_cli.estimator",
         "hash_records": "ftrl_cli.hashed_input"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ftrl_cli' has no attribute {name!r}")
