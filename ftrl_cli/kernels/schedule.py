"""Keras's built-in learning-rate schedules as one compiled function of the iteration.

A schedule is a kind code plus a float parameter vector (built by ``ftrl_cli.schedules``), so the
training loop can evaluate the learning rate at every step without calling back into Python.
"""

import math

from ftrl_cli.kernels.jit import njit

CONSTANT = 0
EXPONENTIAL = 1
INVERSE_TIME = 2
PIECEWISE_CONSTANT = 3
POLYNOMIAL = 4
COSINE = 5
COSINE_RESTARTS = 6


@njit(nogil=True, cache=True, error_model="numpy")
def _cosine(step, decay_steps, decay_from, alpha):
    fraction = step / decay_steps
    cosine_decayed = 0.5 * (1.0 + math.cos(math.pi * fraction))
    return decay_from * ((1.0 - alpha) * cosine_decayed + alpha)


@njit(nogil=True, cache=True, error_model="numpy")
def learning_rate_at(kind, p, step):
    """Learning rate at optimizer iteration ``step`` (Keras evaluates it at ``_iterations``)."""
    s = float(step)
    if kind == CONSTANT:
        return p[0]
    if kind == EXPONENTIAL or kind == INVERSE_TIME:
        ratio = s / p[1]
        if p[3] != 0.0:
            ratio = math.floor(ratio)
        if kind == EXPONENTIAL:
            return p[0] * p[2] ** ratio
        return p[0] / (1.0 + p[2] * ratio)
    if kind == PIECEWISE_CONSTANT:
        nb = int(p[0])
        for i in range(nb):
            if s <= p[1 + i]:
                return p[1 + nb + i]
        return p[1 + 2 * nb]
    if kind == POLYNOMIAL:
        decay_steps = p[1]
        if p[4] != 0.0:
            multiplier = 1.0 if s == 0.0 else math.ceil(s / p[1])
            decay_steps = decay_steps * multiplier
        else:
            s = min(s, decay_steps)
        frac = s / decay_steps
        return (p[0] - p[2]) * (1.0 - frac) ** p[3] + p[2]
    if kind == COSINE:
        if p[3] == 0.0:
            return _cosine(min(s, p[1]), p[1], p[0], p[2])
        warmup_steps = p[5]
        s = min(s, p[1] + warmup_steps)
        if s < warmup_steps:
            return (p[4] - p[0]) * (s / warmup_steps) + p[0]
        return _cosine(s - warmup_steps, p[1], p[4], p[2])
    # COSINE_RESTARTS
    t_mul = p[2]
    frac = s / p[1]
    if t_mul == 1.0:
        restart = math.floor(frac)
        frac = frac - restart
    else:
        restart = math.floor(math.log(1.0 - frac * (1.0 - t_mul)) / math.log(t_mul))
        done = (1.0 - t_mul**restart) / (1.0 - t_mul)
        frac = (frac - done) / t_mul**restart
    cosine_decayed = 0.5 * p[3] ** restart * (1.0 + math.cos(math.pi * frac))
    return p[0] * ((1.0 - p[4]) * cosine_decayed + p[4])
