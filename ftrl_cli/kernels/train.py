"""The training loop over CSR rows: progressive prediction, gradient gather, step when full."""

import math

from ftrl_cli.kernels.ftrl import apply_step, ema_catch_up
from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.layout import (
    CTR_EXAMPLES,
    CTR_IT,
    CTR_NACT,
    CTR_ROWS,
    FAIL_MARGIN,
    FAIL_WEIGHT,
    HP_ACCUM,
    HP_BIAS,
    HP_EMA,
    HP_EMA_FREQ,
    HP_EMA_MOM,
    HP_LOSS,
    LOSS_SQUARED,
    MARK_ACTIVE,
    OK,
    W,
)
from ftrl_cli.kernels.loss import margin_gradient, prediction
from ftrl_cli.kernels.memory import prefetch


@njit(nogil=True, cache=True, error_model="numpy")
def train_rows(
    indptr,
    indices,
    values,
    labels,
    weights,
    base,
    state,
    gbuf,
    mark,
    active,
    pending,
    ctr,
    hp,
    cols,
    sched_kind,
    sched_p,
    batch_size,
    preds,
):
    """Train on CSR rows in order; ``preds[r]`` is row r's prediction before its step.

    A step gathers ``batch_size`` records (mean gradient of the loss ``hp[HP_LOSS]``,
    importance-weighted)
    and is applied when full; a partial step stays gathered in ``gbuf`` across calls, so input
    chunking never changes the result.  Call ``flush_step`` at the end of a pass.

    ``base`` holds each record's base margin, or is empty.  Returns ``OK``, or stops at the
    first record whose margin is not finite, or whose step (applied after it) made a weight
    non-finite: ``2 * row + FAIL_MARGIN`` or ``FAIL_WEIGHT`` (kernels.layout).
    """
    bias_row = state.shape[0] - 1
    use_bias = hp[HP_BIAS] != 0.0
    lazy_overwrite = hp[HP_EMA] != 0.0 and hp[HP_EMA_FREQ] > 0.0
    accum = int(hp[HP_ACCUM])
    ema_accum = accum if accum >= 2 else 1
    freq = int(hp[HP_EMA_FREQ])
    momentum = hp[HP_EMA_MOM]
    has_base = base.shape[0] != 0
    squared = hp[HP_LOSS] == LOSS_SQUARED
    n_rows = indptr.shape[0] - 1
    for r in range(n_rows):
        start = indptr[r]
        end = indptr[r + 1]
        # As in the online kernel: the next record's rows arrive while this one computes.
        if r + 1 < n_rows:
            for k in range(end, indptr[r + 2]):
                prefetch(state, indices[k])
                prefetch(gbuf, indices[k])
        if lazy_overwrite:
            # An overwrite may have replaced an idle weight by its average: materialise it.
            it = ctr[CTR_IT]
            for k in range(start, end):
                ema_catch_up(state, indices[k], cols, it, ema_accum, freq, momentum)
            if use_bias:
                ema_catch_up(state, bias_row, cols, it, ema_accum, freq, momentum)
        margin = state[bias_row, W] if use_bias else 0.0
        for k in range(start, end):
            margin += state[indices[k], W] * values[k]
        if has_base:
            margin += base[r]
        if not math.isfinite(margin):
            return 2 * r + FAIL_MARGIN
        p = prediction(margin, squared)
        preds[r] = p
        d = margin_gradient(p, labels[r], weights[r], squared)
        nact = ctr[CTR_NACT]
        for k in range(start, end):
            j = indices[k]
            if mark[j] & MARK_ACTIVE == 0:
                mark[j] |= MARK_ACTIVE
                active[nact] = j
                nact += 1
            gbuf[j] += d * values[k]
        if use_bias:
            if mark[bias_row] & MARK_ACTIVE == 0:
                mark[bias_row] |= MARK_ACTIVE
                active[nact] = bias_row
                nact += 1
            gbuf[bias_row] += d
        ctr[CTR_NACT] = nact
        ctr[CTR_ROWS] += 1
        ctr[CTR_EXAMPLES] += 1
        if ctr[CTR_ROWS] >= batch_size:
            if not apply_step(state, gbuf, mark, active, pending, ctr, hp, cols, sched_kind,
                              sched_p):
                return 2 * r + FAIL_WEIGHT
    return OK


@njit(nogil=True, cache=True, error_model="numpy")
def flush_step(state, gbuf, mark, active, pending, ctr, hp, cols, sched_kind, sched_p):
    """Apply a partial step (the last, smaller batch of a pass), if any record is gathered.

    Returns whether every weight it wrote is finite.
    """
    if ctr[CTR_ROWS] > 0:
        return apply_step(state, gbuf, mark, active, pending, ctr, hp, cols, sched_kind,
                          sched_p)
    return True
