"""``ftrl export --keras``: a checkpoint as the Keras 3 model it is, optimizer state included.

The model is ``Dense(1)`` (sigmoid for a logistic model, no activation for ``--loss
squared``, the checkpoint's ``use_bias``) on a dense input of ``2**hash_bits`` hashed
features, compiled with the checkpoint's ``Ftrl`` (its Keras config, as
``keras.optimizers.serialize`` writes it) and loss. The optimizer is built on
``[kernel, bias]`` and its slots hold the checkpoint's state: Keras's ``accumulator`` and
``linear`` are FTRL's ``n`` and ``z`` (``initial_accumulator_value`` and 0 where the
checkpoint has no row), the gradient accumulators the pending window's sums, and
``iterations`` the checkpoint's count. ``keras.models.load_model`` then predicts what
``ftrl predict`` prints and ``model.fit`` continues as ``ftrl train --init-model`` would
(where every coordinate is active in every step; see README).

The input is dense because Keras 3's numpy and torch backends refuse sparse inputs
(``keras.Input(sparse=True)``): a dense one loads on every backend, and ``predict``/``fit``
take the scipy CSR of ``ftrl_cli.hash_records`` as it is.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from ftrl_cli import checkpoint
from ftrl_cli._version import __version__
from ftrl_cli.errors import FtrlError
from ftrl_cli.keras_file import add_entry, import_keras
from ftrl_cli.outputs import check_writable, open_output

COPY_BLOCK = 1 << 20


def export_keras(model_path: str, output: str, verify: bool = True) -> dict:
    """Write the checkpoint at ``model_path`` as a ``.keras`` file at ``output``.

    Returns a summary (hash bits, loss, iterations) for the command to print.
    """
    if not output.endswith(".keras"):
        raise FtrlError(f"{output}: a Keras model file name ends in .keras")
    check_writable(output)
    ckpt = checkpoint.load(model_path, verify=verify)
    config = ckpt.meta["optimizer"]["config"]
    if config.get("use_ema"):
        raise FtrlError(f"{model_path}: the model uses EMA (use_ema): Keras's fit continues "
                        "from the averaged weights, ftrl from the training weights, so it "
                        "cannot be exported exactly")
    keras = import_keras()
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")  # the optimizer's own variables too
    try:
        model = build_model(keras, ckpt)
    finally:
        keras.config.set_floatx(floatx)
    with tempfile.TemporaryDirectory(prefix="ftrl-keras-") as folder:
        tmp = os.path.join(folder, "model.keras")
        model.save(tmp)
        add_entry(tmp, entry_metadata(ckpt.meta))
        with open(tmp, "rb") as src, open_output(output) as out:
            while block := src.read(COPY_BLOCK):
                out.write(block)
    return {"hash_bits": int(ckpt.spec.hash_bits), "loss": ckpt.loss.keras_loss,
            "iterations": int(ckpt.meta.get("counters", {}).get("iterations", 0))}


def entry_metadata(meta: dict) -> dict:
    """What Keras does not know: the checkpoint's metadata without its optimizer (Keras's
    own is in the model) and checksums (of columns the .keras file does not hold)."""
    out = {k: v for k, v in meta.items() if k not in ("optimizer", "checksum")}
    out["exported_by"] = f"ftrl {__version__}"
    return out


def build_model(keras, ckpt: checkpoint.Checkpoint):
    """The compiled Keras model of ``ckpt``, its weights and optimizer slots set."""
    n = 1 << int(ckpt.spec.hash_bits)
    loss = ckpt.loss
    inputs = keras.Input(shape=(n,), name="hashed_features", dtype="float64")
    dense = keras.layers.Dense(1, activation="sigmoid" if loss.probabilistic else None,
                               use_bias=ckpt.use_bias, name="dense", dtype="float64")
    model = keras.Model(inputs, dense(inputs), name="ftrl")
    try:
        optimizer = keras.optimizers.deserialize(ckpt.meta["optimizer"])
    except Exception as e:  # Keras raises several types for a config it does not take
        raise FtrlError(f"{ckpt.path}: Keras does not take the model's optimizer config "
                        f"({str(e).splitlines()[0] if str(e) else type(e).__name__})"
                        ) from None
    model.compile(optimizer=optimizer, loss=loss.keras_loss)
    optimizer.build(model.trainable_variables)
    steps = optimizer.gradient_accumulation_steps
    for variable, values in zip(model.trainable_variables, dense_state(ckpt, n)):
        shape = tuple(variable.shape)
        i = optimizer._get_variable_index(variable)
        variable.assign(values["weight"].reshape(shape))
        optimizer._accumulators[i].assign(values["accumulator"].reshape(shape))
        optimizer._linears[i].assign(values["linear"].reshape(shape))
        if steps:
            optimizer._accumulated_gradients[i].assign(
                values["gradient_accumulator"].reshape(shape))
    optimizer._iterations.assign(int(ckpt.meta.get("counters", {}).get("iterations", 0)))
    return model


def dense_state(ckpt: checkpoint.Checkpoint, n: int) -> list[dict[str, np.ndarray]]:
    """Per variable (the kernel, then the bias if the model has one), its weights and slots
    as dense arrays; a coordinate without a row has Keras's starting values.

    >>> c = checkpoint.Checkpoint("m", {"model": {"use_bias": True}, "optimizer": {"config": {
    ...     "initial_accumulator_value": 0.1}}}, {"is_bias": np.array([False, True]),
    ...     "index": np.array([2, 0]), "weight": np.array([0.5, -1.0]),
    ...     "linear": np.array([3.0, 4.0]), "accumulator": np.array([2.0, 9.0])})
    >>> kernel, bias = dense_state(c, 4)
    >>> kernel["accumulator"].tolist(), bias["weight"].tolist()
    ([0.1, 0.1, 2.0, 0.1], [-1.0])
    """
    c = ckpt.columns
    start = {"weight": 0.0, "linear": 0.0, "gradient_accumulator": 0.0,
             "accumulator": float(ckpt.meta["optimizer"]["config"]["initial_accumulator_value"])}
    out = []
    for is_bias, size in ((False, n), (True, 1))[: 2 if ckpt.use_bias else 1]:
        rows = c["is_bias"] == is_bias
        where = c["index"][rows]
        values = {}
        for name, value in start.items():
            values[name] = np.full(size, value)
            if name in c:
                values[name][where] = c[name][rows]
        out.append(values)
    return out
