"""Feature crosses between parsing and the Batch: the kernels' extra arguments, the products.

Crosses apply the same way to every input format: the format kernels only say, per feature,
its full hash, its namespace key and which terms of the spec it matches; ``add_crosses``
(one compiled pass per batch, ``_cross_kernel.cross_rows``) appends the products.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ftrl_cli.readers._cross_kernel import cross_rows
from ftrl_cli.readers.base import FeatureSpec
from ftrl_cli.readers.crosses_spec import Crosses, build

_NO_TERMS = (np.zeros(1, np.uint8), np.zeros(1, np.int64), np.zeros(0, np.int64))


def spec_crosses(spec: FeatureSpec) -> Crosses | None:
    """The spec's crosses, or None.

    >>> spec_crosses(FeatureSpec("csv", interactions=("a:b",))).terms
    ((0, 'a'), (0, 'b'))
    """
    return build(spec.interactions, spec.vw_interactions)


def vw_params(crosses: Crosses | None) -> tuple:
    """The vw kernel's cross arguments: ``(cross, letters, patterns, offsets, kinds)``."""
    if crosses is None:
        return (False, False, *_NO_TERMS)
    return (True, crosses.letters, *crosses.term_arrays())


def column_params(crosses: Crosses | None, names: Sequence[str], spec: FeatureSpec,
                  source: str) -> tuple:
    """The delimited kernel's cross arguments: ``(cross, term mask per column)``."""
    if crosses is None:
        return (False, np.zeros(len(names), np.uint64))
    return (True, crosses.column_terms(names, spec.label_column, spec.ignore_columns, source))


def add_crosses(crosses: Crosses, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                hashes: np.ndarray, keys: np.ndarray, terms: np.ndarray,
                mask: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``indptr/indices/data`` with their products appended (see ``cross_rows``).

    >>> from ftrl_cli.readers.crosses_spec import build
    >>> ptr, idx, val = add_crosses(build(["a:b"], []), np.array([0, 2]), np.array([1, 2]),
    ...                             np.array([2.0, 3.0]), np.array([1, 2], np.uint32),
    ...                             np.array([7, 8], np.uint32), np.array([1, 2], np.uint64), 255)
    >>> ptr.tolist(), idx.tolist(), val.tolist()  # (1 * 16777619) ^ 2 = 16777617
    ([0, 3], [1, 2, 145], [2.0, 3.0, 6.0])
    """
    return cross_rows(indptr, indices, data, hashes, keys, terms, crosses.groups,
                      crosses.rules, len(crosses.terms), mask)
