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
