"""The cases at several table sizes (``BENCH_BITS``): keys, folders, which cases run.

At the headline size (the first of ``BENCH_BITS``) every case runs under its usual key; at
the others only the cases that compare the tools, keyed ``b24/train/vw/vw`` and so on, with
their models in their own folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench.cases import Case, all_cases, scale_cases
from bench.datasets import DataSet
from bench.settings import Hyper

# At hash sizes other than the headline one, the cases that compare the tools (issue #14).
COMPARED = frozenset({
    "train/ftrl/criteo", "train/ftrl-inproc/criteo", "train/ftrl/vw", "train/ftrl-inproc/vw",
    "train/vw/vw", "train/dt/criteo",
    "predict/ftrl/criteo", "predict/ftrl-inproc/criteo", "predict/ftrl/vw",
    "predict/ftrl-inproc/vw", "predict/vw/vw", "predict/dt/criteo",
    "profile/ftrl/criteo",
})


def sized_key(key: str, bits: int, headline: int) -> str:
    """A case's key at ``bits``: unchanged at the headline size, else prefixed.

    >>> sized_key("train/vw/vw", 24, 22), sized_key("train/vw/vw", 22, 22)
    ('b24/train/vw/vw', 'train/vw/vw')
    """
    return key if bits == headline else f"b{bits}/{key}"


def unsized_key(key: str) -> str:
    """The key without its hash-size prefix.

    >>> unsized_key("b24/train/vw/vw")
    'train/vw/vw'
    """
    head, _, rest = key.partition("/")
    return rest if head[:1] == "b" and head[1:].isdigit() else key


def _sized(cases: list[Case], bits: int, headline: int) -> list[Case]:
    return [dataclasses.replace(c, key=sized_key(c.key, bits, headline), bits=bits)
            for c in cases]


def main_cases(ds: DataSet, h: Hyper, out: Path, headline: int) -> list[Case]:
    """Every case at ``h.bits`` if it is the headline size, else the tools compared; the
    models of other sizes go to their own folder (``out/b24``)."""
    if h.bits == headline:
        return _sized(all_cases(ds, h, out), h.bits, headline)
    folder = out / f"b{h.bits}"
    folder.mkdir(parents=True, exist_ok=True)
    found = [c for c in all_cases(ds, h, folder) if c.key in COMPARED]
    return _sized(found, h.bits, headline)


def sized_scale_cases(
    small: Path, small_rows: int, large: Path, large_rows: int, h: Hyper, out: Path,
    headline: int
) -> list[Case]:
    """``scale_cases`` at ``h.bits``, keyed like ``main_cases``."""
    folder = out if h.bits == headline else out / f"b{h.bits}"
    folder.mkdir(parents=True, exist_ok=True)
    found = scale_cases(small, small_rows, large, large_rows, h, folder)
    return _sized(found, h.bits, headline)
