"""``Ftrl``'s arguments: Keras's names and checks, and the learning rate's accepted forms.

``optimizer_config`` turns ``keras.optimizers.Ftrl``'s keyword arguments into a validated
:class:`~ftrl_cli.config.OptimizerConfig`, raising ``ValueError`` with Keras's messages.  A
learning rate given as a Keras built-in schedule (object or serialized dict) becomes a compiled
:class:`~ftrl_cli.schedules.Schedule`; any other callable is kept as given.

>>> cfg = optimizer_config(learning_rate={"class_name": "ExponentialDecay", "config": {
...     "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}})
>>> round(cfg.learning_rate(20), 6)
0.025
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from ftrl_cli.config import OptimizerConfig
from ftrl_cli.errors import FtrlError
from ftrl_cli.schedules import parse_schedule

__all__ = ["FIELDS", "is_keras_schedule", "normalize_learning_rate", "optimizer_config"]

# Keras's ``Ftrl`` argument names, in ``OptimizerConfig``'s order.
FIELDS = tuple(f.name for f in fields(OptimizerConfig))
_KERAS_SCHEDULES = "keras.src.optimizers.schedules"


def is_keras_schedule(obj: Any) -> bool:
    """Whether ``obj`` is a ``keras.optimizers.schedules.LearningRateSchedule`` instance.

    Such a learning rate is called with the raw iteration, any other callable with no
    argument.  (Looks at the class hierarchy: importing Keras just to ask would be heavy.)

    >>> is_keras_schedule(lambda: 0.1)
    False
    """
    return any(c.__name__ == "LearningRateSchedule" and c.__module__.startswith("keras")
               for c in type(obj).__mro__)


def normalize_learning_rate(lr: Any) -> Any:
    """Keras's built-in schedules (objects or their dicts) become compiled ``Schedule``s.

    Anything else (a number, another callable) is returned unchanged; a dict that is not a
    valid built-in schedule raises ``ValueError``.

    >>> normalize_learning_rate(0.5)
    0.5
    >>> s = normalize_learning_rate({"class_name": "InverseTimeDecay", "config": {
    ...     "initial_learning_rate": 1.0, "decay_steps": 1, "decay_rate": 1.0}})
    >>> s(3)
    0.25
    """
    if isinstance(lr, Mapping):
        try:
            return parse_schedule(lr)
        except FtrlError as e:
            raise ValueError(str(e)) from None
    if is_keras_schedule(lr) and type(lr).__module__.startswith(_KERAS_SCHEDULES):
        from keras.optimizers import schedules

        try:
            return parse_schedule(schedules.serialize(lr))
        except FtrlError:
            pass  # not expressible as a compiled schedule: Keras's object is called instead
    return lr


def optimizer_config(**kwargs: Any) -> OptimizerConfig:
    """Keras's ``Ftrl`` arguments as a validated :class:`OptimizerConfig`.

    Invalid values raise ``ValueError`` with Keras's message.

    >>> optimizer_config(learning_rate=0.1, beta=1.0).beta
    1.0
    >>> optimizer_config(l1_regularization_strength=-1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: `l1_regularization_strength` needs to be positive or zero. Received: ...=-1.0.
    """
    if kwargs.pop("decay", None) is not None:
        warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                      stacklevel=3)
    unknown = {k: v for k, v in kwargs.items() if k not in FIELDS}
    if unknown:
        raise ValueError(f"Argument(s) not recognized: {unknown}")
    if "name" in kwargs and kwargs["name"] is None:
        kwargs["name"] = "ftrl"
    given_lr = kwargs.get("learning_rate", 0.001)
    kwargs["learning_rate"] = normalize_learning_rate(given_lr)
    config = OptimizerConfig(**kwargs)
    try:
        return config.validate()
    except FtrlError as e:
        option, _, message = str(e).partition(": ")
        if option == "--learning-rate":
            message = (
                "Argument `learning_rate` should be float, or an instance of "
                "LearningRateSchedule, or a callable (that takes in the current iteration value "
                "and returns the corresponding learning rate value). Received instead: "
                f"learning_rate={given_lr}")
        raise ValueError(message) from None
