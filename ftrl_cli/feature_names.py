"""Feature names recorded at training (``ftrl train --feature-names``), for ``ftrl inspect``.

A feature is known by a *key*, a tuple that says how its coordinate is hashed (see
``ftrl_cli.hashing``):

* ``(ns, name)``: ``name`` in vw namespace / column ``ns`` (csv, tsv, criteo, parquet; a
  criteo count column holds its log bin as ``name``); shown ``ns=name`` (a vw feature of the
  default namespace ``""`` as ``name``, or ``=name`` when the name holds a ``=``);
* ``(ns, None)``: numeric column ``ns`` (the empty name); shown ``ns``;
* ``(ns, name, word)``: a vw string value ``name:word``; shown ``ns=name:word``;
* ``(None, index)``: a libsvm index (its decimal text); shown as it;
* a tuple of two or three of those: a cross, shown joined by ``^`` (``C1=ab^C2=cd``).

``NameBook`` keeps, per coordinate, the first key seen and how many distinct keys landed
there, for at most ``max_names`` distinct keys: past that it records nothing more
(coordinates first seen later stay unnamed and the collision counts stop growing).  The
names are written as the checkpoint's ``feature`` (string, null where unknown) and
``feature_collisions`` (int64, 0 where unknown) columns.

>>> naming = Naming("csv", "strings", 4)
>>> book = NameBook(naming, max_names=10)
>>> book.add([("C1", "ab"), ("C2", "cd"), (("C1", "ab"), ("C2", "cd"))])
>>> sorted(naming.text(k) for k in book.first.values())
['C1=ab', 'C1=ab^C2=cd', 'C2=cd']
>>> naming.parse("C1=ab^C2=cd") == (("C1", "ab"), ("C2", "cd"))
True
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ftrl_cli.errors import FtrlError
from ftrl_cli.hashing import hash_name

META_KEY = "feature_names"
DEFAULT_MAX_NAMES = 1_000_000
FEATURE = "feature"
COLLISIONS = "feature_collisions"
_FNV = 16777619
_M32 = 0xFFFFFFFF
_PART_CACHE = 1 << 16
_M64 = (1 << 64) - 1
_FP_MUL = 0x9E3779B97F4A7C15
_TRIMMED = "".join(map(chr, range(33)))  # what ``strings`` mode trims before hashing

Key = tuple


def trim(text: str) -> str:
    """The text ``strings`` mode hashes: bytes up to 0x20 cut from both ends.

    >>> trim(" a\\t")
    'a'
    """
    return text.strip(_TRIMMED)


def is_cross(key: Key) -> bool:
    """Whether ``key`` is a cross (a tuple of feature keys)."""
    return isinstance(key[0], tuple)


def fingerprint(key: Key) -> int:
    """A 64-bit fingerprint of ``key`` within this process (Python's hash of a feature; a
    cross's from its parts', as `cross_fingerprints` computes them in bulk)."""
    if is_cross(key):
        h = 0
        for part in key:
            h = ((h ^ (hash(part) & _M64)) * _FP_MUL) & _M64
        return h
    return hash(key) & _M64


def cross_fingerprints(parts: np.ndarray, members: np.ndarray) -> np.ndarray:
    """`fingerprint` of each cross whose parts' fingerprints are ``parts[members[i]]``
    (``members[i, 2] == -1``: a cross of two).

    >>> a, b = ("C1", "x"), ("C2", "y")
    >>> fps = np.array([fingerprint(a), fingerprint(b)], np.uint64)
    >>> int(cross_fingerprints(fps, np.array([[0, 1, -1]]))[0]) == fingerprint((a, b))
    True
    """
    mul = np.uint64(_FP_MUL)
    with np.errstate(over="ignore"):
        h = parts[members[:, 0]] * mul
        h = (h ^ parts[members[:, 1]]) * mul
        three = (h ^ parts[members[:, 2]]) * mul
    return np.where(members[:, 2] >= 0, three, h)


class Naming:
    """How the keys of a model's format hash and read (``fmt``, hash mode, hash bits).

    >>> Naming("vw", "strings", 18).text(("", "a=b"))
    '=a=b'
    >>> Naming("vw", "strings", 18).parse("u=price:cheap")
    ('u', 'price', 'cheap')
    """

    def __init__(self, fmt: str, hash_mode: str, hash_bits: int,
                 numeric_columns: Sequence[str] = ()) -> None:
        self.fmt = fmt
        self.mode = hash_mode
        self.mask = (1 << hash_bits) - 1
        self.numeric = frozenset(numeric_columns)
        self._seeds: dict[str, int] = {}
        self._hashes: dict[Key, int] = {}  # of plain features, for the crosses they are in

    def seed(self, ns: str) -> int:
        """The hash seed of namespace / column ``ns``."""
        seed = self._seeds.get(ns)
        if seed is None:
            seed = self._seeds[ns] = hash_name(ns, 0, self.mode)
        return seed

    def full_hash(self, key: Key) -> int:
        """The 32-bit hash of ``key`` before the coordinate mask (a cross: Vowpal Wabbit's
        FNV combination of its parts, as ``readers._cross_kernel``)."""
        if is_cross(key):
            h = self._part_hash(key[0])
            for part in key[1:]:
                h = ((h * _FNV) & _M32) ^ self._part_hash(part)
            return h
        ns, name = key[0], key[1]
        if ns is None:  # libsvm: the index itself
            return int(name)
        seed = self.seed(ns)
        if name is None:
            return hash_name(b"", seed, self.mode)
        if len(key) == 3:
            return hash_name(key[2], hash_name(name, seed, self.mode), self.mode)
        return hash_name(name, seed, self.mode)

    def _part_hash(self, key: Key) -> int:
        h = self._hashes.get(key)
        if h is None:
            if len(self._hashes) >= _PART_CACHE:
                self._hashes.clear()
            h = self._hashes[key] = self.full_hash(key)
        return h

    def cross_coordinates(self, keys: Sequence[Key], members: np.ndarray) -> np.ndarray:
        """The coordinates of the crosses of ``keys[members[i]]`` (``members[i, 2] == -1``:
        a cross of two), computed in bulk as the cross kernel does."""
        h = np.array([self._part_hash(k) for k in keys], np.uint64)
        fnv, m32 = np.uint64(_FNV), np.uint64(_M32)
        two = ((h[members[:, 0]] * fnv) & m32) ^ h[members[:, 1]]
        three = ((two * fnv) & m32) ^ h[members[:, 2]]
        return (np.where(members[:, 2] >= 0, three, two) & np.uint64(self.mask)).astype(np.int64)

    def coordinate(self, key: Key) -> int:
        """The kernel coordinate of ``key``."""
        return self.full_hash(key) & self.mask

    def text(self, key: Key) -> str:
        """The name shown (and accepted by `parse`) for ``key``."""
        if is_cross(key):
            return "^".join(self.text(k) for k in key)
        ns, name = key[0], key[1]
        if ns is None:
            return str(name)
        if name is None:
            return ns
        body = name if len(key) == 2 else f"{name}:{key[2]}"
        if self.fmt == "vw" and ns == "":
            return f"={body}" if "=" in body else body
        return f"{ns}={body}"

    def parse(self, text: str) -> Key:
        """The key of a name as `text` writes it; crosses are parts joined by ``^``."""
        parts = text.split("^") if self.fmt != "libsvm" else [text]
        if len(parts) > 3:
            raise FtrlError(f"feature '{text}': a cross has two or three parts")
        keys = tuple(self._parse_one(p, text) for p in parts)
        return keys if len(keys) > 1 else keys[0]

    def _parse_one(self, part: str, whole: str) -> Key:
        if self.fmt == "libsvm":
            try:
                index = int(part.strip())
            except ValueError:
                raise FtrlError(f"feature '{whole}': a libsvm feature is its index (a "
                                "non-negative integer)") from None
            if index < 0:
                raise FtrlError(f"feature '{whole}': a libsvm index is non-negative")
            return (None, str(index))
        if self.fmt == "vw":
            ns, body = part.split("=", 1) if "=" in part else ("", part)
            if ":" in body:
                name, word = body.split(":", 1)
                return (ns, self._norm(name), self._norm(word))
            return (ns, self._norm(body))
        if part in self.numeric:
            return (part, None)
        if "=" not in part:
            raise FtrlError(f"feature '{whole}': expected column=value (or a numeric column "
                            "of the model)")
        col, value = part.split("=", 1)
        return (col, self._norm(value))

    def _norm(self, name: str) -> str:
        return trim(name) if self.mode == "strings" else name


def _locked(method: Callable) -> Callable:
    """Run ``method`` holding the book's lock: the reading thread adds names while the
    training thread writes run checkpoints."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return run


class NameBook:
    """Per coordinate, the first feature key seen and how many distinct keys landed there;
    at most ``max_names`` distinct keys are ever kept (see the module docstring)."""

    def __init__(self, naming: Naming, max_names: int = DEFAULT_MAX_NAMES,
                 recording: bool = True) -> None:
        self.naming = naming
        self.max_names = max_names
        self.recording = recording
        self.first: dict[int, Key] = {}
        self.count: dict[int, int] = {}
        self.others: list[Key] = []  # distinct keys after a coordinate's first
        # the fingerprint of each distinct key: a fraction of the memory of the keys
        self._seen: set[int] = set()
        self.lock = threading.RLock()
        self.full = False

    def __len__(self) -> int:
        return len(self._seen)

    @_locked
    def add(self, keys: Iterable[Key]) -> None:
        """Take the keys of some records, in record order."""
        if not self.recording or self.full:
            return
        seen = self._seen
        for key in dict.fromkeys(keys):
            h = fingerprint(key)
            if h in seen:
                continue
            if len(seen) >= self.max_names:
                self.full = True
                return
            seen.add(h)
            self._place(key, self.naming.coordinate(key))

    def knows(self, key: Key) -> bool:
        """Whether ``key`` was taken already."""
        return fingerprint(key) in self._seen

    @_locked
    def add_fingerprints(self, fps: np.ndarray, coords: np.ndarray,
                         key_of: Callable[[int], Key]) -> None:
        """Take keys known by their distinct fingerprints ``fps`` (in record order) and
        coordinates; ``key_of(i)`` makes the ``i``-th key, asked only for the new ones."""
        if not self.recording or self.full:
            return
        seen = self._seen
        for i, (h, coord) in enumerate(zip(fps.tolist(), coords.tolist())):
            if h in seen:
                continue
            if len(seen) >= self.max_names:
                self.full = True
                return
            seen.add(h)
            self._place(key_of(i), coord)

    def _place(self, key: Key, coord: int) -> None:
        if coord in self.first:
            self.count[coord] += 1
            self.others.append(key)
        else:
            self.first[coord] = key
            self.count[coord] = 1

    def adopt(self, index: Iterable[int], names: Iterable[str | None],
              collisions: Iterable[int], others: Iterable[str] = ()) -> None:
        """Start from the names of a checkpoint (its ``index``, ``feature`` and
        ``feature_collisions`` columns) and the extra names it kept (a run checkpoint's)."""
        for coord, text, n in zip(index, names, collisions):
            if text is None:
                continue
            key = self.naming.parse(text)
            self.first[coord] = key
            self.count[coord] = max(int(n), 1)
            self._seen.add(fingerprint(key))
        for text in others:
            key = self.naming.parse(text)
            self.others.append(key)
            self._seen.add(fingerprint(key))

    @_locked
    def columns(self, rows: np.ndarray, n_features: int) -> dict[str, np.ndarray]:
        """The ``feature`` and ``feature_collisions`` values of checkpoint ``rows`` (kernel
        coordinates; ``n_features`` is the bias row)."""
        names = np.full(len(rows), None, dtype=object)
        counts = np.zeros(len(rows), np.int64)
        if self.first:
            coords = np.fromiter(self.first, np.int64, len(self.first))
            order = np.argsort(coords)
            coords = coords[order]
            keys = list(self.first.values())
            at = np.minimum(np.searchsorted(coords, rows), len(coords) - 1)
            hit = np.flatnonzero((coords[at] == rows) & (rows < n_features))
            for i in hit.tolist():
                c = int(coords[at[i]])
                names[i] = self.naming.text(keys[order[at[i]]])
                counts[i] = self.count[c]
        return {FEATURE: names, COLLISIONS: counts}

    @_locked
    def metadata(self) -> dict[str, Any]:
        """What the checkpoint says of the names (under ``META_KEY``)."""
        return {"recorded": len(self.first), "distinct": len(self._seen),
                "max_names": self.max_names, "full": self.full,
                "colliding_coordinates": sum(1 for n in self.count.values() if n > 1)}

    @_locked
    def resume_lists(self, touched: np.ndarray) -> dict[str, list]:
        """What a run checkpoint keeps beside the columns: the names of coordinates not
        touched yet (records read ahead of training named them), and the names after a
        coordinate's first, so that a resumed run records the names of one never stopped."""
        return {"pending": [[c, self.naming.text(k), self.count[c]]
                            for c, k in self.first.items() if not touched[c]],
                "others": [self.naming.text(k) for k in self.others]}

    @_locked
    def summary_line(self) -> str:
        """The training summary's line about the names."""
        line = (f"feature names = {len(self.first):,} coordinates named, "
                f"{len(self._seen):,} distinct names")
        if self.full:
            line += (f" (--max-names {self.max_names:,} reached: later names not recorded, "
                     "collision counts are lower bounds)")
        return line


def naming_of(spec: Any) -> Naming:
    """The Naming of a FeatureSpec's features."""
    return Naming(spec.format, spec.hash_mode, spec.hash_bits, spec.numeric_columns)


def names_book(ckpt: Any, spec: Any, max_names: int, recording: bool) -> NameBook | None:
    """The NameBook of a training run: ``ckpt``'s names (an ``--init-model`` or a run
    checkpoint, or None), recording more with ``recording``; None when there are none to
    keep."""
    naming = naming_of(spec)
    if ckpt is None:
        return NameBook(naming, max_names) if recording else None
    return load_book(ckpt, naming, max_names, recording)


def names_to_save(book: NameBook | None, model: Any, others: bool = False
                  ) -> tuple[dict, dict[str, np.ndarray] | None]:
    """The checkpoint metadata and columns of ``book`` for ``model``'s touched rows
    (``others``: also the names after a coordinate's first, for a run to resume)."""
    if book is None:
        return {}, None
    rows = np.flatnonzero(model.touched).astype(np.int64)
    with book.lock:  # one state of the book, while the reading thread may add names
        meta = book.metadata()
        columns = book.columns(rows, model.n_features)
        if others:
            meta.update(book.resume_lists(model.touched))
    return {META_KEY: meta}, columns


def load_book(ckpt: Any, naming: Naming, max_names: int, recording: bool) -> NameBook | None:
    """A NameBook holding ``ckpt``'s names (None when it has none and ``recording`` is off);
    a run checkpoint's extra names (``others``) come back too."""
    c = ckpt.columns
    if FEATURE not in c and not recording:
        return None
    book = NameBook(naming, max_names, recording)
    if FEATURE in c:
        kernel = ~c["is_bias"]
        saved = ckpt.meta.get(META_KEY) or {}
        pending = saved.get("pending", [])
        book.adopt([*c["index"][kernel].tolist(), *(p[0] for p in pending)],
                   [*c[FEATURE][kernel].tolist(), *(p[1] for p in pending)],
                   [*c.get(COLLISIONS, np.ones(len(kernel), np.int64))[kernel].tolist(),
                    *(p[2] for p in pending)], saved.get("others", []))
        if "pending" in saved:  # a run checkpoint: the run goes on as it stood
            book.full = bool(saved.get("full"))
    return book
