"""The online fast path: one record per step, updating each weight as soon as it is read.

Used when a step is one record and no option couples coordinates across a step (no clipnorm,
global_clipnorm, EMA or gradient accumulation).  It computes exactly what ``train_rows`` +
``apply_step`` compute, without the gather buffers: a record's features are read once for the
prediction and updated while their cache lines are still hot.
"""

import math

import numpy as np

from ftrl_cli.kernels.ftrl import coordinate_update
from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.layout import (
    CTR_EXAMPLES,
    CTR_IT,
    FAIL_MARGIN,
    FAIL_WEIGHT,
    HP_BETA,
    HP_BIAS,
    HP_CLIPVALUE,
    HP_INIT_ACC,
    HP_L1,
    HP_L2,
    HP_LOSS,
    HP_LSCALE,
    HP_POWER,
    HP_SHRINK,
    HP_WD,
    LOSS_SQUARED,
    OK,
    STAMP_MOD,
    N,
    T,
    W,
    Z,
)
from ftrl_cli.kernels.loss import margin_gradient, prediction
from ftrl_cli.kernels.memory import prefetch
from ftrl_cli.kernels.schedule import learning_rate_at


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _update(state, j, g, lr, hp, stamp):
    scale = hp[HP_LSCALE]
    if scale != 0.0:
        g = g * scale / scale
    clipvalue = hp[HP_CLIPVALUE]
    if clipvalue > 0.0:
        g = min(max(g, -clipvalue), clipvalue)
    w = state[j, W]
    wd = hp[HP_WD]
    if wd != 0.0:
        w = w - w * wd * lr
    w, z, n = coordinate_update(w, state[j, Z], state[j, N], g, lr, hp[HP_L1], hp[HP_L2],
                                hp[HP_SHRINK], hp[HP_BETA], hp[HP_POWER])
    state[j, W] = w
    state[j, Z] = z
    state[j, N] = n
    state[j, T] = stamp
    # 0.0 for a finite weight, NaN otherwise; as stored: a float32 state can overflow where
    # the float64 result did not
    return state[j, W] - state[j, W]


@njit(nogil=True, cache=True, inline="always")
def gather_repeats(indices, values, start, end, d, slots, gsum):
    """Sum a record's gradients ``d * value`` per coordinate: the sum of the coordinate
    first seen at offset ``k - start`` lands in ``gsum[k - start]`` (see ``first_seen``)."""
    # The sums are gathered in a small table local to the record (it stays in L1), not in
    # an array the size of the model, whose every touched page would stay resident.
    size = slots.shape[0]
    for i in range(size):
        slots[i] = -1
    for k in range(start, end):
        j = indices[k]
        h = (j * 0x9E3779B1) & (size - 1)
        while slots[h] >= 0 and indices[start + slots[h]] != j:
            h = (h + 1) & (size - 1)
        if slots[h] < 0:
            slots[h] = k - start
            gsum[k - start] = 0.0
        gsum[slots[h]] += d * values[k]


@njit(nogil=True, cache=True, inline="always")
def first_seen(indices, start, k, slots):
    """Whether ``indices[k]`` occurs first at ``k`` in its record (after ``gather_repeats``)."""
    size = slots.shape[0]
    j = indices[k]
    h = (j * 0x9E3779B1) & (size - 1)
    while indices[start + slots[h]] != j:
        h = (h + 1) & (size - 1)
    return slots[h] == k - start


@njit(nogil=True, cache=True, error_model="numpy")
def _update_repeated(state, indices, values, start, end, d, lr, hp, stamp, slots, gsum):
    gather_repeats(indices, values, start, end, d, slots, gsum)
    nonfinite = 0.0
    for k in range(start, end):
        if first_seen(indices, start, k, slots):
            nonfinite += _update(state, indices[k], gsum[k - start], lr, hp, stamp)
    return nonfinite


def scratch_sizes(indptr) -> tuple[int, int]:
    """``(len(slots), len(gsum))`` that `train_online` needs for these CSR rows.

    >>> scratch_sizes(np.array([0, 3, 4]))
    (8, 3)
    """
    longest = int(np.max(np.diff(indptr))) if len(indptr) > 1 else 0
    return 1 << max(2 * longest - 1, 1).bit_length(), max(longest, 1)


@njit(nogil=True, cache=True, error_model="numpy")
def train_online(indptr, indices, values, labels, weights, base, state, slots, gsum, ctr, hp,
                 sched_kind, sched_p, preds):
    """One optimizer step per record, in order; ``preds[r]`` is the prediction before it.

    ``base`` holds each record's base margin, or is empty.  ``slots`` and ``gsum`` are
    scratch for a record whose features repeat: ``slots`` (int64) a power of two at least
    twice the longest record, ``gsum`` (float64) as long as the longest record; see
    `scratch_sizes`.  Returns ``OK``, or stops at the first record whose margin is not
    finite or whose update makes a weight non-finite and returns ``2 * row + FAIL_MARGIN``
    or ``FAIL_WEIGHT`` (kernels.layout).
    """
    bias_row = state.shape[0] - 1
    use_bias = hp[HP_BIAS] != 0.0
    init_acc = hp[HP_INIT_ACC]
    has_base = base.shape[0] != 0
    squared = hp[HP_LOSS] == LOSS_SQUARED
    if use_bias and state[bias_row, T] == 0.0:
        state[bias_row, N] = init_acc
    n_rows = indptr.shape[0] - 1
    for r in range(n_rows):
        start = indptr[r]
        end = indptr[r + 1]
        # The next record's rows are fetched while this one computes: its misses overlap.
        if r + 1 < n_rows:
            for k in range(end, indptr[r + 2]):
                prefetch(state, indices[k])
        stamp = float(ctr[CTR_EXAMPLES] % STAMP_MOD + 1)
        lr = learning_rate_at(sched_kind, sched_p, ctr[CTR_IT])
        margin = state[bias_row, W] if use_bias else 0.0
        repeated = False
        for k in range(start, end):
            j = indices[k]
            margin += state[j, W] * values[k]
            t = state[j, T]
            if t == stamp:
                repeated = True
            elif t == 0.0:
                state[j, N] = init_acc
            state[j, T] = stamp
        if has_base:
            margin += base[r]
        if not math.isfinite(margin):
            return 2 * r + FAIL_MARGIN
        p = prediction(margin, squared)
        preds[r] = p
        d = margin_gradient(p, labels[r], weights[r], squared)
        # sums _update's 0-or-NaN results: cheaper than testing every weight
        nonfinite = 0.0
        if not repeated:
            for k in range(start, end):
                nonfinite += _update(state, indices[k], d * values[k], lr, hp, stamp)
        else:
            # A feature occurs twice (or a hash collision): its gradient is the sum, applied
            # once, at its first occurrence.
            nonfinite += _update_repeated(state, indices, values, start, end, d, lr, hp,
                                          stamp, slots, gsum)
        if use_bias:
            nonfinite += _update(state, bias_row, d, lr, hp, stamp)
        ctr[CTR_IT] += 1
        ctr[CTR_EXAMPLES] += 1
        if nonfinite != 0.0:
            return 2 * r + FAIL_WEIGHT
    return OK
