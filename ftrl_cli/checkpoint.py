"""Model checkpoints: one zstd Parquet file, a row per coordinate ever touched.

Columns: ``variable`` (``kernel`` or ``bias``), ``index`` (int64), ``weight``, ``linear``,
``accumulator`` (float64); with EMA also ``average`` (and ``training_weight`` when the weights
were replaced by their average, as Keras's ``fit()`` does, so training can continue exactly);
with gradient accumulation also ``gradient_accumulator``; with feature names (``ftrl train
--feature-names``) ``feature`` (string, null where unknown) and ``feature_collisions``
(int64: distinct names seen there, 0 where unknown).  The file metadata key ``ftrl`` holds
JSON: format version, the Keras optimizer config, the feature config, the counters and a
checksum per column (see ``ftrl_cli.checksum``).

A model file is replaced atomically (a temporary file beside it, fsync, rename); a FIFO or
device is written in place (see ``ftrl_cli.outputs``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from ftrl_cli import checksum
from ftrl_cli._version import __version__
from ftrl_cli.config import OptimizerConfig
from ftrl_cli.errors import FtrlError
from ftrl_cli.kernels import layout as L
from ftrl_cli.losses import Loss, from_model_meta
from ftrl_cli.model import Model
from ftrl_cli.outputs import open_output
from ftrl_cli.readers.base import FeatureSpec
from ftrl_cli.readers.compat import readable_as
from ftrl_cli.table_memory import zeros

FORMAT_VERSION = 1
META_KEY = b"ftrl"


@dataclass
class Checkpoint:
    """A loaded checkpoint: its metadata and its columns as NumPy arrays."""

    path: str
    meta: dict
    columns: dict[str, np.ndarray]

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec.from_dict(self.meta["features"])

    @property
    def optimizer(self) -> OptimizerConfig:
        return OptimizerConfig.from_keras(self.meta["optimizer"])

    @property
    def use_bias(self) -> bool:
        return bool(self.meta["model"]["use_bias"])

    @property
    def loss(self) -> Loss:
        """The loss the model was trained on (``losses.LOGISTIC`` if the file records none)."""
        return from_model_meta(self.meta.get("model") or {})

    def serving_weights(self) -> tuple[np.ndarray, float]:
        """Dense kernel vector and bias, as the model predicts."""
        n = 1 << int(self.meta["features"]["hash_bits"])
        w = zeros(n)
        is_bias = self.columns["is_bias"]
        w[self.columns["index"][~is_bias]] = self.columns["weight"][~is_bias]
        bias = self.columns["weight"][is_bias]
        return w, float(bias[0]) if len(bias) else 0.0


def save(model: Model, spec: FeatureSpec, path: str, extra: dict | None = None,
         columns: dict[str, np.ndarray] | None = None) -> None:
    """Write ``model`` to ``path``: a model file is replaced atomically (never half-written).

    ``extra``: more metadata keys; ``columns``: more columns, one value per row written (the
    touched rows, in order).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, st = model.synced_rows()
    st = st.astype(np.float64, copy=False)
    is_bias = rows == model.n_features
    # Contiguous columns: the checksum reads them, and pyarrow takes them without a copy.
    cols: dict[str, np.ndarray] = {"variable": is_bias,
                                   "index": np.where(is_bias, 0, rows).astype(np.int64)}
    weight = np.ascontiguousarray(st[:, L.W])
    if model.finalizes_to_average():
        cols["weight"] = st[:, model.cols[L.COL_AVG]]
        cols["training_weight"] = weight
    else:
        cols["weight"] = weight
    cols["linear"] = np.ascontiguousarray(st[:, L.Z])
    cols["accumulator"] = np.ascontiguousarray(st[:, L.N])
    if model.config.use_ema:
        cols["average"] = np.ascontiguousarray(st[:, model.cols[L.COL_AVG]])
    if model.config.gradient_accumulation_steps:
        cols["gradient_accumulator"] = np.ascontiguousarray(st[:, model.cols[L.COL_ACC]])
        # Pending even when the sum happens to be exactly zero: it is still updated at the
        # end of the accumulation window.
        cols["accumulating"] = (model.mark[rows] & L.MARK_PENDING) != 0
    cols.update(columns or {})
    meta = {
        "format_version": FORMAT_VERSION,
        "created_by": f"ftrl {__version__}",
        "optimizer": {"module": "keras.optimizers", "class_name": "Ftrl",
                      "config": model.config.keras_config(), "registered_name": None},
        "features": spec.to_dict(),
        "hashing": spec.hashing_config(),
        "model": {"use_bias": model.use_bias, "state_dtype": model.dtype.name,
                  "layer": model.loss.keras_layer, "loss": model.loss.keras_loss},
        "counters": {"iterations": model.iterations, "examples": model.examples},
        "checksum": checksum.describe(cols),
        **(extra or {}),
    }
    # ``variable`` through a two-entry dictionary: building a million Python-level strings
    # is slow. Parquet stores it as a plain string column with a dictionary page; decoding
    # it here instead would import pyarrow's compute layer (tens of milliseconds).
    names = pa.StringArray.from_buffers(2, pa.py_buffer(np.array([0, 6, 10], np.int32)),
                                        pa.py_buffer(b"kernelbias"))
    table = pa.table({
        "variable": pa.DictionaryArray.from_arrays(_arrow(is_bias.astype(np.int8)), names),
        **{name: _arrow(values) for name, values in cols.items() if name != "variable"}})
    with open_output(path) as fh:
        # Dictionary pages pay only for the two-value column; on the float columns they
        # cost time and make the file larger.  Without the stored Arrow schema every reader
        # sees ``variable`` as the string column it is in Parquet, not as a dictionary;
        # every other column is a plain Parquet type already.
        with pq.ParquetWriter(fh, table.schema, compression="zstd",
                              use_dictionary=["variable"], store_schema=False) as writer:
            writer.write_table(table)
            writer.add_key_value_metadata({META_KEY: json.dumps(meta).encode()})


def _arrow(values: np.ndarray):
    """``values`` (numeric, bool, or strings as objects, 1-D) as an Arrow array, without a
    copy where it can.

    ``pa.array`` would do, but its first call imports pandas: 0.3 to 0.5 s of every
    ``ftrl train``.  Only the string columns (feature names, None where unknown) go through
    it.

    >>> _arrow(np.array([1.5, 2.0])).to_pylist(), _arrow(np.array([True, False])).to_pylist()
    ([1.5, 2.0], [True, False])
    >>> _arrow(np.array(["a", None], dtype=object)).to_pylist()
    ['a', None]
    """
    import pyarrow as pa

    if values.dtype == object:
        return pa.array(values, type=pa.string())
    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:  # Arrow packs booleans into bits, least significant first
        data = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(data)])
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                 [None, pa.py_buffer(values)])


def _numpy(column) -> np.ndarray:
    """An Arrow column or array of numbers or booleans as a NumPy array.

    Reads the buffers directly: Arrow's ``to_numpy`` imports pandas on first use, a third
    of a second of every ``ftrl predict``.  Columns with nulls, or of other types, go the
    usual way.

    >>> import pyarrow as pa
    >>> _numpy(pa.chunked_array([[1.5], [2.5, 3.0]])).tolist(), _numpy(_arrow(np.ones(2, bool)))
    ([1.5, 2.5, 3.0], array([ True,  True]))
    """
    import pyarrow as pa

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for c in chunks:
        t = c.type
        if c.null_count or not (pa.types.is_integer(t) or pa.types.is_floating(t)
                                or pa.types.is_boolean(t)):
            return column.to_numpy(zero_copy_only=False)
        data = c.buffers()[1]
        if pa.types.is_boolean(t):
            bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
            parts.append(bits[c.offset : c.offset + len(c)].astype(bool))
        else:
            dt = np.dtype(t.to_pandas_dtype())
            parts.append(np.frombuffer(data, dt, count=len(c), offset=c.offset * dt.itemsize))
    if not parts:
        return np.zeros(0, bool if pa.types.is_boolean(column.type)
                        else column.type.to_pandas_dtype())
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def load(path: str, weights_only: bool = False, verify: bool = True) -> Checkpoint:
    """Read a checkpoint; a one-line :class:`FtrlError` when it is missing or not ours.

    ``weights_only`` reads just what scoring needs (``variable``, ``index``, ``weight``).
    With ``verify`` the columns read must match the checksums written with them (a model
    written before checksums were has none and loads as it is).
    """
    import pyarrow.parquet as pq

    if not os.path.exists(path):
        raise FtrlError(f"{path}: no such model file")
    try:
        columns = ["variable", "index", "weight"] if weights_only else None
        # ParquetFile rather than read_table, which imports pyarrow's dataset and compute
        # layers (tens of milliseconds of start-up for every ftrl predict).
        table = pq.ParquetFile(path, read_dictionary=["variable"]).read(columns=columns)
    except Exception as e:  # pyarrow raises several types for a corrupt or foreign file
        raise FtrlError(f"{path}: not a readable Parquet model ({_first_line(e)})") from None
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise FtrlError(f"{path}: Parquet file without ftrl metadata (not an ftrl model)")
    try:
        meta = json.loads(raw)
        version = int(meta["format_version"])
    except (ValueError, KeyError, TypeError):
        raise FtrlError(f"{path}: damaged ftrl metadata") from None
    if version > FORMAT_VERSION:
        raise FtrlError(f"{path}: model format {version} is newer than this ftrl reads "
                        f"({FORMAT_VERSION}); upgrade ftrl")
    need = {"variable", "index", "weight"} if weights_only else {
        "variable", "index", "weight", "linear", "accumulator"}
    missing = need - set(table.column_names)
    if missing:
        raise FtrlError(f"{path}: model lacks column(s) {sorted(missing)}")
    columns = {name: _numpy(table.column(name))
               for name in table.column_names if name != "variable"}
    columns["is_bias"] = _is_bias(table.column("variable"), path)
    # Non-finite values first: that message says more than a checksum mismatch would, and
    # --no-verify does not let them through.
    _check_finite(columns, path)
    if verify:
        checksum.verify(meta, {"variable": columns["is_bias"], **columns}, path,
                        read=set(table.column_names) if weights_only else None)
    return Checkpoint(path, meta, columns)


# Weights and the optimizer slots training continues from; a NaN or infinity in any of them
# makes every prediction or update it touches meaningless.
_WEIGHT_COLUMNS = ("weight", "training_weight", "average")
_SLOT_COLUMNS = ("linear", "accumulator", "gradient_accumulator")


def _check_finite(columns: dict[str, np.ndarray], path: str) -> None:
    for names, what in ((_WEIGHT_COLUMNS, "weights"), (_SLOT_COLUMNS, "optimizer slot values")):
        bad = sum(int(np.count_nonzero(~np.isfinite(columns[c]))) for c in names if c in columns)
        if bad:
            raise FtrlError(f"{path}: model has {bad} non-finite {what}; it cannot be used")


def _is_bias(variable, path: str) -> np.ndarray:
    """Boolean mask of the ``bias`` rows, from the dictionary codes of the ``variable``
    column (comparing a million Python strings would be slow)."""
    import pyarrow as pa

    masks = [np.zeros(0, bool)]
    for chunk in variable.chunks:
        if not pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_encode()
        if chunk.null_count:
            raise FtrlError(f"{path}: model has rows without a variable name")
        names = np.array([v == "bias" for v in chunk.dictionary.to_pylist()], dtype=bool)
        masks.append(names[_numpy(chunk.indices)])
    return np.concatenate(masks)


def restore(ckpt: Checkpoint, config: OptimizerConfig, dtype: type = np.float64) -> Model:
    """A :class:`Model` that continues training from ``ckpt`` with ``config`` (and its loss)."""
    model = Model(config, int(ckpt.meta["features"]["hash_bits"]), ckpt.use_bias, dtype,
                  ckpt.loss)
    c = ckpt.columns
    rows = np.where(c["is_bias"], model.n_features, c["index"]).astype(np.int64)
    if rows.size and (rows.min() < 0 or rows.max() > model.n_features):
        raise FtrlError(f"{ckpt.path}: kernel index out of range for its hash size")
    st = model.state
    st[rows, L.W] = c.get("training_weight", c["weight"])
    st[rows, L.Z] = c["linear"]
    st[rows, L.N] = c["accumulator"]
    if config.use_ema:
        # An average that was never kept starts where Keras starts it: at the weight.
        st[rows, model.cols[L.COL_AVG]] = c.get("average", st[rows, L.W])
    if config.gradient_accumulation_steps and "gradient_accumulator" in c:
        acc = c["gradient_accumulator"]
        st[rows, model.cols[L.COL_ACC]] = acc
        pend = rows[c["accumulating"]] if "accumulating" in c else rows[acc != 0.0]
        model.pending[: len(pend)] = pend
        model.mark[pend] |= L.MARK_PENDING
        model.ctr[L.CTR_NPEND] = len(pend)
    counters = ckpt.meta.get("counters", {})
    model.iterations = int(counters.get("iterations", 0))
    model.examples = int(counters.get("examples", 0))
    st[rows, L.T] = max(model.examples - 1, 0) % L.STAMP_MOD + 1
    if config.use_ema:
        st[rows, model.cols[L.COL_EST]] = model.iterations
    return model


def check_compatible(ckpt: Checkpoint, spec: FeatureSpec, use_bias: bool) -> None:
    """Refuse to continue from a model whose hashing, format (csv and tsv are one) or bias
    differ, saying what differs."""
    # a model stored before a key existed has that key's old meaning (from its spec)
    theirs = {**ckpt.spec.hashing_config(), **(ckpt.meta.get("hashing") or {})}
    ours = spec.hashing_config()
    diffs = [f"{k}: model has {theirs.get(k)!r}, this run has {ours[k]!r}"
             for k in ours if theirs.get(k) != ours[k]]
    if not readable_as(ckpt.spec.format, spec.format):
        diffs.append(f"format: model has {ckpt.spec.format!r}, this run has {spec.format!r}")
    if ckpt.use_bias != use_bias:
        diffs.append(f"bias: model has {ckpt.use_bias}, this run has {use_bias}")
    if diffs:
        raise FtrlError(f"{ckpt.path}: incompatible with this run's features ("
                        + "; ".join(diffs) + ")")


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
