"""Progressive validation, printed like Vowpal Wabbit's table on a doubling schedule.

Each record is scored before the model learns from it, so the running loss is an honest
estimate of the loss on unseen data.  With a holdout (several passes), held-out records are
scored in their place and never learnt from; from pass 2 on the rows show their loss instead,
marked ``h``, as Vowpal Wabbit does.
"""

from __future__ import annotations

import sys
from typing import NamedTuple, TextIO

import numpy as np

from ftrl_cli.losses import LOGISTIC, Loss

HEADER = (
    "average    since         example  current  current  current\n"
    "loss       last          counter    label  predict features"
)


def record_losses(labels: np.ndarray, preds: np.ndarray, weights: np.ndarray,
                  loss: Loss = LOGISTIC) -> np.ndarray:
    """Importance-weighted loss of each record under the model's ``loss``.

    >>> record_losses(np.array([1.0]), np.array([0.5]), np.array([1.0])).round(6)
    array([0.693147])
    >>> from ftrl_cli.losses import SQUARED
    >>> record_losses(np.array([-1.0]), np.array([0.5]), np.array([2.0]), SQUARED)
    array([4.5])
    """
    return loss.record_losses(labels, preds, weights)


class HeldOut(NamedTuple):
    """Held-out records scored among a batch's trained ones: held-out record i came after
    ``at[i]`` of them."""

    at: np.ndarray
    labels: np.ndarray
    preds: np.ndarray
    weights: np.ndarray


class _HeldSums:
    """A batch's held-out losses and weights, counted in order up to a trained record."""

    def __init__(self, held: HeldOut, loss: Loss = LOGISTIC) -> None:
        self.at = held.at
        self.cum = np.zeros((len(held.at) + 1, 2))
        np.cumsum(record_losses(held.labels, held.preds, held.weights, loss),
                  out=self.cum[1:, 0])
        np.cumsum(held.weights, out=self.cum[1:, 1])
        self.done = 0

    def take(self, upto: int | None) -> np.ndarray:
        """(loss, weight) of the records not yet taken that precede trained record ``upto``
        (all of them: None)."""
        k = len(self.at) if upto is None else int(np.searchsorted(self.at, upto, side="right"))
        add = self.cum[k] - self.cum[self.done]
        self.done = k  # rows come in order: k never goes back
        return add


class Progress:
    """Accumulates losses and prints a row each time the example count doubles."""

    def __init__(self, stream: TextIO | None = sys.stderr, start: int = 1,
                 loss: Loss = LOGISTIC, record: bool = False) -> None:
        """``record``: keep the rows' points (see ``loss_points``) even without a stream."""
        self.stream = stream
        self.record = record
        # (examples, average loss, loss since the previous row, holdout loss or NaN) of each
        # row: one per doubling, so a few dozen over any run
        self.points: list[tuple[int, float, float, float]] = []
        self.loss = loss
        self.loss_sum = 0.0
        self.weight_sum = 0.0
        self.since_loss = 0.0
        self.since_weight = 0.0
        self.examples = 0
        self.next_print = start
        self.printed_header = False
        # held-out records: over the run, since the last row, and in this pass
        self.holdout = np.zeros(2)
        self.holdout_since = np.zeros(2)
        self.holdout_pass = np.zeros(2)
        self.holdout_rows = False  # rows show the holdout loss (pass 2 on)

    # what a resumed run takes over (the header is printed again by the new process)
    _COUNTERS = ("loss_sum", "weight_sum", "since_loss", "since_weight", "examples",
                 "next_print", "holdout", "holdout_since", "holdout_pass")

    def counters(self) -> dict:
        """The sums and counts so far, for a resumable checkpoint (exact: JSON keeps every
        digit of a float).

        >>> p = Progress(None); p.update(np.ones(1), np.array([0.5]), np.ones(1), [1])
        >>> q = Progress(None); q.restore(p.counters()); q.examples, bool(q.loss_sum == p.loss_sum)
        (1, True)
        """
        return {k: (v.tolist() if isinstance(v := getattr(self, k), np.ndarray) else v)
                for k in self._COUNTERS}

    def restore(self, counters: dict) -> None:
        """Take over the `counters` of an interrupted run (which may have printed no rows:
        the next one is then at the next doubling point past its examples)."""
        for k in self._COUNTERS:
            old = getattr(self, k)
            setattr(self, k, np.array(counters[k]) if isinstance(old, np.ndarray)
                    else type(old)(counters[k]))
        while self.next_print <= self.examples:
            self.next_print *= 2

    def update(self, labels, preds, weights, nnz_per_row, held: HeldOut | None = None) -> None:
        """Account for a batch, printing rows for every doubling point inside it.

        ``held``: held-out records scored among these; each counts in the rows after it.
        """
        n = len(preds)
        held_sums = _HeldSums(held, self.loss) if held is not None else None
        if n == 0:
            self._add_held(held_sums, None)
            return
        losses = record_losses(labels, preds, weights, self.loss)
        cum_loss = np.cumsum(losses)
        cum_w = np.cumsum(weights)
        done_loss = done_w = 0.0
        while ((self.stream is not None or self.record)
               and self.next_print <= self.examples + n):
            i = self.next_print - self.examples - 1
            self.since_loss += cum_loss[i] - done_loss
            self.since_weight += cum_w[i] - done_w
            self.loss_sum += cum_loss[i] - done_loss
            self.weight_sum += cum_w[i] - done_w
            done_loss, done_w = cum_loss[i], cum_w[i]
            self._add_held(held_sums, i)
            self._row(self.next_print, labels[i], preds[i], int(nnz_per_row[i]))
            self.next_print *= 2
        rest_loss, rest_w = cum_loss[-1] - done_loss, cum_w[-1] - done_w
        self.loss_sum += rest_loss
        self.weight_sum += rest_w
        self.since_loss += rest_loss
        self.since_weight += rest_w
        self._add_held(held_sums, None)
        self.examples += n

    def _add_held(self, held: _HeldSums | None, upto: int | None) -> None:
        """Count the held-out records scored before trained record ``upto``'s row (all: None)."""
        if held is not None:
            add = held.take(upto)
            self.holdout += add
            self.holdout_since += add
            self.holdout_pass += add

    def pass_holdout_loss(self) -> float | None:
        """The mean loss of the held-out records of the pass just ended (None if none had
        weight), and a fresh start for the next pass."""
        loss, weight = self.holdout_pass
        self.holdout_pass = np.zeros(2)
        return loss / weight if weight > 0 else None

    @property
    def average_loss(self) -> float:
        return self.loss_sum / self.weight_sum if self.weight_sum else float("nan")

    def _row(self, counter: int, label: float, pred: float, features: int) -> None:
        self.points.append(self._point(counter))
        if self.stream is not None:
            self._print_row(counter, label, pred, features)
        if self.holdout_rows:
            self.holdout_since = np.zeros(2)
        self.since_loss = 0.0
        self.since_weight = 0.0

    def _print_row(self, counter: int, label: float, pred: float, features: int) -> None:
        if not self.printed_header:
            print(HEADER, file=self.stream)
            self.printed_header = True
        if self.holdout_rows:
            avg, since = _mean(*self.holdout, "unknown"), _mean(*self.holdout_since, "unknown")
            mark = " h"
        else:
            avg = _mean(self.loss_sum, self.weight_sum, "nan")
            since, mark = _mean(self.since_loss, self.since_weight, "nan"), ""
        print(f"{avg:<10} {since:<10} {counter:>12d} {label:>8.4f} {pred:>8.4f} "
              f"{features:>8d}{mark}", file=self.stream)

    def _point(self, counter: int) -> tuple[int, float, float, float]:
        nan = float("nan")
        held = self.holdout[0] / self.holdout[1] if self.holdout_rows and self.holdout[1] else nan
        return (counter, float(self.loss_sum / self.weight_sum if self.weight_sum else nan),
                float(self.since_loss / self.since_weight if self.since_weight else nan),
                float(held))

    def loss_points(self) -> list[tuple[int, float, float, float]]:
        """The rows' (examples, average loss, loss since the previous row, holdout loss or
        NaN), and the same at the end of the run when that is not a row.

        >>> p = Progress(None, record=True)
        >>> p.update(np.array([1.0, 0.0, 1.0]), np.array([0.5] * 3), np.ones(3), np.ones(3))
        >>> [(n, round(avg, 4)) for n, avg, _, _ in p.loss_points()]
        [(1, 0.6931), (2, 0.6931), (3, 0.6931)]
        """
        if self.points and self.points[-1][0] == self.examples or not self.examples:
            return list(self.points)
        return [*self.points, self._point(self.examples)]

    def summary(self, passes: int, iterations: int, seconds: float,
                holdout_lines: list[str] | None = None) -> None:
        """The closing lines; ``holdout_lines``, when a holdout chose the model, stand in for
        the progressive average loss."""
        if self.stream is None:
            return
        rate = self.examples / seconds if seconds > 0 else float("inf")
        loss = (holdout_lines if holdout_lines is not None
                else [f"average loss = {self.average_loss:.6f}"])
        print(f"\nfinished run\nnumber of examples = {self.examples}\n"
              f"passes = {passes}\noptimizer iterations = {iterations}\n"
              + "".join(line + "\n" for line in loss)
              + f"seconds = {seconds:.2f} ({rate:,.0f} examples/s)", file=self.stream)


def _mean(loss: float, weight: float, none: str) -> str:
    return f"{loss / weight:.6f}" if weight else none
