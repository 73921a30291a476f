"""Stopping passes once the holdout loss stops improving, keeping the best pass's model.

As Vowpal Wabbit's ``--early_terminate``: a pass is better when its holdout loss is strictly
lower than every earlier pass's; after ``patience`` passes in a row without a better one,
training stops, and the model written is the one from the end of the best pass.
"""

from __future__ import annotations

from collections.abc import Callable

from ftrl_cli.errors import FtrlError
from ftrl_cli.holdout import Holdout
from ftrl_cli.model import Model
from ftrl_cli.model_snapshot import ModelSnapshot
from ftrl_cli.progress import Progress


def run_passes(model: Model, passes: int, holdout: Holdout | None, progress: Progress,
               one_pass: Callable[[], None], stopping: EarlyStopping | None = None,
               done: int = 0) -> tuple[int, list[str] | None]:
    """Run ``one_pass`` up to ``passes`` times; with a holdout, stop early and bring the model
    back to the best pass.  Returns the passes run and the summary's holdout lines (None
    without a holdout).

    A resumed run gives the ``stopping`` of the passes before and the ``done`` passes.
    """
    if holdout is None:
        for _ in range(done, passes):
            one_pass()
        return passes, None
    stopping = stopping or EarlyStopping(holdout.early_terminate)
    while done < passes:
        progress.holdout_rows = done > 0  # as Vowpal Wabbit: from pass 2 on
        one_pass()
        done += 1
        if stopping.end_pass(model, progress.pass_holdout_loss(), last=done == passes):
            break
    stopping.restore_best(model)
    return done, stopping.summary_lines()


class EarlyStopping:
    """Holdout loss per pass and a copy of the model after the best one.

    >>> from ftrl_cli.config import OptimizerConfig
    >>> m = Model(OptimizerConfig(learning_rate=0.5), hash_bits=4)
    >>> stop = EarlyStopping(patience=2)
    >>> [stop.end_pass(m, loss, last=False) for loss in (0.5, 0.4, 0.45, 0.4)]
    [False, False, False, True]
    >>> stop.best_pass, stop.summary_lines()[0]
    (2, 'holdout loss per pass = 0.500000 0.400000 0.450000 0.400000')
    """

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.losses: list[float] = []
        self.best_pass = 0
        self._best: ModelSnapshot | None = None

    def end_pass(self, model: Model, loss: float | None, last: bool) -> bool:
        """Record the holdout loss of the pass that just ended; whether to stop now.

        ``last``: no pass follows anyway, so a better pass needs no copy of the model.
        """
        if loss is None:
            raise FtrlError("no record was held out (or all held-out records have weight 0): "
                            "the input is too short for --holdout-period/--holdout-after")
        self.losses.append(loss)
        if self.best_pass == 0 or loss < self.losses[self.best_pass - 1]:
            self.best_pass = len(self.losses)
            self._best = None if last else ModelSnapshot.capture(model)
            return False
        return len(self.losses) - self.best_pass >= self.patience

    @property
    def best(self) -> ModelSnapshot | None:
        """The copy of the model after the best pass (None while that is the last pass)."""
        return self._best

    def to_dict(self) -> dict:
        """The losses and the best pass, for a resumable checkpoint (with `best` beside)."""
        return {"losses": self.losses, "best_pass": self.best_pass}

    @classmethod
    def from_dict(cls, patience: int, d: dict, best: ModelSnapshot | None) -> EarlyStopping:
        """The early stopping of an interrupted run (`to_dict`, and its `best`).

        >>> EarlyStopping.from_dict(3, {"losses": [0.5], "best_pass": 1}, None).best_pass
        1
        """
        stopping = cls(patience)
        stopping.losses = [float(x) for x in d["losses"]]
        stopping.best_pass = int(d["best_pass"])
        stopping._best = best
        return stopping

    def restore_best(self, model: Model) -> None:
        """Bring ``model`` back to the end of the best pass, if later passes changed it."""
        if self.best_pass != len(self.losses):
            self._best.restore(model)
        self._best = None

    def summary_lines(self) -> list[str]:
        """The summary's holdout lines: losses per pass, the pass written, its loss (``h``)."""
        why = ""
        if len(self.losses) - self.best_pass >= self.patience:
            why = f"; stopped after {self.patience} passes without a better holdout loss"
        return [f"holdout loss per pass = {' '.join(f'{x:.6f}' for x in self.losses)}",
                f"best pass = {self.best_pass} (the model written{why})",
                f"average loss = {self.losses[self.best_pass - 1]:.6f} h"]
