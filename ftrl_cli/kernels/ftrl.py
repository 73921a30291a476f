"""One FTRL-Proximal step, exactly as Keras 3's ``Ftrl.update_step`` computes it.

``coordinate_update`` is the per-weight math; ``apply_step`` runs one optimizer iteration over
the coordinates active in it, in Keras's order: loss-scale undo, gradient accumulation,
clipping, weight decay, update, moving average.  Coordinates that are not active are not
touched; their moving average is brought up to date lazily (``ema_catch_up``).
"""

import math

from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.layout import (
    COL_ACC,
    COL_AVG,
    COL_EST,
    CTR_EXAMPLES,
    CTR_IT,
    CTR_NACT,
    CTR_NPEND,
    CTR_ROWS,
    HP_ACCUM,
    HP_BETA,
    HP_CLIPNORM,
    HP_CLIPVALUE,
    HP_EMA,
    HP_EMA_FREQ,
    HP_EMA_MOM,
    HP_GCLIPNORM,
    HP_INIT_ACC,
    HP_L1,
    HP_L2,
    HP_LSCALE,
    HP_POWER,
    HP_SHRINK,
    HP_WD,
    MARK_ACTIVE,
    MARK_PENDING,
    STAMP_MOD,
    N,
    T,
    W,
    Z,
)
from ftrl_cli.kernels.schedule import learning_rate_at
from ftrl_cli.kernels.simd import sqrt_pair


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def coordinate_update(w, z, n, g, lr, l1, l2, shrink, beta, power):
    """New ``(weight, linear, accumulator)`` of one coordinate after gradient ``g``."""
    # 1/lr is loop-invariant where this is inlined: two multiplications instead of two
    # divisions (the divider is the bottleneck); equal to Keras's quotients within an ulp.
    inv_lr = 1.0 / lr
    l2_reg = l2 + beta * (0.5 * inv_lr)
    g_shrunk = g + 2.0 * shrink * w
    n_new = n + g * g
    # n ** -power; -0.5 is the default and by far the most used power: exact square roots,
    # both in one instruction, are much faster than pow
    if power == -0.5:
        p_new, p_old = sqrt_pair(n_new, n)
    else:
        p_new, p_old = n_new ** (-power), n ** (-power)
    z = z + (g_shrunk - (p_new - p_old) * inv_lr * w)
    quadratic = p_new * inv_lr + 2.0 * l2_reg
    z_clipped = min(max(z, -l1), l1)
    return (z_clipped - z) / quadratic, z, n_new


@njit(nogil=True, cache=True, inline="always")
def ema_step_rule(t, accum, freq, momentum):
    """Keras's moving-average rule at raw iteration ``t``: ``(momentum, overwrite)``.

    Keras counts ``iterations = t // accum``; the momentum is 0 while that is 0 (the first
    step copies the weight), and the weights are overwritten when ``iterations + 1`` is a
    multiple of ``ema_overwrite_frequency`` (``freq``, 0 for never).
    """
    ema_iter = t // accum
    m = momentum if ema_iter != 0 else 0.0
    return m, freq > 0 and (ema_iter + 1) % freq == 0


@njit(nogil=True, cache=True, error_model="numpy")
def ema_catch_up(state, j, cols, t, accum, freq, momentum):
    """Replay, in closed form, the moving-average updates of iterations ``[est, t)``.

    Keras updates every weight's average at every iteration, also when its gradient is zero;
    while a coordinate is inactive its weight is constant, so ``n`` updates collapse into
    ``avg = m**n * avg + (1 - m**n) * w``.  An overwrite (``ema_overwrite_frequency``) sets the
    weight to its average, after which both stay equal until the coordinate is active again.
    """
    c_avg = cols[COL_AVG]
    c_est = cols[COL_EST]
    k = int(state[j, c_est])
    if k >= t:
        return
    w = state[j, W]
    avg = state[j, c_avg]
    # Keras's first-step rule: momentum 0 while ``iterations`` (= raw // accum) is 0.
    while k < t and k < accum:
        avg = w
        if freq > 0 and (k // accum + 1) % freq == 0:
            w = avg
        k += 1
    if k < t and freq > 0:
        block = k // accum
        rest = (block + 1) % freq
        event_block = block if rest == 0 else block + freq - rest
        event = max(k, event_block * accum)
        if event < t:
            decay = momentum ** (event - k + 1)
            avg = decay * avg + (1.0 - decay) * w
            w = avg
            k = t
    if k < t:
        decay = momentum ** (t - k)
        avg = decay * avg + (1.0 - decay) * w
    state[j, W] = w
    state[j, c_avg] = avg
    state[j, c_est] = t


@njit(nogil=True, cache=True, error_model="numpy")
def apply_step(state, gbuf, mark, active, pending, ctr, hp, cols, sched_kind, sched_p):
    """Apply one optimizer iteration to the gathered gradient sums and reset the gather buffers.

    ``gbuf[j]`` holds the sum over the step's records of each record's gradient; the step uses
    their mean, as a Keras model does with a batch.  Returns whether every weight (and moving
    average) it wrote is finite.
    """
    it = ctr[CTR_IT]
    stamp = float((ctr[CTR_EXAMPLES] - 1) % STAMP_MOD + 1)
    init_acc = hp[HP_INIT_ACC]
    count = ctr[CTR_ROWS]
    nact = ctr[CTR_NACT]
    bias_row = state.shape[0] - 1
    accum = int(hp[HP_ACCUM])
    scale = hp[HP_LSCALE]
    for i in range(nact):
        j = active[i]
        g = gbuf[j] / count
        if scale != 0.0:
            g = g * scale / scale
        gbuf[j] = g

    if accum >= 2:
        c_acc = cols[COL_ACC]
        if (it + 1) % accum != 0:
            npend = ctr[CTR_NPEND]
            for i in range(nact):
                j = active[i]
                if state[j, T] == 0.0:
                    state[j, N] = init_acc
                state[j, T] = stamp
                state[j, c_acc] += gbuf[j]
                gbuf[j] = 0.0
                mark[j] &= ~MARK_ACTIVE
                if mark[j] & MARK_PENDING == 0:
                    mark[j] |= MARK_PENDING
                    pending[npend] = j
                    npend += 1
            ctr[CTR_NPEND] = npend
            ctr[CTR_IT] = it + 1
            ctr[CTR_NACT] = 0
            ctr[CTR_ROWS] = 0
            return True
        for i in range(ctr[CTR_NPEND]):
            j = pending[i]
            mark[j] &= ~MARK_PENDING
            if mark[j] & MARK_ACTIVE == 0:
                mark[j] |= MARK_ACTIVE
                gbuf[j] = 0.0
                active[nact] = j
                nact += 1
        ctr[CTR_NPEND] = 0
        for i in range(nact):
            j = active[i]
            gbuf[j] = (gbuf[j] + state[j, c_acc]) / accum
            state[j, c_acc] = 0.0

    _clip(gbuf, active, nact, bias_row, hp)

    lr = learning_rate_at(sched_kind, sched_p, it)
    l1 = hp[HP_L1]
    l2 = hp[HP_L2]
    shrink = hp[HP_SHRINK]
    beta = hp[HP_BETA]
    power = hp[HP_POWER]
    wd = hp[HP_WD]
    use_ema = hp[HP_EMA] != 0.0
    momentum = hp[HP_EMA_MOM]
    freq = int(hp[HP_EMA_FREQ])
    ema_accum = accum if accum >= 2 else 1
    ema_m, overwrite = ema_step_rule(it, ema_accum, freq, momentum)
    finite = True
    for i in range(nact):
        j = active[i]
        if state[j, T] == 0.0:
            state[j, N] = init_acc
        if use_ema:
            ema_catch_up(state, j, cols, it, ema_accum, freq, momentum)
        w = state[j, W]
        if wd != 0.0:
            w = w - w * wd * lr
        w, z, n = coordinate_update(
            w, state[j, Z], state[j, N], gbuf[j], lr, l1, l2, shrink, beta, power
        )
        state[j, Z] = z
        state[j, N] = n
        if use_ema:
            c_avg = cols[COL_AVG]
            avg = ema_m * state[j, c_avg] + (1.0 - ema_m) * w
            state[j, c_avg] = avg
            finite &= math.isfinite(state[j, c_avg])
            if overwrite:
                w = avg
            state[j, cols[COL_EST]] = it + 1
        state[j, W] = w
        # as stored: a float32 state can overflow where the float64 result did not
        finite &= math.isfinite(state[j, W])
        state[j, T] = stamp
        gbuf[j] = 0.0
        mark[j] &= ~MARK_ACTIVE
    ctr[CTR_IT] = it + 1
    ctr[CTR_NACT] = 0
    ctr[CTR_ROWS] = 0
    return finite


@njit(nogil=True, cache=True, error_model="numpy")
def _clip(g, active, nact, bias_row, hp):
    # Keras clips each variable (kernel, bias) by its own norm, or all by their global norm.
    clipnorm = hp[HP_CLIPNORM]
    gclip = hp[HP_GCLIPNORM]
    clipvalue = hp[HP_CLIPVALUE]
    if clipnorm > 0.0 or gclip > 0.0:
        kernel_sq = 0.0
        bias_sq = 0.0
        for i in range(nact):
            j = active[i]
            if j == bias_row:
                bias_sq += g[j] * g[j]
            else:
                kernel_sq += g[j] * g[j]
        if clipnorm > 0.0:
            kernel_den = max(math.sqrt(kernel_sq), clipnorm)
            bias_den = max(math.sqrt(bias_sq), clipnorm)
            for i in range(nact):
                j = active[i]
                den = bias_den if j == bias_row else kernel_den
                g[j] = g[j] * clipnorm / den
        else:
            use_norm = math.sqrt(kernel_sq + bias_sq)
            factor = gclip * min(1.0 / use_norm, 1.0 / gclip)
            for i in range(nact):
                j = active[i]
                g[j] = g[j] * factor
    elif clipvalue > 0.0:
        for i in range(nact):
            j = active[i]
            g[j] = min(max(g[j], -clipvalue), clipvalue)


@njit(nogil=True, cache=True, error_model="numpy")
def catch_up_all(state, rows, cols, t, accum, freq, momentum):
    """Bring the moving average of every listed row up to iteration ``t``."""
    for i in range(rows.shape[0]):
        ema_catch_up(state, rows[i], cols, t, accum, freq, momentum)
