"""Holding records out of training over several passes, as Vowpal Wabbit does.

Records are numbered from 1 in each pass, counted over the inputs read one after another.
By default every ``period``-th record (10, 20, ... with the default 10) is held out; with
``after`` every record past the ``after``-th is.  The same records are held out in every
pass, so they are never learnt from; each is scored in its place, with the weights the next
trained record sees, and its loss is the pass's holdout loss.  One pass has no holdout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ftrl_cli.errors import FtrlError, NonFiniteError
from ftrl_cli.kernels.predict import base_margins
from ftrl_cli.model import Model
from ftrl_cli.progress import HeldOut, Progress
from ftrl_cli.readers.base import Batch

Split = Callable[[Batch], "tuple[Batch, Batch | None]"]


@dataclass(frozen=True)
class Holdout:
    """Which records of a pass are held out: every ``period``-th, or (``after`` > 0) every
    one past the ``after``-th; and after how many passes without a better holdout loss
    training stops.

    >>> Holdout(period=3).held_out(0, 7).nonzero()[0] + 1  # positions in the pass
    array([3, 6])
    >>> Holdout(after=5).held_out(4, 3).tolist()  # records 5, 6 and 7
    [False, True, True]
    """

    period: int = 10
    after: int = 0
    early_terminate: int = 3

    def held_out(self, seen: int, n: int) -> np.ndarray:
        """Mask of the ``n`` records that follow the pass's first ``seen``."""
        position = np.arange(seen + 1, seen + n + 1)
        return position > self.after if self.after else position % self.period == 0

    def held_before(self, seen: int) -> int:
        """How many of the pass's first ``seen`` records are held out.

        >>> Holdout(period=3).held_before(7), Holdout(after=5).held_before(7)
        (2, 2)
        """
        return max(seen - self.after, 0) if self.after else seen // self.period

    def splitter(self, seen: int = 0) -> Split:
        """A function that cuts each batch of a pass, in order, into the records to train on
        and those held out (None when there are none); ``seen``: records of the pass before
        the first batch (a resumed pass)."""

        def split(batch: Batch) -> tuple[Batch, Batch | None]:
            nonlocal seen
            held = self.held_out(seen, len(batch))
            seen += len(batch)
            if not held.any():
                return batch, None
            return batch.select(np.flatnonzero(~held)), batch.select(np.flatnonzero(held))

        return split


def no_holdout(batch: Batch) -> tuple[Batch, None]:
    """The `Split` of a run without holdout: every record is trained on."""
    return batch, None


def holdout_from_options(passes: int, *, period: int | None = None, after: int | None = None,
                         off: bool = False, early_terminate: int | None = None
                         ) -> Holdout | None:
    """The holdout of ``ftrl train``'s options (None: train on every record), or a one-line
    error for options that contradict each other.

    ``None`` for an option means not given.  One pass has no holdout, as in Vowpal Wabbit; but
    ``--holdout-after`` is refused there, since Vowpal Wabbit would hold records out.

    >>> holdout_from_options(3)
    Holdout(period=10, after=0, early_terminate=3)
    >>> holdout_from_options(1, period=5) is None
    True
    """
    if off:
        given = [name for name, value in (("--holdout-period", period),
                                          ("--holdout-after", after),
                                          ("--early-terminate", early_terminate))
                 if value is not None]
        if given:
            raise FtrlError(f"--holdout-off trains on every record; it cannot go with "
                            f"{given[0]}")
        return None
    if period is not None and after is not None:
        raise FtrlError("--holdout-after holds out the records past a count, "
                        "--holdout-period every n-th record: give only one")
    if passes == 1:
        if after is not None:
            raise FtrlError("--holdout-after needs --passes > 1 (one pass trains on every "
                            "record)")
        return None
    return Holdout(period=period or 10, after=after or 0, early_terminate=early_terminate or 3)


def learn(model: Model, train: Batch, held: Batch | None, batch_size: int,
          progress: Progress) -> None:
    """Train on ``train``'s records in order; score ``held``'s in their places among them.

    ``held``'s records are placed by line number (a batch is consecutive lines of one file),
    so ``train`` may be any subset of the other records.  A :class:`NonFiniteError`'s row is
    ``train``'s.
    """
    if held is None:
        preds = model.train_csr(train.indptr, train.indices, train.data, train.labels,
                                train.weights, batch_size, train.base)
        progress.update(train.labels, preds, train.weights, np.diff(train.indptr))
        return
    at = np.searchsorted(train.lines, held.lines)
    preds = np.empty(len(train))
    margins = np.empty(len(held))
    base = base_margins(held.base, len(held))
    # held-out records in runs that sit between the same two trained records
    cuts = (np.flatnonzero(np.diff(at)) + 1).tolist()
    done = 0
    for lo, hi in zip([0, *cuts], [*cuts, len(held)]):
        upto = int(at[lo])
        preds[done:upto] = _train_rows(model, train, done, upto, batch_size)
        model.margins_into(held.indptr[lo:hi + 1], held.indices, held.data,
                           base[lo:hi] if len(base) else base, margins[lo:hi])
        done = upto
    preds[done:] = _train_rows(model, train, done, len(train), batch_size)
    progress.update(train.labels, preds, train.weights, np.diff(train.indptr),
                    HeldOut(at, held.labels, model.predictions(margins), held.weights))


def _train_rows(model: Model, b: Batch, lo: int, hi: int, batch_size: int) -> np.ndarray:
    """Train on records ``lo:hi`` of ``b`` (a view: the CSR arrays are not copied)."""
    if hi <= lo:
        return np.empty(0)
    try:
        return model.train_csr(b.indptr[lo:hi + 1], b.indices, b.data, b.labels[lo:hi],
                               b.weights[lo:hi], batch_size,
                               None if b.base is None else b.base[lo:hi])
    except NonFiniteError as e:
        raise NonFiniteError(lo + e.row, e.message) from None
