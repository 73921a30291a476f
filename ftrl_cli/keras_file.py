"""What ``ftrl export --keras`` and ``ftrl import-keras`` share: Keras, imported on demand,
and the ftrl entry of a ``.keras`` file.

Keras is an optional dependency (``pip install 'ftrl-cli[keras]'``): it is imported only by
these commands, so ``ftrl --help`` and the other commands never load it.

A ``.keras`` file is a zip archive of ``config.json``, ``metadata.json`` and
``model.weights.h5``; Keras reads those entries and ignores any other. ``ftrl export`` adds
one more, ``ftrl.json``: the checkpoint's metadata (feature spec and hashing, loss, counters,
negative sampling), everything Keras does not know, so ``ftrl import-keras`` and
``ftrl_cli.hash_records`` can hash records as the model was trained to.
"""

from __future__ import annotations

import json
import zipfile
from types import ModuleType

from ftrl_cli.errors import FtrlError

ENTRY = "ftrl.json"
INSTALL_HINT = "pip install 'ftrl-cli[keras]' (or pip install keras)"


def import_keras() -> ModuleType:
    """Keras 3, or a one-line error saying how to install it."""
    try:
        import keras
    except ImportError as e:
        if e.name != "keras":  # Keras is there, its backend is not
            raise FtrlError(f"Keras cannot load its backend ({e}): set KERAS_BACKEND to an "
                            "installed one (jax, torch, tensorflow or numpy)") from None
        raise FtrlError(f"this command needs Keras 3: {INSTALL_HINT}") from None
    if not hasattr(keras, "version") or int(keras.version().split(".")[0]) < 3:
        raise FtrlError(f"this command needs Keras 3, found {getattr(keras, '__version__', '?')}")
    return keras


def read_entry(path: str) -> dict | None:
    """The ``ftrl.json`` entry of the ``.keras`` file at ``path`` (None if it has none).

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "m.keras")
    >>> with zipfile.ZipFile(p, "w") as z:
    ...     z.writestr("config.json", "{}")
    >>> read_entry(p) is None
    True
    >>> add_entry(p, {"features": {"format": "vw"}})
    >>> read_entry(p)
    {'features': {'format': 'vw'}}
    """
    try:
        with zipfile.ZipFile(path) as z:
            if ENTRY not in z.namelist():
                return None
            meta = json.loads(z.read(ENTRY))
    except (OSError, zipfile.BadZipFile, ValueError) as e:
        raise FtrlError(f"{path}: not a Keras model file ({type(e).__name__})") from None
    if not isinstance(meta, dict):
        raise FtrlError(f"{path}: damaged {ENTRY} entry")
    return meta


def add_entry(path: str, meta: dict) -> None:
    """Append the ``ftrl.json`` entry to the zip archive at ``path``."""
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(ENTRY, json.dumps(meta, indent=1))
