"""The online kernel on 16-byte state rows: ``(linear, accumulator)``, no stored weight.

With a constant learning rate, no weight decay, moving average or gradient accumulation, a
coordinate's weight after any step is a function of its ``(linear, accumulator)`` alone:
Keras's update ends with ``w = (clip(z, -l1, l1) - z) / (n ** 0.5 / lr + 2 * l2_reg)``.  Computing
it again from the stored pair, with the same operations in the same order, gives the weight
Keras holds bit for bit, so the row need not keep it; the stamp column goes too: an
untouched row is all zeros, and a record's repeated features are found by marking each
row's accumulator while the record is read (its sign bit: accumulators are never negative).
Half the bytes per coordinate: half the memory and twice the rows per page and cache line.
"""

import math

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
    HP_SHRINK,
    LOSS_SQUARED,
    OK,
)
from ftrl_cli.kernels.loss import margin_gradient, prediction
from ftrl_cli.kernels.memory import prefetch
from ftrl_cli.kernels.online import first_seen, gather_repeats
from ftrl_cli.kernels.schedule import learning_rate_at
from ftrl_cli.kernels.simd import sqrt_pair

CZ = 0  # the compact row's columns: linear, accumulator
CN = 1
PREFETCH_AHEAD = 96


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def compact_weight(z, n, lr, l1, l2, beta):
    """The weight Keras holds for ``(linear, accumulator)``: `coordinate_update`'s last
    lines, operation for operation (power -0.5)."""
    z_clipped = min(max(z, -l1), l1)
    if z_clipped == z:
        # (z - z) / quadratic, and the quadratic is positive for a row whose accumulator is
        # (an untouched row's linear is 0, so the 0 / 0 of a zero accumulator never comes
        # up here; an update that makes one is reported non-finite as Keras makes it NaN).
        # The weights L1 holds at zero, most of them, cost no square root nor division.
        return 0.0
    inv_lr = 1.0 / lr
    l2_reg = l2 + beta * (0.5 * inv_lr)
    quadratic = math.sqrt(n) * inv_lr + 2.0 * l2_reg
    return (z_clipped - z) / quadratic


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def compact_update(w, z, n, g, lr, l1, l2, shrink, beta):
    """`coordinate_update` (power -0.5) for a compact row: ``(nonfinite, linear,
    accumulator)``, where ``nonfinite`` is 0.0 if the new weight is finite, else NaN.

    The new weight itself is not needed (it is recomputed when next read), only whether it
    is finite: a division is saved whenever the bounds below prove it.
    """
    inv_lr = 1.0 / lr
    l2_reg = l2 + beta * (0.5 * inv_lr)
    g_shrunk = g + 2.0 * shrink * w
    n_new = n + g * g
    p_new, p_old = sqrt_pair(n_new, n)
    z = z + (g_shrunk - (p_new - p_old) * inv_lr * w)
    quadratic = p_new * inv_lr + 2.0 * l2_reg
    numerator = min(max(z, -l1), l1) - z
    # |numerator| <= 1e300 and quadratic >= 1e-7 (or infinite) bound the quotient by 1e307:
    # finite.  NaN fails both tests and takes the exact way.
    if abs(numerator) <= 1e300 and quadratic >= 1e-7:
        return 0.0, z, n_new
    w = numerator / quadratic
    return w - w, z, n_new


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _marked(n):
    return math.copysign(1.0, n) < 0.0


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _step(state, j, w, g, lr, hp):
    # online._update for the compact row; ``w`` is the weight before the step
    scale = hp[HP_LSCALE]
    if scale != 0.0:
        g = g * scale / scale
    clipvalue = hp[HP_CLIPVALUE]
    if clipvalue > 0.0:
        g = min(max(g, -clipvalue), clipvalue)
    n = state[j, CN]
    if n == 0.0:  # first touch (a touched row's accumulator is > 0 unless the initial is 0)
        n = hp[HP_INIT_ACC]
    bad, z, n = compact_update(w, state[j, CZ], n, g, lr, hp[HP_L1], hp[HP_L2],
                               hp[HP_SHRINK], hp[HP_BETA])
    state[j, CZ] = z
    state[j, CN] = n
    return bad


@njit(nogil=True, cache=True, error_model="numpy")
def _unmark(state, indices, start, end):
    for k in range(start, end):
        j = indices[k]
        if _marked(state[j, CN]):
            state[j, CN] = -state[j, CN]


@njit(nogil=True, cache=True, error_model="numpy")
def _step_repeated(state, indices, values, start, end, d, lr, hp, wtmp, slots, gsum):
    # as online._update_repeated: each coordinate's summed gradient, applied once
    gather_repeats(indices, values, start, end, d, slots, gsum)
    nonfinite = 0.0
    for k in range(start, end):
        if first_seen(indices, start, k, slots):
            nonfinite += _step(state, indices[k], wtmp[k - start], gsum[k - start], lr, hp)
    return nonfinite


@njit(nogil=True, cache=True, error_model="numpy")
def train_compact(indptr, indices, values, labels, weights, base, state, wtmp, slots, gsum, ctr,
                  hp, sched_kind, sched_p, preds):
    """`online.train_online` on compact rows; ``wtmp`` (float64) holds the weights of the
    record being learnt, as long as the longest record."""
    bias_row = state.shape[0] - 1
    use_bias = hp[HP_BIAS] != 0.0
    has_base = base.shape[0] != 0
    squared = hp[HP_LOSS] == LOSS_SQUARED
    l1 = hp[HP_L1]
    l2 = hp[HP_L2]
    beta = hp[HP_BETA]
    n_rows = indptr.shape[0] - 1
    last = indptr[n_rows]
    # Rows PREFETCH_AHEAD features ahead are requested while one is computed, across record
    # boundaries: enough misses in flight to hide the latency, not so many that the
    # core drops them (a crossed record has hundreds of features).
    ahead = min(indptr[0] + PREFETCH_AHEAD, last)
    for k in range(indptr[0], ahead):
        prefetch(state, indices[k])
    for r in range(n_rows):
        start = indptr[r]
        end = indptr[r + 1]
        lr = learning_rate_at(sched_kind, sched_p, ctr[CTR_IT])
        w_bias = 0.0
        if use_bias:
            w_bias = compact_weight(state[bias_row, CZ], state[bias_row, CN], lr, l1, l2, beta)
        margin = w_bias
        repeated = False
        for k in range(start, end):
            if ahead < last:
                prefetch(state, indices[ahead])
                ahead += 1
            j = indices[k]
            n = state[j, CN]
            if _marked(n):
                repeated = True
                n = -n
            else:
                state[j, CN] = -n
            w = compact_weight(state[j, CZ], n, lr, l1, l2, beta)
            wtmp[k - start] = w
            margin += w * values[k]
        if has_base:
            margin += base[r]
        if not math.isfinite(margin):
            _unmark(state, indices, start, end)
            return 2 * r + FAIL_MARGIN
        p = prediction(margin, squared)
        preds[r] = p
        d = margin_gradient(p, labels[r], weights[r], squared)
        nonfinite = 0.0
        if not repeated:
            for k in range(start, end):
                j = indices[k]
                state[j, CN] = -state[j, CN]
                nonfinite += _step(state, j, wtmp[k - start], d * values[k], lr, hp)
        else:
            _unmark(state, indices, start, end)
            nonfinite += _step_repeated(state, indices, values, start, end, d, lr, hp, wtmp,
                                        slots, gsum)
        if use_bias:
            nonfinite += _step(state, bias_row, w_bias, d, lr, hp)
        ctr[CTR_IT] += 1
        ctr[CTR_EXAMPLES] += 1
        if nonfinite != 0.0:
            return 2 * r + FAIL_WEIGHT
    return OK


@njit(nogil=True, cache=True, error_model="numpy")
def compact_margins(indptr, indices, values, base, state, hp, lr, out):
    """``out[r]``: row r's margin ``base + w.x + bias`` under the compact state's weights;
    ``indptr`` may start past 0."""
    bias_row = state.shape[0] - 1
    l1 = hp[HP_L1]
    l2 = hp[HP_L2]
    beta = hp[HP_BETA]
    has_base = base.shape[0] != 0
    for r in range(indptr.shape[0] - 1):
        m = 0.0
        if hp[HP_BIAS] != 0.0:
            m = compact_weight(state[bias_row, CZ], state[bias_row, CN], lr, l1, l2, beta)
        for k in range(indptr[r], indptr[r + 1]):
            j = indices[k]
            m += compact_weight(state[j, CZ], state[j, CN], lr, l1, l2, beta) * values[k]
        if has_base:
            m += base[r]
        out[r] = m


@njit(nogil=True, cache=True, error_model="numpy")
def compact_weights(state, rows, hp, lr, out):
    """``out[i]``: the weight of compact row ``rows[i]``."""
    l1 = hp[HP_L1]
    l2 = hp[HP_L2]
    beta = hp[HP_BETA]
    for i in range(rows.shape[0]):
        out[i] = compact_weight(state[rows[i], CZ], state[rows[i], CN], lr, l1, l2, beta)
