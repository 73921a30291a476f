"""Kernels of the array optimizer (``ftrl_cli.optimizer.Ftrl``), one variable per call.

A variable is a flat array; a step updates either all of its coordinates (``coords is None`` on
the Python side, ``dense=True`` here) or the listed ones.  The FTRL math is
``kernels.ftrl.coordinate_update`` and the lazily kept moving average is
``kernels.ftrl.ema_catch_up``, the very functions the CLI's training loop runs, so the two paths
cannot drift apart.

>>> import numpy as np
>>> from ftrl_cli.kernels import layout
>>> w, z, n = np.array([1.0, 2.0]), np.zeros(2), np.full(2, 0.1)
>>> hp = np.zeros(layout.N_HP); hp[layout.HP_POWER] = -0.5
>>> update(w, z, n, np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), True,
...        np.array([1.0, 6.0]), 0.5, 0.0, 0.0, False, hp, 0, 1)
>>> np.round(w, 4).tolist()
[0.2218, 1.3954]
"""

import math

import numpy as np

from ftrl_cli.kernels.ftrl import coordinate_update, ema_catch_up, ema_step_rule
from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.layout import (
    BASE_COLS,
    COL_AVG,
    COL_EST,
    HP_BETA,
    HP_EMA,
    HP_EMA_FREQ,
    HP_EMA_MOM,
    HP_L1,
    HP_L2,
    HP_POWER,
    HP_SHRINK,
    N_OPTIONAL,
    W,
)

# ``ema_catch_up`` works on a row of the CLI's state matrix: a one-row scratch matrix with the
# weight, the average and its iteration in the CLI's columns stands in for it.
_S_AVG = BASE_COLS
_S_EST = BASE_COLS + 1
_S_NCOL = BASE_COLS + 2


@njit(nogil=True, cache=True, error_model="numpy")
def _scratch():
    cols = np.full(N_OPTIONAL, -1, dtype=np.int64)
    cols[COL_AVG] = _S_AVG
    cols[COL_EST] = _S_EST
    return np.zeros((1, _S_NCOL)), cols


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _catch_up(scratch, cols, w, avg, est, t, accum, freq, momentum):
    scratch[0, W] = w
    scratch[0, _S_AVG] = avg
    scratch[0, _S_EST] = est
    ema_catch_up(scratch, 0, cols, t, accum, freq, momentum)
    return scratch[0, W], scratch[0, _S_AVG]


@njit(nogil=True, cache=True, error_model="numpy")
def window_dense(g, acc, mark, pending, ctr, use_scale, scale, steps, is_update):
    """Undo the loss scale of a full gradient, then accumulate it or close the window.

    On an accumulation micro-step the gradient is added to ``acc`` and every coordinate is
    marked pending; on the update micro-step ``g`` becomes ``(g + acc) / steps`` and the window
    is emptied.  ``steps < 2`` means no accumulation.
    """
    if use_scale:
        for i in range(g.shape[0]):
            g[i] = g[i] / scale
    if steps < 2:
        return
    if not is_update:
        npend = ctr[0]
        for j in range(g.shape[0]):
            acc[j] += g[j]
            if mark[j] == 0:
                mark[j] = 1
                pending[npend] = j
                npend += 1
        ctr[0] = npend
        return
    for j in range(g.shape[0]):
        g[j] = (g[j] + acc[j]) / steps
        acc[j] = 0.0
    for p in range(ctr[0]):
        mark[pending[p]] = 0
    ctr[0] = 0


@njit(nogil=True, cache=True, error_model="numpy")
def window_sparse(coords, g, acc, mark, pending, ctr, use_scale, scale, steps, is_update):
    """Sparse form of ``window_dense``: returns the ``(coords, g)`` to update now.

    Empty on an accumulation micro-step.  On the update micro-step the result also holds every
    coordinate active earlier in the window (gradient ``acc / steps``), as the dense sum would.
    """
    m = coords.shape[0]
    if use_scale:
        for i in range(m):
            g[i] = g[i] / scale
    if steps < 2:
        return coords, g
    npend = ctr[0]
    if not is_update:
        for i in range(m):
            j = coords[i]
            acc[j] += g[i]
            if mark[j] == 0:
                mark[j] = 1
                pending[npend] = j
                npend += 1
        ctr[0] = npend
        return coords[:0], g[:0]
    # Coordinates of this micro-step are marked 0 as they are merged, so a pending coordinate
    # still marked 1 afterwards was active only earlier in the window.
    extra = npend
    for i in range(m):
        if mark[coords[i]] != 0:
            extra -= 1
    out_c = np.empty(m + extra, dtype=np.int64)
    out_g = np.empty(m + extra, dtype=np.float64)
    for i in range(m):
        j = coords[i]
        out_c[i] = j
        out_g[i] = (g[i] + acc[j]) / steps
        acc[j] = 0.0
        mark[j] = 0
    k = m
    for p in range(npend):
        j = pending[p]
        if mark[j] != 0:
            out_c[k] = j
            out_g[k] = (0.0 + acc[j]) / steps
            acc[j] = 0.0
            mark[j] = 0
            k += 1
    ctr[0] = 0
    return out_c, out_g


@njit(nogil=True, cache=True, error_model="numpy")
def reset_window(acc, mark, pending, ctr):
    """Drop a variable's accumulated gradient (an update step that gave it none, as Keras)."""
    for p in range(ctr[0]):
        j = pending[p]
        acc[j] = 0.0
        mark[j] = 0
    ctr[0] = 0


@njit(nogil=True, cache=True, error_model="numpy")
def sum_squares(g):
    s = 0.0
    for i in range(g.shape[0]):
        s += g[i] * g[i]
    return s


@njit(nogil=True, cache=True, error_model="numpy")
def clip_by_norm(g, clipnorm):
    """Keras's per-variable ``clipnorm``: ``g * clipnorm / max(||g||, clipnorm)``."""
    l2sum = sum_squares(g)
    l2norm = math.sqrt(l2sum) if l2sum > 0.0 else l2sum
    den = max(l2norm, clipnorm)
    for i in range(g.shape[0]):
        g[i] = g[i] * clipnorm / den


@njit(nogil=True, cache=True, error_model="numpy")
def global_clip_factor(total_sq, clipnorm):
    """Keras's ``clip_by_global_norm`` factor; NaN when the norm is not finite."""
    use_norm = math.sqrt(total_sq)
    return clipnorm * min(1.0 / use_norm, 1.0 / clipnorm) + (use_norm - use_norm)


@njit(nogil=True, cache=True, error_model="numpy")
def scale_by(g, factor):
    for i in range(g.shape[0]):
        g[i] = g[i] * factor


@njit(nogil=True, cache=True, error_model="numpy")
def clip_by_value(g, value):
    for i in range(g.shape[0]):
        g[i] = min(max(g[i], -value), value)


@njit(nogil=True, cache=True, error_model="numpy")
def update(w, z, n, avg, est, coords, dense, g, lr, wd, wd_lr, use_wd, hp, t, ema_accum):
    """One optimizer iteration ``t`` (raw) on the coordinates of one variable.

    ``g[i]`` is the (clipped) gradient of coordinate ``coords[i]``, or of ``i`` when ``dense``.
    Per coordinate, in Keras's order: bring the moving average up to ``t``, weight decay
    (``w - w * wd * wd_lr``; Keras reads the learning rate anew for it), the FTRL update, the
    moving average of ``t`` with Keras's first-step rule, and the overwrite when ``t`` is an
    overwrite iteration.
    """
    l1 = hp[HP_L1]
    l2 = hp[HP_L2]
    shrink = hp[HP_SHRINK]
    beta = hp[HP_BETA]
    power = hp[HP_POWER]
    use_ema = hp[HP_EMA] != 0.0
    momentum = hp[HP_EMA_MOM]
    freq = int(hp[HP_EMA_FREQ])
    ema_m, overwrite = ema_step_rule(t, ema_accum, freq, momentum)
    scratch, cols = _scratch()
    m = w.shape[0] if dense else coords.shape[0]
    for i in range(m):
        j = i if dense else coords[i]
        wj = w[j]
        if use_ema:
            wj, a = _catch_up(scratch, cols, wj, avg[j], est[j], t, ema_accum, freq, momentum)
        if use_wd:
            wj = wj - wj * wd * wd_lr
        wj, zj, nj = coordinate_update(wj, z[j], n[j], g[i], lr, l1, l2, shrink, beta, power)
        if use_ema:
            a = ema_m * a + (1.0 - ema_m) * wj
            avg[j] = a
            if overwrite:
                wj = a
            est[j] = t + 1
        w[j] = wj
        z[j] = zj
        n[j] = nj


@njit(nogil=True, cache=True, error_model="numpy")
def catch_up(w, avg, est, t, ema_accum, freq, momentum):
    """Bring every coordinate's moving average (and overwritten weight) up to iteration ``t``."""
    scratch, cols = _scratch()
    for j in range(w.shape[0]):
        if est[j] < t:
            wj, a = _catch_up(scratch, cols, w[j], avg[j], est[j], t, ema_accum, freq, momentum)
            w[j] = wj
            avg[j] = a
            est[j] = t
