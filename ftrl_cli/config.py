"""The optimizer's arguments: Keras's names, defaults, validation and JSON form.

>>> cfg = OptimizerConfig(learning_rate=0.05, l1_regularization_strength=1.0)
>>> cfg.keras_config()["l1_regularization_strength"]
1.0
>>> OptimizerConfig(learning_rate_power=0.5).validate()  # doctest: +ELLIPSIS
Traceback (most recent call last):
ftrl_cli.errors.FtrlError: --learning-rate-power: `learning_rate_power` needs to be ...
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from ftrl_cli.errors import FtrlError
from ftrl_cli.kernels import layout as L
from ftrl_cli.schedules import Schedule, constant, parse_schedule

LearningRate = float | Schedule | Callable[[], float]


@dataclass(frozen=True)
class OptimizerConfig:
    """Every argument of ``keras.optimizers.Ftrl``, with Keras's defaults."""

    learning_rate: LearningRate = 0.001
    learning_rate_power: float = -0.5
    initial_accumulator_value: float = 0.1
    l1_regularization_strength: float = 0.0
    l2_regularization_strength: float = 0.0
    l2_shrinkage_regularization_strength: float = 0.0
    beta: float = 0.0
    weight_decay: float | None = None
    clipnorm: float | None = None
    clipvalue: float | None = None
    global_clipnorm: float | None = None
    use_ema: bool = False
    ema_momentum: float = 0.99
    ema_overwrite_frequency: int | None = None
    loss_scale_factor: float | None = None
    gradient_accumulation_steps: int | None = None
    name: str = "ftrl"

    # ---- validation, in Keras's order and with Keras's words, naming the CLI option ----
    def validate(self) -> OptimizerConfig:
        """Raise :class:`FtrlError` for every value Keras rejects; return self."""
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("learning_rate", "name", "use_ema") or v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                _fail(f.name, f"`{f.name}` must be a finite number. Received: {f.name}={v!r}")
        steps = self.gradient_accumulation_steps
        if steps:
            if not (isinstance(steps, int) and steps >= 2):
                _fail("gradient_accumulation_steps", "`gradient_accumulation_steps` must be an "
                      f"integer >= 2. Received: gradient_accumulation_steps={steps}")
        if self.use_ema:
            if self.ema_momentum > 1 or self.ema_momentum < 0:
                _fail("ema_momentum", "`ema_momentum` must be in the range [0, 1]. "
                      f"Received: ema_momentum={self.ema_momentum}")
            freq = self.ema_overwrite_frequency
            if freq and (not isinstance(freq, int) or freq < 1):
                _fail("ema_overwrite_frequency", "`ema_overwrite_frequency` must be an integer "
                      f">= 1 or None. Received: ema_overwrite_frequency={freq}")
        clips = [self.clipnorm, self.clipvalue, self.global_clipnorm]
        if sum(c is not None for c in clips) > 1:
            _fail("clipnorm", "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                  f"set. Received: clipnorm={self.clipnorm}, clipvalue={self.clipvalue}, "
                  f"global_clipnorm={self.global_clipnorm}")
        lr = self.learning_rate
        if not (isinstance(lr, Schedule) or callable(lr)):
            # Keras takes a float only (an int is refused too).
            if not isinstance(lr, float) or not math.isfinite(lr):
                _fail("learning_rate", "Argument `learning_rate` should be float, or an instance "
                      "of LearningRateSchedule, or a callable. Received instead: "
                      f"learning_rate={lr!r}")
        for arg, sign in (("initial_accumulator_value", "positive or zero"),
                          ("learning_rate_power", "negative or zero"),
                          ("l1_regularization_strength", "positive or zero"),
                          ("l2_regularization_strength", "positive or zero"),
                          ("l2_shrinkage_regularization_strength", "positive or zero")):
            v = getattr(self, arg)
            if (v > 0.0) if sign == "negative or zero" else (v < 0.0):
                _fail(arg, f"`{arg}` needs to be {sign}. Received: {arg}={v}.")
        return self

    def validate_training(self) -> OptimizerConfig:
        """`validate`, and refuse a learning rate of 0, for which the update is undefined.

        Keras accepts 0 and then divides by it (``beta / (2 * lr)``, ``sqrt(n) / lr``): every
        weight becomes NaN.  A schedule that reaches 0 is stopped by the training guard.

        >>> OptimizerConfig(learning_rate=0.0).validate_training()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ftrl_cli.errors.FtrlError: --learning-rate: `learning_rate` must not be 0: the FTRL ...
        """
        self.validate()
        lr = self.learning_rate
        if isinstance(lr, float) and lr == 0.0:
            _fail("learning_rate", "`learning_rate` must not be 0: the FTRL update divides by "
                  f"it. Received: learning_rate={lr!r}")
        return self

    # ---- Keras JSON ----
    def keras_config(self) -> dict:
        """Exactly what ``keras.optimizers.Ftrl(...).get_config()`` returns."""
        lr = self.learning_rate
        if isinstance(lr, Schedule):
            lr = lr.serialize()
        elif callable(lr):
            raise FtrlError("learning_rate: a Python callable cannot be written as JSON")
        return {
            "name": self.name,
            "learning_rate": float(lr) if not isinstance(lr, dict) else lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }

    @classmethod
    def from_keras(cls, obj: Mapping[str, Any]) -> OptimizerConfig:
        """Read ``get_config()`` or ``keras.optimizers.serialize(...)`` output (a dict)."""
        if "config" in obj and "class_name" in obj:
            if obj["class_name"] not in ("Ftrl", "keras.optimizers.Ftrl"):
                raise FtrlError(f"optimizer config: expected an Ftrl optimizer, "
                                f"got {obj['class_name']!r}")
            obj = obj["config"]
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known - {"decay"})
        if unknown:
            raise FtrlError(f"optimizer config: Argument(s) not recognized: {unknown}")
        values = {key: obj[key] for key in known if key in obj}
        if isinstance(values.get("learning_rate"), Mapping):
            values["learning_rate"] = parse_schedule(values["learning_rate"])
        return cls(**values)

    @classmethod
    def from_json_file(cls, path: str) -> OptimizerConfig:
        """Load a Keras optimizer JSON file; a one-line error if it is not one."""
        try:
            with open(path, encoding="utf-8") as fh:
                obj = json.load(fh)
        except OSError as e:
            raise FtrlError(f"{path}: cannot read optimizer config: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise FtrlError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None
        if not isinstance(obj, dict):
            raise FtrlError(f"{path}: optimizer config must be a JSON object")
        try:
            return cls.from_keras(obj)
        except TypeError as e:
            raise FtrlError(f"{path}: {e}") from None

    def override(self, **changes: Any) -> OptimizerConfig:
        """A copy with the given arguments replaced (``None`` values are kept as given)."""
        return replace(self, **changes)

    # ---- kernel form ----
    def learning_rate_kernel(self, step: int = 0) -> tuple[int, np.ndarray]:
        """``(kind, params)`` for the compiled schedule evaluator."""
        lr = self.learning_rate
        if isinstance(lr, Schedule):
            return lr.kind, lr.params
        if callable(lr):
            return constant(float(lr()))
        return constant(float(lr))

    def hyper_parameters(self, use_bias: bool, loss: int = L.LOSS_LOGISTIC) -> np.ndarray:
        """The ``hp`` vector the kernels read (see ``kernels.layout``); ``loss`` is a code.

        >>> float(OptimizerConfig().hyper_parameters(True, L.LOSS_SQUARED)[L.HP_LOSS])
        1.0
        """
        hp = np.zeros(L.N_HP)
        hp[L.HP_L1] = self.l1_regularization_strength
        hp[L.HP_L2] = self.l2_regularization_strength
        hp[L.HP_SHRINK] = self.l2_shrinkage_regularization_strength
        hp[L.HP_BETA] = self.beta
        hp[L.HP_POWER] = self.learning_rate_power
        hp[L.HP_WD] = self.weight_decay or 0.0
        hp[L.HP_CLIPNORM] = self.clipnorm or 0.0
        hp[L.HP_CLIPVALUE] = self.clipvalue or 0.0
        hp[L.HP_GCLIPNORM] = self.global_clipnorm or 0.0
        hp[L.HP_EMA] = 1.0 if self.use_ema else 0.0
        hp[L.HP_EMA_MOM] = self.ema_momentum
        hp[L.HP_EMA_FREQ] = (self.ema_overwrite_frequency or 0) if self.use_ema else 0
        hp[L.HP_LSCALE] = self.loss_scale_factor or 0.0
        hp[L.HP_ACCUM] = self.gradient_accumulation_steps or 0
        hp[L.HP_BIAS] = 1.0 if use_bias else 0.0
        hp[L.HP_INIT_ACC] = self.initial_accumulator_value
        hp[L.HP_LOSS] = loss
        return hp


# Keras argument -> the CLI option that sets it (for error messages).
OPTION_NAMES = {
    "learning_rate": "--learning-rate",
    "learning_rate_power": "--learning-rate-power",
    "initial_accumulator_value": "--initial-accumulator-value",
    "l1_regularization_strength": "--l1-regularization-strength",
    "l2_regularization_strength": "--l2-regularization-strength",
    "l2_shrinkage_regularization_strength": "--l2-shrinkage-regularization-strength",
    "beta": "--beta",
    "weight_decay": "--weight-decay",
    "clipnorm": "--clipnorm",
    "clipvalue": "--clipvalue",
    "global_clipnorm": "--global-clipnorm",
    "use_ema": "--use-ema",
    "ema_momentum": "--ema-momentum",
    "ema_overwrite_frequency": "--ema-overwrite-frequency",
    "loss_scale_factor": "--loss-scale-factor",
    "gradient_accumulation_steps": "--gradient-accumulation-steps",
    "name": "--name",
}


def _fail(arg: str, message: str) -> None:
    raise FtrlError(f"{OPTION_NAMES[arg]}: {message}")
