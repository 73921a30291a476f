"""Errors a user (or the system) can cause; the CLI prints them as one line and exits with
``exit_code`` (2 unless a subclass says otherwise)."""

from __future__ import annotations


class FtrlError(Exception):
    """A problem with the user's input, options or files (never a bug in ftrl)."""

    exit_code = 2


class RowSource(str):
    """The name of an input whose records are rows (Parquet), not lines: errors say
    ``file: row N`` instead of ``file:N``."""


class InputError(FtrlError):
    """A malformed record: ``str(err)`` is ``"file:line: what is wrong"``
    (``"file: row N: what is wrong"`` for a ``RowSource``).

    >>> str(InputError("train.vw", 7, "bad label 'x'"))
    "train.vw:7: bad label 'x'"
    >>> str(InputError(RowSource("day.parquet"), 7, "bad label 'x'"))
    "day.parquet: row 7: bad label 'x'"
    """

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}: row {line}" if isinstance(source, RowSource) else f"{source}:{line}"
        super().__init__(f"{where}: {message}")


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


class SystemIOError(FtrlError):
    """The system refused a write: a full disk, a file-size or quota limit, a read-only or
    forbidden folder.  Nothing is wrong with the input, so the exit code is 1.

    >>> SystemIOError("model.parquet: no space left on device").exit_code
    1
    """

    exit_code = 1


class LockedError(FtrlError):
    """Another ``ftrl`` process is writing the same output (exit code 75, ``EX_TEMPFAIL``:
    try again later).

    >>> LockedError("model.parquet: locked").exit_code
    75
    """

    exit_code = 75


class ChecksumError(FtrlError):
    """A model file whose columns no longer match the checksum written with them."""


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so that every ``with`` block unwinds (a
    temporary output file is removed, the old model stays) before the exit with 143.

    A ``BaseException``, as ``KeyboardInterrupt`` is, so that no ``except Exception`` on the
    way swallows it.
    """
