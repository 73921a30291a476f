"""Negative down-sampling: which training records are kept, what the model records of it,
and the recalibration that makes a sampled model's scores estimates for unsampled traffic.

A model trained on negatives kept at rate ``r`` (sampled here, upstream, or both: the rates
multiply) over-predicts clicks: its odds are the true odds divided by ``r``.  The checkpoint
records ``r`` (metadata key ``sampling``), and scoring multiplies the odds back by ``r``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ftrl_cli.errors import FtrlError
from ftrl_cli.kernels.sampling import keep_records, recalibrate
from ftrl_cli.readers.base import Batch

META_KEY = "sampling"


def check_rate(option: str, rate: float | None) -> None:
    """A one-line error unless ``rate`` is None or in (0, 1].

    >>> check_rate("--negative-sampling", 0.25)
    >>> check_rate("--negative-sampling", 0)
    Traceback (most recent call last):
    ftrl_cli.errors.FtrlError: --negative-sampling: expected a rate in (0, 1], got 0
    """
    if rate is not None and not 0.0 < rate <= 1.0:  # NaN fails too
        raise FtrlError(f"{option}: expected a rate in (0, 1], got {rate:g}")


@dataclass(frozen=True)
class Sampling:
    """``--negative-sampling`` (``rate``, drawn with ``seed``) and ``--input-negative-rate``
    (``upstream``); None where not given.

    >>> Sampling(rate=0.5, upstream=0.2).negative_rate
    0.1
    """

    rate: float | None = None
    upstream: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_rate("--negative-sampling", self.rate)
        check_rate("--input-negative-rate", self.upstream)

    @property
    def negative_rate(self) -> float:
        """The rate at which the trained-on negatives were kept, all sampling together."""
        return (self.rate or 1.0) * (self.upstream or 1.0)

    def metadata(self) -> dict:
        """What the checkpoint records (nothing when neither option was given).

        >>> Sampling(rate=0.5, seed=3).metadata()
        {'sampling': {'negative_rate': 0.5, 'sampled_rate': 0.5, 'upstream_rate': 1.0, 'seed': 3}}
        """
        if self.rate is None and self.upstream is None:
            return {}
        return {META_KEY: {"negative_rate": self.negative_rate,
                           "sampled_rate": self.rate or 1.0,
                           "upstream_rate": self.upstream or 1.0,
                           "seed": self.seed if self.rate is not None else None}}

    def check_loss(self, loss: str) -> None:
        """Recalibration undoes sampling for the logistic loss only: refuse the others.

        >>> Sampling(rate=0.5).check_loss("squared")
        Traceback (most recent call last):
        ftrl_cli.errors.FtrlError: negative sampling needs the logistic loss
        """
        if self.metadata() and loss != "logistic":
            raise FtrlError("negative sampling needs the logistic loss")

    def check_warm_start(self, meta: dict, path: str) -> None:
        """Refuse to continue a model trained on negatives kept at another rate: the two
        parts of its training data would not describe one click rate."""
        theirs = negative_rate(meta)
        if not math.isclose(theirs, self.negative_rate, rel_tol=1e-9):
            raise FtrlError(
                f"{path}: the model was trained on negatives kept at rate {theirs:g}, this run "
                f"keeps them at {self.negative_rate:g} (give --negative-sampling and/or "
                "--input-negative-rate whose product is the model's rate)")


class NegativeSampler:
    """Drops each negative record of a pass with probability ``1 - rate``, counting them.

    A record's fate depends on the seed, the pass and its position in the pass only (see
    ``kernels.sampling``): not on batch sizes, parse threads or block sizes.
    """

    def __init__(self, rate: float, seed: int = 0) -> None:
        self.rate = rate
        self.seed = seed
        self.dropped = 0

    def sampler(self, pass_index: int = 0, position: int = 0) -> Callable[[Batch], Batch]:
        """A function that takes the dropped records out of each batch of pass
        ``pass_index``, the batches given in input order (it counts their positions from
        ``position``: records of the pass before the first batch, in a resumed pass).

        >>> b = Batch(np.arange(5), np.arange(4, dtype=np.int32), np.ones(4), 8,
        ...           np.array([1.0, 0.0, 1.0, 0.0]), np.ones(4), np.arange(1, 5), "x")
        >>> sampler = NegativeSampler(1e-9)
        >>> sampler.sampler()(b).lines.tolist(), sampler.dropped
        ([1, 3], 2)
        """

        def sample(batch: Batch) -> Batch:
            nonlocal position
            keep = keep_records(batch.labels, self.rate, self.seed, pass_index, position)
            position += len(batch)
            rows = np.flatnonzero(keep)
            self.dropped += len(batch) - len(rows)
            return batch if len(rows) == len(batch) else batch.select(rows)

        return sample

    def select(self, batches: Iterator[Batch], pass_index: int = 0) -> Iterator[Batch]:
        """``batches`` with the dropped records taken out (and batches left empty skipped).

        >>> b = Batch(np.arange(5), np.arange(4, dtype=np.int32), np.ones(4), 8,
        ...           np.array([1.0, 0.0, 1.0, 0.0]), np.ones(4), np.arange(1, 5), "x")
        >>> sampler = NegativeSampler(1e-9)
        >>> [kept.lines.tolist() for kept in sampler.select(iter([b]))], sampler.dropped
        ([[1, 3]], 2)
        """
        sample = self.sampler(pass_index)
        for batch in batches:
            kept = sample(batch)
            if len(kept):
                yield kept


def negative_rate(meta: dict) -> float:
    """The negative rate a checkpoint's metadata records (1.0: not sampled).

    >>> negative_rate({}), negative_rate({"sampling": {"negative_rate": 0.1}})
    (1.0, 0.1)
    """
    return float((meta.get(META_KEY) or {}).get("negative_rate", 1.0))


def recalibrated(rate: float, margins: bool):
    """A function that recalibrates a batch's scores for ``rate``, or None when there is
    nothing to undo (``rate`` 1), so that an unsampled model's scores are left untouched.

    >>> recalibrated(0.25, margins=False)(np.array([0.5]))
    array([0.2])
    """
    if rate == 1.0:
        return None
    return lambda scores: recalibrate(scores, rate, margins)
