"""Vowpal Wabbit text input: ``label [importance] ['tag]|ns[:scale] feat[:value] ...``.

* label ``1`` is positive, ``0`` or ``-1`` negative; no label (``| a b``) gives NaN;
* importance is a non-negative number (default 1); a third number is the record's base
  margin (Vowpal Wabbit's initial prediction, ``Batch.base``);
* the tag is the last word before the first ``|`` when it starts with ``'`` or touches the
  ``|`` (``1 'id42 |a`` and ``1 id42|a`` both tag the record ``id42``);
* a line without ``|`` is a record with no features (the bias alone); as in Vowpal Wabbit
  its last word is a tag when it starts with ``'`` or ends the line, so ``1 'ad7`` is label
  1 tagged ``ad7`` and ``1`` alone an unlabelled record tagged ``1``;
* ``|ns:2.5`` multiplies the values of that namespace by 2.5; a bare ``|`` is namespace "";
* ``feat`` has value 1, ``feat:v`` value ``v``; ``feat:`` with no number is read as Vowpal
  Wabbit 9 reads it: the next word ``w`` becomes a string value (the feature ``feat``
  ``w`` of ``ftrl_cli.hashing``, value 1, no namespace scale), or at the end of the line
  ``feat`` with value 1, unscaled; blank lines and ``#`` lines are skipped;
  ``\\r\\n`` line endings are accepted.
"""

from __future__ import annotations

from ftrl_cli.readers import _parse_common as pc
from ftrl_cli.readers._parse_driver import Plan
from ftrl_cli.readers._parse_vw import parse_vw
from ftrl_cli.readers.base import FeatureSpec
from ftrl_cli.readers.crossing import spec_crosses, vw_params
from ftrl_cli.readers.source import Source

_MESSAGES = {
    pc.E_LABEL: "bad label '{t}' (expected 1, 0 or -1)",
    pc.E_NUMBER_LABEL: "bad label '{t}' (expected a number)",
    pc.E_WEIGHT: "bad importance weight '{t}' (expected a non-negative number)",
    pc.E_VALUE: "bad feature value in '{t}' (expected name:number)",
    pc.E_SCALE: "bad namespace scale in '|{t}' (expected |name:number)",
    pc.E_BASE: "bad base '{t}' (expected a number: label importance base)",
    pc.E_HEADER_TOKEN: "unexpected '{t}' before '|' (expected label [importance [base]] ['tag])",
}


def _describe(code: int, text: str, arg: int) -> str:
    return _MESSAGES[code].format(t=text)


def vw_plan(source: Source, spec: FeatureSpec) -> Plan:
    """The parse plan for a vw source (nothing to read ahead)."""
    crosses = spec_crosses(spec)
    return Plan(kernel=parse_vw, params=(spec.hash_mode == "strings", *vw_params(crosses)),
                describe=_describe, takes_meta=True, crosses=crosses)
