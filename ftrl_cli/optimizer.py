"""``Ftrl``: Keras 3's ``keras.optimizers.Ftrl`` on NumPy arrays, dense or sparse.

``apply`` is Keras's ``optimizer.apply`` (every coordinate of every variable at every step);
``apply_sparse`` is the CLI's lazy step (only the coordinates given are updated).  Both run the
compiled kernels of ``ftrl_cli.kernels.dense``, which reuse the CLI's per-coordinate update.

>>> import numpy as np
>>> opt = Ftrl(learning_rate=0.5)
>>> w = np.array([1.0, 2.0, 3.0, 4.0])
>>> opt.apply([np.array([1.0, 6.0, 7.0, 2.0])], [w])
>>> np.round(w, 4).tolist(), opt.iterations
([0.2218, 1.3954, 2.3651, 2.8814], 1)
>>> opt.get_config()["learning_rate"]
0.5
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ftrl_cli.errors import FtrlError
from ftrl_cli.kernels import dense as K
from ftrl_cli.optimizer_args import (
    FIELDS,
    is_keras_schedule,
    normalize_learning_rate,
    optimizer_config,
)
from ftrl_cli.optimizer_slots import Slots, dense_gradient, sparse_gradient
from ftrl_cli.schedules import Schedule, parse_schedule

__all__ = ["Ftrl", "is_keras_schedule", "optimizer_config"]

_EMPTY_INT = np.empty(0, dtype=np.int64)


class Ftrl:
    """Keras 3's FTRL-Proximal optimizer over NumPy arrays (updated in place).

    Takes exactly ``keras.optimizers.Ftrl``'s arguments and defaults.  ``learning_rate`` is a
    float, a Keras schedule (object or serialized dict), a :class:`~ftrl_cli.schedules.Schedule`,
    or a callable: Keras schedules are called with the iteration, other callables with no
    argument.  Variables must be writeable C-contiguous float arrays; slots take their dtype,
    the arithmetic is float64.

    >>> import numpy as np
    >>> opt = Ftrl(learning_rate=0.1, l1_regularization_strength=0.01)
    >>> kernel, bias = np.zeros(3), np.zeros(1)
    >>> opt.apply_sparse([(np.array([2]), np.array([0.5])), np.array([0.5])], [kernel, bias])
    >>> np.round(kernel, 4).tolist(), opt.accumulators[0].tolist(), opt.iterations
    ([0.0, 0.0, -0.0828], [0.1, 0.1, 0.35], 1)
    """

    def __init__(self, learning_rate: Any = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0,
                 l2_shrinkage_regularization_strength: float = 0.0, beta: float = 0.0,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str = "ftrl",
                 **kwargs: Any) -> None:
        args = {k: v for k, v in locals().items() if k in FIELDS}
        self._config = optimizer_config(**args, **kwargs)
        self._steps = int(self._config.gradient_accumulation_steps or 0)
        self._hp = self._config.hyper_parameters(use_bias=True)
        self._iterations = 0
        self._slots: list[Slots] = []
        self._index: dict[int, int] = {}
        self.built = False

    # ---- Keras's attributes ----
    def __getattr__(self, attr: str) -> Any:
        if attr in FIELDS and attr != "learning_rate" and "_config" in self.__dict__:
            return getattr(self._config, attr)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in FIELDS and attr != "learning_rate":
            # Read from the validated config: a silently ignored assignment would mislead.
            raise AttributeError(f"`{attr}` is fixed at construction; make a new optimizer, "
                                 "e.g. Ftrl.from_config({**opt.get_config(), ...})")
        super().__setattr__(attr, value)

    def __repr__(self) -> str:
        return f"Ftrl(name={self.name!r}, learning_rate={self._config.learning_rate!r})"

    @property
    def iterations(self) -> int:
        """Keras's ``iterations``: update steps (micro-steps // accumulation steps)."""
        return self._iterations // self._steps if self._steps else self._iterations

    @property
    def learning_rate(self) -> float:
        """The learning rate at the current (raw) iteration."""
        lr = self._config.learning_rate
        if isinstance(lr, Schedule):
            return lr(self._iterations)
        if is_keras_schedule(lr):
            return float(np.asarray(lr(self._iterations)))
        if callable(lr):
            return float(np.asarray(lr()))
        return float(lr)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        value = normalize_learning_rate(value)
        if not (isinstance(value, Schedule) or callable(value)):
            if isinstance(self._config.learning_rate, Schedule) or is_keras_schedule(
                    self._config.learning_rate):
                raise TypeError(
                    "This optimizer was created with a `LearningRateSchedule` object as its "
                    "`learning_rate` constructor argument, hence its learning rate is not "
                    "settable. If you need the learning rate to be settable, you should "
                    "instantiate the optimizer with a float `learning_rate` argument.")
            value = float(value)
        self._config = self._config.override(learning_rate=value)

    @property
    def accumulators(self) -> list[np.ndarray]:
        """Keras's ``accumulator`` slots (views, shaped like the variables)."""
        return [s.view(s.n) for s in self._slots]

    @property
    def linears(self) -> list[np.ndarray]:
        """Keras's ``linear`` slots (views, shaped like the variables)."""
        return [s.view(s.z) for s in self._slots]

    @property
    def average(self) -> list[np.ndarray]:
        """The moving averages (``use_ema``), brought up to date; empty without EMA."""
        if not self.use_ema:
            return []
        self.sync()
        return [s.view(s.avg) for s in self._slots]

    @property
    def gradient_accumulators(self) -> list[np.ndarray]:
        """Gradients summed over the current accumulation window; empty without accumulation."""
        return [s.view(s.acc) for s in self._slots] if self._steps else []

    @property
    def variables(self) -> list[np.ndarray]:
        """Every optimizer variable, in the order of Keras's ``optimizer.variables``."""
        out = [np.array(self._iterations, dtype=np.int64)]
        lr = self._config.learning_rate
        if not (isinstance(lr, Schedule) or callable(lr)):
            out.append(np.array(float(lr)))
        out += self.average
        out += self.gradient_accumulators
        for s in self._slots:
            out += [s.view(s.n), s.view(s.z)]
        return out

    def scale_loss(self, loss: Any) -> Any:
        """Multiply a loss by ``loss_scale_factor`` (if set), as Keras does."""
        factor = self._config.loss_scale_factor
        return loss * factor if factor is not None else loss

    # ---- building ----
    def build(self, variables: Sequence[np.ndarray]) -> None:
        """Create the slots of ``variables`` (done by the first ``apply``)."""
        if self.built:
            return
        for i, var in enumerate(variables):
            if not (isinstance(var, np.ndarray) and np.issubdtype(var.dtype, np.floating)
                    and var.flags.c_contiguous and var.flags.writeable):
                raise TypeError(f"variable {i}: expected a writeable C-contiguous float NumPy "
                                f"array, got {type(var).__name__}")
            self._index[id(var)] = i
            self._slots.append(Slots(var, self._config))
        self.built = True

    def _resolve(self, n_grads: int, variables: Iterable[np.ndarray] | None) -> list[int]:
        if variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be "
                    "built on a list of variables. Call `optimizer.build(trainable_variables)` "
                    "first. ")
            if n_grads != len(self._slots):
                raise ValueError(
                    "When passing `grads` as a list of gradient tensors, the gradients must "
                    f"match `optimizer.variables` one-to-on. Received a list of {n_grads} "
                    f"gradients, but the optimizer is tracking {len(self._slots)} trainable "
                    "variables.")
            return list(range(n_grads))
        variables = list(variables)
        self.build(variables)
        if len(variables) != n_grads:
            raise ValueError(f"{n_grads} gradients for {len(variables)} variables")
        out = []
        for v in variables:
            if id(v) not in self._index:
                raise ValueError(
                    f"Unknown variable: {v}. This optimizer can only be called for the "
                    "variables it was originally built with. When working with a new set of "
                    "variables, you should recreate a new optimizer instance.")
            out.append(self._index[id(v)])
        return out

    # ---- stepping ----
    def apply(self, grads: Sequence[Any], variables: Iterable[np.ndarray] | None = None) -> None:
        """One Keras optimizer step: ``grads[i]`` (dense, or ``None``) for ``variables[i]``.

        Exactly ``keras.optimizers.Ftrl.apply``: loss-scale undo, gradient accumulation,
        clipping, weight decay, FTRL update of every coordinate, moving average.
        """
        self._apply(grads, variables, sparse=False)

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, np.ndarray]]) -> int:
        """``apply`` on ``(gradient, variable)`` pairs; returns the raw iteration count."""
        grads, variables = zip(*grads_and_vars, strict=True)
        self.apply(list(grads), list(variables))
        return self._iterations

    def apply_sparse(self, grads: Sequence[Any],
                     variables: Iterable[np.ndarray] | None = None) -> None:
        """One lazy step: only the coordinates with a gradient are updated (the CLI's path).

        ``grads[i]`` is ``None``, a dense array (all of the variable active), or
        a tuple ``(indices, values)`` (or an object with ``.indices`` and ``.values``, like
        Keras's ``IndexedSlices``): ``indices`` select entries of the
        variable's first axis, ``values`` has shape ``(len(indices),) + shape[1:]``, repeated
        indices add up.  The active coordinates are updated as ``apply`` would update them;
        every other coordinate keeps weight, linear and accumulator (no shrinkage, weight
        decay or schedule-driven change).  Clipping norms are those of the active gradients.
        With gradient accumulation, the update step updates each coordinate active anywhere in
        the window with its gradient sum / steps.  Moving averages of idle coordinates are
        advanced in closed form when needed (``sync``); overwrite iterations overwrite every
        weight, as Keras does.
        """
        self._apply(grads, variables, sparse=True)

    def _apply(self, grads: Sequence[Any], variables: Iterable[np.ndarray] | None,
               sparse: bool) -> None:
        grads = list(grads)
        if not grads:
            return
        order = self._resolve(len(grads), variables)
        missing = [i for i, g in zip(order, grads, strict=True) if g is None]
        if len(missing) == len(grads):
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} (by position) when "
                          "minimizing the loss.", stacklevel=3)
        items = []
        for i, g in zip(order, grads, strict=True):
            if g is None:
                continue
            slot = self._slots[i]
            if sparse and (isinstance(g, tuple) or hasattr(g, "indices")):
                items.append((i, *sparse_gradient(g, slot.var)))
            else:
                items.append((i, None, dense_gradient(g, slot.var)))
        self._step(items)

    def _step(self, items: list[tuple[int, np.ndarray | None, np.ndarray]]) -> None:
        t, steps, cfg = self._iterations, self._steps, self._config
        is_update = steps < 2 or (t + 1) % steps == 0
        use_scale = cfg.loss_scale_factor is not None
        scale = float(cfg.loss_scale_factor) if use_scale else 1.0
        work = []
        for i, coords, g in items:
            s = self._slots[i]
            args = (s.acc, s.mark, s.pending, s.ctr, use_scale, scale, steps, is_update)
            if coords is None:
                K.window_dense(g, *args)
            else:
                coords, g = K.window_sparse(coords, g, *args)
            work.append((s, coords, g))
        if steps >= 2 and is_update:
            # Keras empties every accumulator at the update step, given a gradient or not.
            given = {i for i, _, _ in items}
            for i, s in enumerate(self._slots):
                if i not in given:
                    K.reset_window(s.acc, s.mark, s.pending, s.ctr)
        if is_update:
            self._clip([g for _, _, g in work])
            use_wd = cfg.weight_decay is not None
            # Keras reads the learning rate for each variable's decay, then for the update.
            wd_lrs = [self.learning_rate if use_wd else 0.0 for _ in work]
            lr = self.learning_rate
            wd = float(cfg.weight_decay) if use_wd else 0.0
            for (s, coords, g), wd_lr in zip(work, wd_lrs, strict=True):
                K.update(s.flat, s.z, s.n, s.avg, s.est,
                         _EMPTY_INT if coords is None else coords, coords is None, g,
                         lr, wd, wd_lr, use_wd, self._hp, t, max(steps, 1))
        if cfg.use_ema and cfg.ema_overwrite_frequency:
            if (t // max(steps, 1) + 1) % cfg.ema_overwrite_frequency == 0:
                # Every weight becomes its average now: bring the idle ones along.
                self._catch_up(t + 1)
        self._iterations = t + 1

    def _clip(self, grads: list[np.ndarray]) -> None:
        cfg = self._config
        if cfg.clipnorm and cfg.clipnorm > 0:
            for g in grads:
                K.clip_by_norm(g, float(cfg.clipnorm))
        elif cfg.global_clipnorm and cfg.global_clipnorm > 0:
            total = 0.0
            for g in grads:
                total += K.sum_squares(g)
            factor = K.global_clip_factor(total, float(cfg.global_clipnorm))
            for g in grads:
                K.scale_by(g, factor)
        elif cfg.clipvalue and cfg.clipvalue > 0:
            for g in grads:
                K.clip_by_value(g, float(cfg.clipvalue))

    # ---- moving average ----
    def _catch_up(self, t: int) -> None:
        cfg = self._config
        for s in self._slots:
            K.catch_up(s.flat, s.avg, s.est, t, max(self._steps, 1),
                       int(cfg.ema_overwrite_frequency or 0), float(cfg.ema_momentum))

    def sync(self) -> None:
        """Bring every lazily kept moving average up to the current iteration."""
        if self.use_ema:
            self._catch_up(self._iterations)

    def finalize_variable_values(self, var_list: Sequence[np.ndarray]) -> None:
        """With ``use_ema``, overwrite the variables with their moving averages (as Keras)."""
        if not self.use_ema:
            return
        averages = self.average
        if len(var_list) != len(averages):
            raise ValueError(
                f"The length of model variables ({len(var_list)}) to override does not match "
                "the length of model variables stored in the optimizer "
                f"({len(averages)}). Please check if the optimizer was called on your model.")
        for var, avg in zip(var_list, averages, strict=True):
            var[...] = avg

    # ---- Keras config ----
    def get_config(self) -> dict:
        """Exactly what ``keras.optimizers.Ftrl(...).get_config()`` returns."""
        lr = self._config.learning_rate
        config = self._config.override(learning_rate=0.0).keras_config()
        if isinstance(lr, Schedule):
            config["learning_rate"] = lr.serialize()
        elif is_keras_schedule(lr):
            from keras.optimizers import schedules

            config["learning_rate"] = schedules.serialize(lr)
        elif callable(lr):
            from keras.saving import serialize_keras_object

            config["learning_rate"] = serialize_keras_object(lr)
        else:
            config["learning_rate"] = float(lr)
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any],
                    custom_objects: Mapping[str, Any] | None = None) -> Ftrl:
        """Rebuild from ``get_config()`` output (ours or Keras's)."""
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, Mapping):
            try:
                config["learning_rate"] = parse_schedule(lr)
            except FtrlError:
                # Not a built-in schedule: only Keras itself can rebuild it.
                from keras.optimizers import schedules

                config["learning_rate"] = schedules.deserialize(
                    dict(lr), custom_objects=custom_objects)
        return cls(**config)
