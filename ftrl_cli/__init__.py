"""ftrl: click-through-rate models on hashed sparse features, trained with Keras's FTRL."""

from ftrl_cli import _jit  # noqa: F401  (sets the compiled-kernel cache before numba loads)
from ftrl_cli._version import __version__

__all__ = ["__version__"]
