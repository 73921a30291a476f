"""``ftrl import-keras``: a Keras ``Dense(1)`` trained with ``Ftrl`` on hashed inputs, as an
ftrl checkpoint that ``predict``, ``evaluate`` and ``train --init-model`` take.

The model must be one input of ``2**hash_bits`` features into one ``Dense(1)`` (sigmoid: a
logistic model on ``binary_crossentropy``; no activation: ``--loss squared`` on
``mean_squared_error``), without regularizers or constraints, compiled with
``keras.optimizers.Ftrl`` without EMA: ftrl's checkpoint is FTRL's state, which another
optimizer does not have. Its kernel, bias, ``accumulator``/``linear`` slots, gradient
accumulators and ``iterations`` become the checkpoint's rows and counters; a coordinate whose
state is still Keras's starting state (weight 0, linear 0, the initial accumulator) has no
row, as one never touched has none in ftrl.

Keras does not know how records were hashed: a file written by ``ftrl export`` carries it
(see ``ftrl_cli.keras_file``), any other takes it from the options (``--format`` at least).
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile

import numpy as np

from ftrl_cli import checkpoint
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.errors import FtrlError
from ftrl_cli.keras_file import import_keras, read_entry
from ftrl_cli.losses import LOGISTIC, SQUARED, Loss
from ftrl_cli.outputs import check_writable
from ftrl_cli.readers import resolve_spec
from ftrl_cli.readers.base import FeatureSpec

ACTIVATIONS = {"sigmoid": LOGISTIC, "linear": SQUARED}


def import_keras_model(path: str, output: str, features: dict,
                       features_from: str | None = None) -> dict:
    """Write the Keras model at ``path`` as a checkpoint at ``output``.

    ``features`` holds the feature options given (``format``, ``hash_bits``, ``hash_mode``,
    columns and crosses, as ``readers.resolve_spec`` takes them); they override the spec
    that ``ftrl export`` stored in ``path``, or in ``features_from`` (an ftrl model or a
    ``.keras`` file of ``ftrl export``: Keras's own ``model.save`` does not keep the entry).
    Returns a summary for the command to print.
    """
    check_writable(output)
    stored = read_keras_entry(path) or stored_features(features_from)
    keras = import_keras()
    model = load(keras, path)
    dense, n = dense_layer(keras, model, path)
    loss = model_loss(model, dense, path)
    optimizer = ftrl_optimizer(keras, model, path)
    config = OptimizerConfig.from_keras(keras.optimizers.serialize(optimizer))
    spec = feature_spec(path, stored, features, n)
    columns = state_columns(optimizer, dense, config.initial_accumulator_value,
                            bool(config.gradient_accumulation_steps))
    iterations = int(optimizer._iterations.numpy())
    counters = stored.get("counters") or {}
    # Keras counts steps, not records: each step after the export had one at least.
    examples = int(counters.get("examples", 0)) + max(
        0, iterations - int(counters.get("iterations", 0)))
    model_meta = {**(stored.get("model") or {}), "use_bias": bool(dense.use_bias),
                  "layer": loss.keras_layer, "loss": loss.keras_loss}
    meta = {"features": spec.to_dict(), "model": model_meta,
            "counters": {"iterations": iterations, "examples": examples}}
    ckpt = checkpoint.Checkpoint(path, meta, columns)
    dtype = np.dtype(model_meta.get("state_dtype", "float64")).type
    state = checkpoint.restore(ckpt, config, dtype)
    extra = {"sampling": stored["sampling"]} if "sampling" in stored else {}
    checkpoint.save(state, spec, output, extra=extra)
    return {"hash_bits": spec.hash_bits, "rows": len(columns["index"]), "loss": loss.name,
            "iterations": iterations}


def read_keras_entry(path: str) -> dict:
    """The ftrl entry of a ``.keras`` file (empty when Keras alone wrote it)."""
    if not os.path.exists(path):
        raise FtrlError(f"{path}: no such Keras model file")
    if not path.endswith(".keras") or not zipfile.is_zipfile(path):
        raise FtrlError(f"{path}: not a Keras model file (a .keras zip archive)")
    return read_entry(path) or {}


def stored_features(path: str | None) -> dict:
    """The metadata of ``--features-from``: an ftrl model, or an export's ftrl entry."""
    if path is None:
        return {}
    if path.endswith(".keras"):
        meta = read_keras_entry(path)
        if not meta:
            raise FtrlError(f"{path}: no ftrl entry (not written by ftrl export)")
        return meta
    return checkpoint.load(path, weights_only=True).meta


def load(keras, path: str):
    """The model, compiled as it was saved (optimizer state included)."""
    try:
        with warnings.catch_warnings():
            # e.g. "Skipping variable loading for optimizer": an optimizer saved before it
            # was built has no slots to load, and is built with their starting values
            warnings.simplefilter("ignore", UserWarning)
            return keras.models.load_model(path)
    except Exception as e:  # Keras raises many types for a file it cannot read
        text = str(e).strip().splitlines()
        raise FtrlError(f"{path}: Keras cannot load it ({text[0] if text else type(e).__name__})"
                        ) from None


def dense_layer(keras, model, path: str):
    """The model's one ``Dense(1)`` layer and its input size; refuses any other model."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    shapes = [tuple(t.shape) for t in model.inputs]
    if (len(layers) != 1 or not isinstance(layers[0], keras.layers.Dense)
            or layers[0].units != 1 or len(shapes) != 1 or len(shapes[0]) != 2):
        found = ", ".join(type(layer).__name__ for layer in layers) or "no layers"
        raise FtrlError(f"{path}: not a Dense(1) on one input of hashed features ({found})")
    dense = layers[0]
    extras = [name for name in ("kernel_regularizer", "bias_regularizer",
                                "activity_regularizer", "kernel_constraint", "bias_constraint")
              if getattr(dense, name, None) is not None]
    if extras:
        raise FtrlError(f"{path}: the Dense layer has {', '.join(extras)}, which ftrl's "
                        "model does not")
    return dense, int(shapes[0][1])


def model_loss(model, dense, path: str) -> Loss:
    """The loss of the layer's activation; the compiled loss, if any, must be that one."""
    activation = getattr(dense.activation, "__name__", str(dense.activation))
    if activation not in ACTIVATIONS:
        raise FtrlError(f"{path}: activation {activation!r}: ftrl trains sigmoid (logistic) "
                        "and linear (--loss squared) models")
    loss = ACTIVATIONS[activation]
    compiled = getattr(model, "loss", None)
    name = compiled if isinstance(compiled, str) or compiled is None else getattr(
        compiled, "name", type(compiled).__name__)
    if name is not None and name != loss.keras_loss:
        raise FtrlError(f"{path}: a {activation} model compiled with loss {name!r}; ftrl "
                        f"trains it on {loss.keras_loss!r}")
    return loss


def ftrl_optimizer(keras, model, path: str):
    """The model's ``Ftrl`` optimizer, built (its slots at their starting values if the
    model was saved before any step)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise FtrlError(f"{path}: saved without an optimizer; ftrl needs the state of "
                        "keras.optimizers.Ftrl (compile the model with it)")
    if not isinstance(optimizer, keras.optimizers.Ftrl):
        raise FtrlError(f"{path}: the optimizer is {type(optimizer).__name__}, not Ftrl; "
                        "an ftrl checkpoint holds FTRL's accumulator and linear slots")
    if optimizer.use_ema:
        raise FtrlError(f"{path}: the optimizer uses EMA (use_ema), which ftrl cannot "
                        "continue exactly from a Keras model")
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    return optimizer


def feature_spec(path: str, stored: dict, given: dict, n: int) -> FeatureSpec:
    """The stored spec with the given options over it; the hash size must be the input's."""
    bits = int(math.log2(n)) if n > 0 else -1
    if n <= 0 or 1 << bits != n:
        raise FtrlError(f"{path}: the input has {n} features, not a power of 2 "
                        "(2**hash_bits hashed features)")
    base = FeatureSpec.from_dict(stored["features"]).to_dict() if "features" in stored else {}
    if not base and given.get("format") is None:
        raise FtrlError(f"{path}: not written by ftrl export, so the hashing is unknown: give "
                        "--features-from the exported model, or --format and the feature "
                        "options the records were hashed with")
    options = {**base, "hash_bits": bits, **given}
    if options["hash_bits"] != bits:
        raise FtrlError(f"{path}: -b {options['hash_bits']} does not match the model's input "
                        f"of {n} = 2**{bits} features")
    return resolve_spec([path], **options)


def state_columns(optimizer, dense, initial: float, accumulating: bool) -> dict:
    """Checkpoint columns of the kernel and bias rows whose state is not Keras's start."""
    variables = [(False, dense.kernel)] + ([(True, dense.bias)] if dense.use_bias else [])
    parts: dict[str, list[np.ndarray]] = {}
    for is_bias, variable in variables:
        i = optimizer._get_variable_index(variable)
        values = {"weight": variable, "linear": optimizer._linears[i],
                  "accumulator": optimizer._accumulators[i]}
        if accumulating:
            values["gradient_accumulator"] = optimizer._accumulated_gradients[i]
        values = {k: np.asarray(v.numpy(), dtype=np.float64).ravel() for k, v in values.items()}
        moved = (values["weight"] != 0) | (values["linear"] != 0) | (
            values["accumulator"] != initial)
        if accumulating:
            moved |= values["gradient_accumulator"] != 0
            values["accumulating"] = values["gradient_accumulator"] != 0
        rows = np.flatnonzero(moved)
        parts.setdefault("is_bias", []).append(np.full(len(rows), is_bias))
        parts.setdefault("index", []).append(np.zeros(len(rows), np.int64) if is_bias else rows)
        for name, v in values.items():
            parts.setdefault(name, []).append(v[rows])
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}
