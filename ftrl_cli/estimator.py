"""``FtrlClassifier``: a scikit-learn style logistic regression trained with Keras's FTRL.

It follows scikit-learn's conventions without depending on it: ``__init__`` only stores the
parameters, ``fit`` starts over, ``partial_fit`` continues, fitted attributes end in ``_``.
Training runs ``ftrl_cli.model.Model``, the CLI's own model and kernels, so a fit here and
``ftrl train`` on the same records give the same weights.

>>> import numpy as np
>>> X = np.array([[1.0, 0.0], [0.0, 1.0]] * 20)
>>> y = np.array([1, 0] * 20)
>>> clf = FtrlClassifier(learning_rate=0.5).fit(X, y)
>>> clf.predict(X[:2]).tolist(), clf.predict_proba(X[:2]).shape, clf.coef_.shape
([1, 0], (2, 2), (1, 2))
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import scipy.sparse as sp

from ftrl_cli.errors import FtrlError
from ftrl_cli.kernels.predict import margins, probabilities
from ftrl_cli.model import Model
from ftrl_cli.optimizer import is_keras_schedule, optimizer_config


class NotFittedError(ValueError, AttributeError):
    """Prediction before ``fit`` (scikit-learn's exception of the same name and bases)."""


# Parameters that are not optimizer arguments.
_OWN = ("batch_size", "epochs", "fit_intercept")


class FtrlClassifier:
    """Binary logistic regression on sparse features, trained online with Keras's FTRL.

    Takes every argument of ``keras.optimizers.Ftrl`` (same defaults) plus ``batch_size``
    (records per optimizer step), ``epochs`` (passes made by ``fit``) and ``fit_intercept``.
    ``X`` is a SciPy sparse matrix (CSR preferred) or a dense array; labels are 0/1.  Records
    are used in order (no shuffling); each pass ends with a short step when the record count is
    not a multiple of ``batch_size``, as Keras's ``fit`` does.  With ``use_ema``, predictions
    use the moving averages (Keras's ``fit`` finalizes to them) while training goes on from the
    raw weights.

    >>> import numpy as np
    >>> clf = FtrlClassifier(learning_rate=0.5, l1_regularization_strength=0.1)
    >>> clf.set_params(epochs=2).get_params()["epochs"]
    2
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
                 batch_size: int = 1, epochs: int = 1, fit_intercept: bool = True) -> None:
        self.learning_rate = learning_rate
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.name = name
        self.batch_size = batch_size
        self.epochs = epochs
        self.fit_intercept = fit_intercept

    _estimator_type = "classifier"

    # ---- parameters ----
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters, by name."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> FtrlClassifier:
        """Change parameters (they apply at the next ``fit``); returns ``self``."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {self!r}. "
                                 f"Valid parameters are: {sorted(valid)!r}.")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not _same(v, defaults[k])]
        return f"{type(self).__name__}({', '.join(changed)})"

    # ---- training ----
    def _new_model(self, n_features: int) -> Model:
        for key, low in (("batch_size", 1), ("epochs", 1)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < low:
                raise ValueError(f"`{key}` must be an integer >= {low}. Received: {value!r}")
        kwargs = {k: v for k, v in self.get_params().items() if k not in _OWN}
        config = optimizer_config(**kwargs)
        try:
            config.validate_training()
        except FtrlError as e:  # Keras's wording, without the CLI option's name
            raise ValueError(str(e).partition(": ")[2]) from None
        holder: list[Model] = []
        lr = config.learning_rate
        if is_keras_schedule(lr):
            # A Keras schedule object takes the iteration: ask it at the model's.
            config = config.override(
                learning_rate=lambda: float(np.asarray(lr(holder[0].iterations))))
        # Model needs 2**hash_bits features; indices below n_features are used as they are.
        hash_bits = max(0, int(n_features) - 1).bit_length()
        model = Model(config, hash_bits, use_bias=bool(self.fit_intercept))
        holder.append(model)
        return model

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FtrlClassifier:
        """Train from scratch for ``epochs`` passes over ``(X, y)``; returns ``self``."""
        X, y, w = self._check_xy(X, y, sample_weight, reset=True)
        self._start(X.shape[1])
        for _ in range(self.epochs):
            self._one_pass(X, y, w)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> FtrlClassifier:
        """One more pass over ``(X, y)``, continuing the optimizer where it stopped.

        With ``batch_size=1`` (online learning), successive calls equal one pass over the
        concatenated data.  ``classes``, if given, must be ``[0, 1]``.
        """
        if classes is not None and sorted(np.asarray(classes).tolist()) != [0, 1]:
            raise ValueError(f"classes must be [0, 1], got {classes!r}")
        first = not hasattr(self, "model_")
        X, y, w = self._check_xy(X, y, sample_weight, reset=first)
        if first:
            self._start(X.shape[1])
        self._one_pass(X, y, w)
        return self

    def _start(self, n_features: int) -> None:
        self.model_ = self._new_model(n_features)
        self.n_features_in_ = n_features
        self.classes_ = np.array([0, 1])

    def _one_pass(self, X: sp.csr_matrix, y: np.ndarray, w: np.ndarray | None) -> None:
        self.model_.train(X, y, w, int(self.batch_size))
        self.model_.flush()
        # serving_weights leaves the training state untouched, so successive partial_fit
        # calls equal one fit bit for bit.
        kernel, bias = self.model_.serving_weights()
        self.coef_ = kernel[: self.n_features_in_].reshape(1, -1).copy()
        self.intercept_ = np.array([bias])

    # ---- prediction ----
    def decision_function(self, X: Any) -> np.ndarray:
        """The margin ``X @ coef_ + intercept_`` of each row."""
        X = self._check_x(X)
        return margins(X.indptr, X.indices, X.data, self.coef_[0], float(self.intercept_[0]))

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` array: probabilities of class 0 and class 1."""
        p = probabilities(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Class 1 where the margin is positive, else 0."""
        positive = self.decision_function(X) > 0.0
        return self.classes_[positive.astype(np.int64)]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy (weighted by ``sample_weight`` if given)."""
        hits = (self.predict(X) == np.asarray(y)).astype(np.float64)
        return float(np.average(hits, weights=sample_weight))

    # ---- input checks ----
    def _check_x(self, X: Any, reset: bool = False) -> sp.csr_matrix:
        if sp.issparse(X):
            X = sp.csr_matrix(X, dtype=np.float64)
        else:
            arr = np.asarray(X, dtype=np.float64)
            if arr.ndim != 2:
                raise ValueError(f"X must be 2-D, got shape {arr.shape}")
            X = sp.csr_matrix(arr)
        if reset:
            if X.shape[1] < 1:
                raise ValueError("X has no features")
        elif not hasattr(self, "model_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' first.")
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        return X

    def _check_xy(self, X: Any, y: Any, sample_weight: Any,
                  reset: bool) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray | None]:
        X = self._check_x(X, reset)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("labels must be 0 or 1")
        w = None
        if sample_weight is not None:
            w = np.broadcast_to(np.asarray(sample_weight, dtype=np.float64),
                                y.shape).copy()
        return X, y, w


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b
