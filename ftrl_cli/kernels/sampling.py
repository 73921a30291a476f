"""Negative down-sampling: each record's keep decision, and undoing the sampling in scores.

A record's decision is a counter-based hash (SplitMix64) of the seed, the pass and the
record's position in the pass, so it does not depend on how the input was cut into batches
or blocks, nor on which thread parsed them.  The kernels write into arrays they are given.
"""

from __future__ import annotations

import math

import numpy as np

from ftrl_cli.kernels.jit import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def keep_records(labels: np.ndarray, rate: float, seed: int, pass_index: int,
                 start: int) -> np.ndarray:
    """Which records to keep: every record not labelled 0, each negative with probability
    ``rate``; ``start`` is the position of ``labels[0]`` in the pass.

    >>> keep_records(np.array([1.0, 0.0, 0.0, np.nan]), 1e-9, seed=0, pass_index=0, start=0)
    array([ True, False, False,  True])
    >>> labels = np.zeros(10)
    >>> np.array_equal(keep_records(labels, 0.5, 7, 0, 0)[4:],
    ...                keep_records(labels[4:], 0.5, 7, 0, 4))
    True
    """
    out = np.empty(len(labels), dtype=np.bool_)
    # u < rate, with u = k / 2**53, is k < ceil(rate * 2**53) for the integer k
    threshold = np.uint64(min(math.ceil(rate * 2.0**53), 2**53))
    _keep_into(np.ascontiguousarray(labels, dtype=np.float64), np.uint64(seed),
               np.uint64(pass_index), np.uint64(start), threshold, out)
    return out


def recalibrate(values: np.ndarray, rate: float, margins: bool = False) -> np.ndarray:
    """Scores of a model trained on negatives kept at ``rate``, as estimates for the
    unsampled traffic: ``p / (p + (1 - p) / rate)`` for probabilities, and for margins the
    margin of that probability, ``margin + ln(rate)``.

    >>> recalibrate(np.array([0.5, 0.0, 1.0]), 0.25)
    array([0.2, 0. , 1. ])
    >>> recalibrate(np.array([0.0]), 0.25, margins=True).round(6)
    array([-1.386294])
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    out = np.empty(values.shape[0])
    _recalibrate_into(values, rate, math.log(rate), margins, out)
    return out


@njit(nogil=True, cache=True, inline="always")
def _mix(x):
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@njit(nogil=True, cache=True)
def _keep_into(labels, seed, pass_index, start, threshold, out):
    # The record's draw is output number `position` of a SplitMix64 stream whose state is
    # keyed by (seed, pass): every pass gets a fresh, independent sample.
    key = _mix(_mix(seed) ^ (pass_index * _GOLDEN))
    for i in range(labels.shape[0]):
        if labels[i] != 0.0:  # positives, and unlabelled records (training rejects them)
            out[i] = True
            continue
        position = start + np.uint64(i) + np.uint64(1)
        out[i] = (_mix(key + position * _GOLDEN) >> np.uint64(11)) < threshold


@njit(nogil=True, cache=True)
def _recalibrate_into(values, rate, log_rate, margins, out):
    for i in range(values.shape[0]):
        v = values[i]
        out[i] = v + log_rate if margins else v / (v + (1.0 - v) / rate)
