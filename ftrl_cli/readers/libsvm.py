"""libsvm / svmlight input: ``label index[:value] ... [# comment]``.

Labels are ``1`` (positive) and ``0`` or ``-1`` (negative); indices are non-negative
integers taken modulo ``2**hash_bits``; a missing ``:value`` means 1.  Blank lines and
lines starting with ``#`` are skipped; ``\\r\\n`` line endings are accepted.
"""

from __future__ import annotations

from ftrl_cli.readers import _parse_common as pc
from ftrl_cli.readers._parse_driver import Plan
from ftrl_cli.readers._parse_libsvm import parse_libsvm
from ftrl_cli.readers.base import FeatureSpec
from ftrl_cli.readers.source import Source

_MESSAGES = {
    pc.E_LABEL: "bad label '{t}' (expected 1, 0 or -1)",
    pc.E_NUMBER_LABEL: "bad label '{t}' (expected a number)",
    pc.E_INDEX: "bad feature '{t}' (expected index[:value], index a non-negative integer)",
    pc.E_VALUE: "bad feature value in '{t}' (expected index:number)",
}


def _describe(code: int, text: str, arg: int) -> str:
    return _MESSAGES[code].format(t=text)


def libsvm_plan(source: Source, spec: FeatureSpec) -> Plan:
    """The parse plan for a libsvm source (nothing to read ahead)."""
    return Plan(kernel=parse_libsvm, params=(), describe=_describe)
