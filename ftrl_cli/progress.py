"""Progressive validation, printed like Vowpal Wabbit's table on a doubling schedule.

Each record is scored before the model learns from it, so the running loss is an honest
estimate of the loss on unseen data.
"""

from __future__ import annotations

import sys
from typing import TextIO

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


class Progress:
    """Accumulates losses and prints a row each time the example count doubles."""

    def __init__(self, stream: TextIO | None = sys.stderr, start: int = 1,
                 loss: Loss = LOGISTIC) -> None:
        self.stream = stream
        self.loss = loss
        self.loss_sum = 0.0
        self.weight_sum = 0.0
        self.since_loss = 0.0
        self.since_weight = 0.0
        self.examples = 0
        self.next_print = start
        self.printed_header = False

    def update(self, labels, preds, weights, nnz_per_row) -> None:
        """Account for a batch, printing rows for every doubling point inside it."""
        n = len(preds)
        if n == 0:
            return
        losses = record_losses(labels, preds, weights, self.loss)
        cum_loss = np.cumsum(losses)
        cum_w = np.cumsum(weights)
        done_loss = done_w = 0.0
        while self.stream is not None and self.next_print <= self.examples + n:
            i = self.next_print - self.examples - 1
            self.since_loss += cum_loss[i] - done_loss
            self.since_weight += cum_w[i] - done_w
            self.loss_sum += cum_loss[i] - done_loss
            self.weight_sum += cum_w[i] - done_w
            done_loss, done_w = cum_loss[i], cum_w[i]
            self._row(self.next_print, labels[i], preds[i], int(nnz_per_row[i]))
            self.next_print *= 2
        rest_loss, rest_w = cum_loss[-1] - done_loss, cum_w[-1] - done_w
        self.loss_sum += rest_loss
        self.weight_sum += rest_w
        self.since_loss += rest_loss
        self.since_weight += rest_w
        self.examples += n

    @property
    def average_loss(self) -> float:
        return self.loss_sum / self.weight_sum if self.weight_sum else float("nan")

    def _row(self, counter: int, label: float, pred: float, features: int) -> None:
        if not self.printed_header:
            print(HEADER, file=self.stream)
            self.printed_header = True
        since = self.since_loss / self.since_weight if self.since_weight else float("nan")
        avg = self.loss_sum / self.weight_sum if self.weight_sum else float("nan")
        print(f"{avg:<10.6f} {since:<10.6f} {counter:>12d} {label:>8.4f} {pred:>8.4f} "
              f"{features:>8d}", file=self.stream)
        self.since_loss = 0.0
        self.since_weight = 0.0

    def summary(self, passes: int, iterations: int, seconds: float) -> None:
        if self.stream is None:
            return
        rate = self.examples / seconds if seconds > 0 else float("inf")
        print(f"\nfinished run\nnumber of examples = {self.examples}\n"
              f"passes = {passes}\noptimizer iterations = {iterations}\n"
              f"average loss = {self.average_loss:.6f}\n"
              f"seconds = {seconds:.2f} ({rate:,.0f} examples/s)", file=self.stream)
