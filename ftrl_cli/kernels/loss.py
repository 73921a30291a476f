"""A record's prediction from its margin, and its loss's gradient there, for each loss.

The training kernels read the loss code once (``hp[HP_LOSS]``) and pass ``squared`` here; the
branch is per record, on a value constant through the loop, so the logistic path computes
exactly what it computed before there was a choice.
"""

import math

from ftrl_cli.kernels.jit import njit


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def sigmoid(m):
    if m >= 0.0:
        return 1.0 / (1.0 + math.exp(-m))
    e = math.exp(m)
    return e / (1.0 + e)


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def prediction(margin, squared):
    """The model's output: the margin itself (``Dense(1)``) or its sigmoid."""
    return margin if squared else sigmoid(margin)


@njit(nogil=True, cache=True, error_model="numpy", inline="always")
def margin_gradient(p, label, weight, squared):
    """``weight * d loss / d margin`` at prediction ``p``, before the batch mean.

    Binary cross-entropy through the sigmoid gives ``p - y``; Keras's squared error
    ``(y - p) ** 2`` gives ``2 (p - y)``.  Keras divides the weighted sum by the batch size
    (``sum_over_batch_size``), which the step does for both.
    """
    if squared:
        return 2.0 * weight * (p - label)
    return weight * (p - label)
