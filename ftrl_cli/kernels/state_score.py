"""Margins of records under the weights training holds at this moment, learning nothing.

Held-out records are scored this way in the middle of a pass: with exactly the weights the
next trained record would see, and without touching the model's state.
"""

from ftrl_cli.kernels.ftrl import ema_catch_up
from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.layout import (
    CTR_IT,
    HP_BIAS,
    HP_EMA,
    T,
    W,
)


@njit(nogil=True, cache=True, error_model="numpy")
def _current_weight(state, j, cols, it, accum, freq, momentum, lazy_overwrite, row):
    if not lazy_overwrite or state[j, T] == 0.0:
        return state[j, W]
    # An overwrite may be due on this idle weight: replay it on a copy, as training would
    # on the real row when it next touches it.
    row[0, :] = state[j, :]
    ema_catch_up(row, 0, cols, it, accum, freq, momentum)
    return row[0, W]


@njit(nogil=True, cache=True, error_model="numpy")
def state_margins(indptr, indices, values, base, state, ctr, hp, cols, accum, freq, momentum,
                  row, out):
    """``out[r]``: row r's margin ``base + w.x + bias`` under the training weights.

    ``indptr`` may start past 0 (a slice of a larger CSR matrix); ``base`` is empty when no
    record has one; ``accum``, ``freq``, ``momentum`` are the moving average's settings (see
    ``ema_catch_up``); ``row`` is scratch space of one state row, shape ``(1, columns)``.
    """
    bias_row = state.shape[0] - 1
    use_bias = hp[HP_BIAS] != 0.0
    lazy_overwrite = hp[HP_EMA] != 0.0 and freq > 0
    it = ctr[CTR_IT]
    has_base = base.shape[0] != 0
    for r in range(indptr.shape[0] - 1):
        m = 0.0
        if use_bias:
            m = _current_weight(state, bias_row, cols, it, accum, freq, momentum,
                                lazy_overwrite, row)
        for k in range(indptr[r], indptr[r + 1]):
            m += _current_weight(state, indices[k], cols, it, accum, freq, momentum,
                                 lazy_overwrite, row) * values[k]
        if has_base:
            m += base[r]
        out[r] = m
