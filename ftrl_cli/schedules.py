"""Keras learning-rate schedules: parse their serialized JSON, validate, evaluate.

A schedule written by ``keras.optimizers.schedules.serialize`` (or its bare ``{"class_name",
"config"}`` form) becomes a :class:`Schedule`: a kind code and a parameter vector that the
compiled training loop evaluates at each iteration.

>>> s = parse_schedule({"class_name": "ExponentialDecay", "config": {
...     "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}})
>>> round(s(20), 6)
0.025
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ftrl_cli.errors import FtrlError
from ftrl_cli.kernels import schedule as k

MODULE = "keras.optimizers.schedules"

# class name -> (kind, {argument: default}); None marks a required argument.
_SPECS: dict[str, tuple[int, dict[str, Any]]] = {
    "ExponentialDecay": (
        k.EXPONENTIAL,
        {"initial_learning_rate": None, "decay_steps": None, "decay_rate": None,
         "staircase": False, "name": "ExponentialDecay"},
    ),
    "InverseTimeDecay": (
        k.INVERSE_TIME,
        {"initial_learning_rate": None, "decay_steps": None, "decay_rate": None,
         "staircase": False, "name": "InverseTimeDecay"},
    ),
    "PiecewiseConstantDecay": (
        k.PIECEWISE_CONSTANT,
        {"boundaries": None, "values": None, "name": "PiecewiseConstant"},
    ),
    "PolynomialDecay": (
        k.POLYNOMIAL,
        {"initial_learning_rate": None, "decay_steps": None, "end_learning_rate": 0.0001,
         "power": 1.0, "cycle": False, "name": "PolynomialDecay"},
    ),
    "CosineDecay": (
        k.COSINE,
        {"initial_learning_rate": None, "decay_steps": None, "alpha": 0.0,
         "name": "CosineDecay", "warmup_target": None, "warmup_steps": 0},
    ),
    "CosineDecayRestarts": (
        k.COSINE_RESTARTS,
        {"initial_learning_rate": None, "first_decay_steps": None, "t_mul": 2.0,
         "m_mul": 1.0, "alpha": 0.0, "name": "SGDRDecay"},
    ),
}


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: ``kind`` and ``params`` for the kernel, ``config`` for Keras."""

    class_name: str
    config: dict
    kind: int
    params: np.ndarray = field(repr=False, compare=False)

    def __call__(self, step: int) -> float:
        return float(k.learning_rate_at(self.kind, self.params, int(step)))

    def serialize(self) -> dict:
        """The dict ``keras.optimizers.schedules.serialize`` writes for this schedule."""
        return {"module": MODULE, "class_name": self.class_name, "config": dict(self.config),
                "registered_name": None}


def constant(lr: float) -> tuple[int, np.ndarray]:
    """Kernel form of a fixed learning rate."""
    return k.CONSTANT, np.array([float(lr)])


def parse_schedule(obj: Mapping[str, Any]) -> Schedule:
    """Build a :class:`Schedule` from Keras's serialized form; one-line error if invalid."""
    name = obj.get("class_name")
    if name not in _SPECS:
        known = ", ".join(sorted(_SPECS))
        raise FtrlError(f"learning_rate: unknown schedule {name!r} (known: {known})")
    kind, defaults = _SPECS[name]
    given = dict(obj.get("config") or {})
    unknown = set(given) - set(defaults)
    if unknown:
        raise FtrlError(f"learning_rate: {name} does not take {sorted(unknown)}")
    cfg = {}
    for key, default in defaults.items():
        if key in given:
            cfg[key] = given[key]
        elif default is None and key != "warmup_target":
            raise FtrlError(f"learning_rate: {name} needs `{key}`")
        else:
            cfg[key] = default
    return Schedule(name, cfg, kind, _params(name, cfg))


def _positive_steps(name: str, cfg: dict, key: str) -> float:
    value = cfg[key]
    if not isinstance(value, (int, float)) or value <= 0:
        raise FtrlError(f"learning_rate: {name}: Argument `{key}` must be > 0. "
                        f"Received: {key}={value}")
    return float(value)


def _num(name: str, cfg: dict, key: str) -> float:
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FtrlError(f"learning_rate: {name}: `{key}` must be a finite number, got {value!r}")
    return float(value)


def _params(name: str, cfg: dict) -> np.ndarray:
    if name in ("ExponentialDecay", "InverseTimeDecay"):
        steps = _positive_steps(name, cfg, "decay_steps")
        return np.array([_num(name, cfg, "initial_learning_rate"), steps,
                         _num(name, cfg, "decay_rate"), float(bool(cfg["staircase"]))])
    if name == "PiecewiseConstantDecay":
        bounds, values = list(cfg["boundaries"]), list(cfg["values"])
        if len(bounds) != len(values) - 1:
            raise FtrlError(
                "learning_rate: PiecewiseConstantDecay: The length of boundaries should be 1 "
                f"less than the length of values. Received: boundaries={bounds} of length "
                f"{len(bounds)}, and values={values} of length {len(values)}.")
        # Keras casts the boundaries to the (integer) step's type before comparing.
        ints = [float(int(b)) for b in bounds]
        return np.array([float(len(bounds)), *ints, *(float(v) for v in values)])
    if name == "PolynomialDecay":
        steps = _positive_steps(name, cfg, "decay_steps")
        return np.array([_num(name, cfg, "initial_learning_rate"), steps,
                         _num(name, cfg, "end_learning_rate"), _num(name, cfg, "power"),
                         float(bool(cfg["cycle"]))])
    if name == "CosineDecay":
        steps = _positive_steps(name, cfg, "decay_steps")
        warm = cfg["warmup_target"]
        return np.array([_num(name, cfg, "initial_learning_rate"), steps,
                         _num(name, cfg, "alpha"), 0.0 if warm is None else 1.0,
                         0.0 if warm is None else float(warm), float(cfg["warmup_steps"])])
    steps = _positive_steps(name, cfg, "first_decay_steps")
    return np.array([_num(name, cfg, "initial_learning_rate"), steps, _num(name, cfg, "t_mul"),
                     _num(name, cfg, "m_mul"), _num(name, cfg, "alpha")])
