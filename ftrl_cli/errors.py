"""Errors a user can cause; the CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class FtrlError(Exception):
    """A problem with the user's input, options or files (never a bug in ftrl)."""

    exit_code = 2


class InputError(FtrlError):
    """A malformed record: ``str(err)`` is ``"file:line: what is wrong"``.

    >>> str(InputError("train.vw", 7, "bad label 'x'"))
    "train.vw:7: bad label 'x'"
    """

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        super().__init__(f"{source}:{line}: {message}")


class NonFiniteError(FtrlError, ValueError):
    """Training stopped at a record whose margin, or whose update of the weights, was not
    finite; the weights are left as that failed step made them, so nothing should be saved.

    ``row`` is the record's index among the rows given to the call (``None`` for the step
    applied at the end of a pass, after its last record).

    >>> str(NonFiniteError(4, NonFiniteError.WEIGHT))  # doctest: +ELLIPSIS
    'row 4: the update made a weight non-finite (NaN or infinity); lower the learning rate...'
    """

    WEIGHT = ("the update made a weight non-finite (NaN or infinity); lower the learning rate "
              "or check the values")
    MARGIN = ("the margin is not finite (NaN or infinity); lower the learning rate or check "
              "the values")

    def __init__(self, row: int | None, message: str) -> None:
        self.row = row
        self.message = message
        super().__init__(message if row is None else f"row {row}: {message}")
