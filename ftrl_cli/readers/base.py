"""What every reader produces: CSR batches of hashed features plus per-record arrays."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

    from ftrl_cli.readers.rejects import Reject


@dataclass(frozen=True)
class FeatureSpec:
    """How records become hashed features; stored in checkpoints and compared on warm start.

    ``format`` is one of ``vw``, ``libsvm``, ``csv``, ``tsv``, ``criteo``, ``parquet``;
    ``hash_mode`` is ``strings`` or ``all`` (see ``ftrl_cli.hashing``).  A spec without a
    mode, as checkpoints written before it was recorded are, means ``all``; ``ftrl train``
    makes new models with ``strings``.

    >>> FeatureSpec(format="vw", hash_bits=18).n_features
    262144
    """

    format: str
    hash_bits: int = 22
    # delimited formats only (the roles of columns apply to parquet too)
    header: bool = True
    columns: tuple[str, ...] | None = None
    label_column: str = "label"
    ignore_columns: tuple[str, ...] = ()
    numeric_columns: tuple[str, ...] = ()
    hash_mode: str = "all"
    # labels read as numbers (a squared-loss model's), not as classes; the checkpoint
    # records the loss, so this is not stored with the features
    numeric_labels: bool = False
    # feature crosses: ``--interactions`` groups, or Vowpal Wabbit's -q/--cubic letters
    # (see ``ftrl_cli.readers.crosses_spec``)
    interactions: tuple[str, ...] = ()
    vw_interactions: tuple[str, ...] = ()

    @property
    def n_features(self) -> int:
        return 1 << self.hash_bits

    def hashing_config(self) -> dict:
        """The part of the spec that decides which coordinate a feature lands on."""
        return {
            "hash": "murmurhash3_x86_32",
            "hash_bits": self.hash_bits,
            "hash_mode": self.hash_mode,
            "label_column": self.label_column,
            "ignore_columns": sorted(self.ignore_columns),
            "numeric_columns": sorted(self.numeric_columns),
            "interactions": list(self.interactions),
            "vw_interactions": list(self.vw_interactions),
        }

    def to_dict(self) -> dict:
        d = asdict(self)
        del d["numeric_labels"]
        d["columns"] = list(self.columns) if self.columns is not None else None
        d["ignore_columns"] = list(self.ignore_columns)
        d["numeric_columns"] = list(self.numeric_columns)
        d["interactions"] = list(self.interactions)
        d["vw_interactions"] = list(self.vw_interactions)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        d = dict(d)
        if d.get("columns") is not None:
            d["columns"] = tuple(d["columns"])
        d["ignore_columns"] = tuple(d.get("ignore_columns", ()))
        d["numeric_columns"] = tuple(d.get("numeric_columns", ()))
        d["interactions"] = tuple(d.get("interactions", ()))
        d["vw_interactions"] = tuple(d.get("vw_interactions", ()))
        return cls(**d)


class ReadPosition(NamedTuple):
    """Where reading stands: ``offset`` bytes into input number ``input`` (of the decompressed
    stream; a header included), where line number ``line`` starts.

    >>> ReadPosition(1, 4096, 120).line
    120
    """

    input: int
    offset: int
    line: int


@dataclass
class Batch:
    """Consecutive records of one source.

    ``X`` is the ``(n, 2**hash_bits)`` CSR matrix of the batch (scipy.sparse, float64 values,
    duplicates allowed: they add up). It is built on first use from ``indptr``, ``indices``
    and ``data``, without a copy: the commands hand those arrays to the kernels and so never
    import scipy. ``labels`` are 0.0/1.0 (the numbers as written with
    ``FeatureSpec.numeric_labels``), NaN where a record carries no label; ``weights``
    are importance weights (1.0 by default); ``tags`` is ``None`` when no record of the batch
    has a tag; ``lines`` holds each record's 1-based line number in ``source``; ``scores`` is
    what the reader's ``score`` function returned for the batch (see ``read_batches``), if it
    had one. ``end`` is where the record after the batch's last one starts (a
    ``ReadPosition``; None when not known). ``base`` holds each record's base margin (Vowpal
    Wabbit's "initial prediction", ``label importance base``): it is added to the record's
    margin before the sigmoid, in training and in scoring; ``None`` when no record of the
    batch has one. ``skipped`` (with ``--on-error skip``) lists the malformed records cut
    out of the stream since the previous Batch, each with the number of this Batch's records
    before it; a Batch may then have no records and only skipped ones. ``key`` is the
    Parquet key column asked for (``predict --key-column``), a pyarrow Array, or ``None``.

    >>> b = Batch(np.array([0, 1, 1]), np.array([3], np.int32), np.array([2.0]), 4,
    ...           np.zeros(2), np.ones(2), np.arange(1, 3), "x")
    >>> len(b), b.X.toarray().tolist()
    (2, [[0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_features: int
    labels: np.ndarray
    weights: np.ndarray
    lines: np.ndarray
    source: str
    tags: list[str | None] | None = field(default=None)
    scores: np.ndarray | None = field(default=None)
    base: np.ndarray | None = field(default=None)
    end: ReadPosition | None = field(default=None)
    skipped: list[tuple[int, Reject]] | None = field(default=None)
    key: Any = field(default=None)
    _X: sp.csr_matrix | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def X(self) -> sp.csr_matrix:
        if self._X is None:
            import scipy.sparse as sp

            # the index dtypes are those scipy would pick, so this neither copies nor checks
            self._X = sp.csr_matrix((self.data, self.indices, self.indptr),
                                    shape=(len(self), self.n_features))
        return self._X

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def select(self, rows: np.ndarray) -> Batch:
        """The records at positions ``rows`` (in that order), every per-record field with them;
        what belongs to the batch as a whole (its source, ``end``, ``skipped``) is kept.

        >>> b = Batch(np.array([0, 1, 3]), np.array([3, 0, 1], np.int32), np.arange(3.0), 4,
        ...           np.array([1.0, 0.0]), np.ones(2), np.arange(1, 3), "x", ["a", None])
        >>> s = b.select(np.array([1]))
        >>> s.X.toarray().tolist(), s.labels.tolist(), s.lines.tolist(), s.tags
        ([[1.0, 2.0, 0.0, 0.0]], [0.0], [2], [None])
        """
        from ftrl_cli.kernels.rows import select_rows

        rows = np.asarray(rows, dtype=np.int64)
        indptr, indices, data = select_rows(self.indptr, self.indices, self.data, rows)
        return replace(
            self, indptr=indptr, indices=indices, data=data, labels=self.labels[rows],
            weights=self.weights[rows], lines=self.lines[rows],
            tags=None if self.tags is None else [self.tags[i] for i in rows],
            scores=None if self.scores is None else self.scores[rows],
            base=None if self.base is None else self.base[rows],
            key=None if self.key is None else self.key.take(rows))


def scored(batches: Iterator[Batch],
           score: Callable[[Batch], np.ndarray] | None) -> Iterator[Batch]:
    """``batches`` with ``Batch.scores`` filled in by ``score`` (unchanged if None)."""
    for batch in batches:
        if score is not None:
            batch.scores = score(batch)
        yield batch
