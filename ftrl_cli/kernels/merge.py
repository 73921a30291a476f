"""The weight FTRL-Proximal keeps for a coordinate's merged ``linear`` and ``accumulator``
(``ftrl_cli.distributed.merge_rule``): Keras's closed form, as ``coordinate_update`` ends."""

import numpy as np

from ftrl_cli.kernels.jit import njit


@njit(nogil=True, cache=True, error_model="numpy")
def weights_from_slots(z, n, lr, l1, l2, beta, power, out):
    """``out[i]``: the weight of linear ``z[i]`` and accumulator ``n[i]`` at learning rate
    ``lr``: ``(clip(z, -l1, l1) - z) / (n ** -power / lr + 2 (l2 + beta / (2 lr)))``."""
    inv_lr = 1.0 / lr
    l2_reg = l2 + beta * (0.5 * inv_lr)
    for i in range(z.shape[0]):
        p = np.sqrt(n[i]) if power == -0.5 else n[i] ** (-power)
        quadratic = p * inv_lr + 2.0 * l2_reg
        zc = min(max(z[i], -l1), l1)
        out[i] = (zc - z[i]) / quadratic
