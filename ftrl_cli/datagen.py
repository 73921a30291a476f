"""Seeded Criteo-shaped click logs whose click probability is known exactly.

A row has a 0/1 label, 13 heavy-tailed counts ``I1..I13`` and 26 categorical columns
``C1..C26`` holding 8-hex-digit tokens drawn from Zipf-like vocabularies; any of them may be
missing. The label is drawn from a logistic model (the *truth*):

    logit = bias + s * (sum_j effect_j[C_j] + sum_k effect_k[bin(I_k)] + interactions)

with ``bin(v) = v if v <= 2 else floor(ln(v) ** 2)`` (see ``log_bin``), a missing value adding
nothing, ``s`` chosen so the logit's standard deviation is ``logit_std`` and ``bias`` so the
mean click probability is ``base_rate``. Optional interactions add an effect per pair of
values of a few pairs of categorical columns. ``Dataset.truth_prob`` holds each row's
probability, so ``truth_logloss`` is the best log loss any model can reach in expectation.

Rows come in blocks of ``BLOCK_ROWS``, each drawn from its own seeded stream: row ``r`` is the
same whichever range it is generated in, so a test set is just a later range of rows under the
same truth (``start=``). All randomness comes from ``Generator.random`` (normal and Laplace
draws are derived from it here), the draw least likely to change between NumPy releases.

Writers live in ``ftrl_cli.datagen_writers``; ``python -m ftrl_cli.datagen --help`` is the CLI.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

N_INT = 13
N_CAT = 26
INT_COLUMNS = tuple(f"I{k + 1}" for k in range(N_INT))
CAT_COLUMNS = tuple(f"C{j + 1}" for j in range(N_CAT))
COLUMNS = ("label", *INT_COLUMNS, *CAT_COLUMNS)
BLOCK_ROWS = 1 << 16
MAX_INT = 2**31 - 1
MISSING = -1
# Independent random streams, so e.g. adding interactions leaves the rows' values unchanged.
_CAT_PARAMS, _INT_PARAMS, _PAIR_PARAMS, _CALIBRATION, _ROWS = range(5)
_CALIBRATION_ROWS = 20_000


def log_bin(v: np.ndarray) -> np.ndarray:
    """Bin counts on a log scale: ``v`` for ``v <= 2``, else ``floor(ln(v) ** 2)``; -1 stays -1.

    >>> log_bin(np.array([-1, 0, 2, 3, 100, 2**31 - 1])).tolist()
    [-1, 0, 2, 1, 21, 461]
    """
    v = np.asarray(v, dtype=np.int64)
    logs = np.log(np.maximum(v, 1).astype(np.float64))
    return np.where(v <= 2, v, np.floor(logs * logs).astype(np.int64))


N_BINS = int(log_bin(np.array([MAX_INT]))[0]) + 1


def spread_vocab_sizes(low: int, high: int, scale: float = 1.0) -> tuple[int, ...]:
    """26 vocabulary sizes spaced geometrically from ``low`` to ``high`` (times ``scale``), in a
    fixed shuffled order so big and small columns alternate as in real logs.

    >>> sizes = spread_vocab_sizes(3, 50)
    >>> len(sizes), min(sizes), max(sizes)
    (26, 3, 50)
    """
    if not 1 <= low <= high:
        raise ValueError(f"need 1 <= low <= high, got {low}, {high}")
    sizes = np.geomspace(low, high, N_CAT) * scale
    order = np.argsort(np.random.default_rng(0x5EED).random(N_CAT))
    return tuple(max(1, int(round(s))) for s in sizes[order])


@dataclass(frozen=True)
class DataConfig:
    """Everything besides the seed that shapes the truth and the rows.

    >>> DataConfig(vocab_sizes=(10,) * 26).n_libsvm_ids  # 13 * 462 bins + 260 values
    6266
    """

    vocab_sizes: tuple[int, ...] = field(default_factory=lambda: spread_vocab_sizes(10, 10**6))
    interactions: int = 0
    base_rate: float = 0.25
    logit_std: float = 1.5

    def __post_init__(self) -> None:
        if len(self.vocab_sizes) != N_CAT or min(self.vocab_sizes) < 1:
            raise ValueError(f"need {N_CAT} vocabulary sizes >= 1")
        if not 0 <= self.interactions <= N_CAT * (N_CAT - 1) // 2:
            raise ValueError("interactions must be between 0 and 325")
        if not 0.0 < self.base_rate < 1.0 or not self.logit_std > 0.0:
            raise ValueError("need 0 < base_rate < 1 and logit_std > 0")
        if self.n_libsvm_ids >= 2**31:
            raise ValueError("vocabularies too large: libsvm ids must stay below 2**31")

    @property
    def n_libsvm_ids(self) -> int:
        """Largest libsvm feature id (ids start at 1): one per (count column, bin) and per
        (categorical column, value)."""
        return N_INT * N_BINS + sum(self.vocab_sizes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["vocab_sizes"] = list(self.vocab_sizes)
        return d


def _gauss(rng: np.random.Generator, n: int) -> np.ndarray:
    # Box-Muller from uniforms: Generator.standard_normal's algorithm may change across NumPy
    # releases, which would silently change every shipped sample.
    u1, u2 = rng.random(n), rng.random(n)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def _laplace(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-scale Laplace: most effects small, a few large."""
    u = rng.random(n) - 0.5
    return -np.sign(u) * np.log1p(-2.0 * np.abs(u))


def _mix32(x: np.ndarray) -> np.ndarray:
    """A bijection of uint32 (xor-shift-multiply rounds), so distinct codes give distinct
    tokens."""
    x = x.astype(np.uint32)
    for mult in (0x7FEB352D, 0x846CA68B):
        x ^= x >> np.uint32(16)
        x *= np.uint32(mult)
    x ^= x >> np.uint32(16)
    return x


def _mix64_unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hash uint64 keys to two independent uniforms in (0, 1) each."""
    x = x.astype(np.uint64)
    for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        x ^= x >> np.uint64(shift)
        x *= np.uint64(mult)
    x ^= x >> np.uint64(31)
    lo = (x & np.uint64(0xFFFFFFFF)).astype(np.float64)
    hi = (x >> np.uint64(32)).astype(np.float64)
    return (lo + 0.5) / 2.0**32, (hi + 0.5) / 2.0**32


class TruthModel:
    """The per-column value distributions and effects for one ``(seed, config)``.

    >>> m = TruthModel(7, DataConfig(vocab_sizes=spread_vocab_sizes(3, 50)))
    >>> m.token(0, 0) == m.token(0, 0), len(m.token(0, 1))
    (True, 8)
    """

    def __init__(self, seed: int, config: DataConfig | None = None) -> None:
        self.seed = int(seed)
        self.config = config = config or DataConfig()
        self.cat_zipf = np.empty(N_CAT)
        self.cat_missing = np.empty(N_CAT)
        self.cat_salt = np.empty(N_CAT, dtype=np.uint32)
        self.cat_effects: list[np.ndarray] = []
        for j, vocab in enumerate(config.vocab_sizes):
            rng = np.random.default_rng([self.seed, _CAT_PARAMS, j])
            u = rng.random(6)
            self.cat_zipf[j] = 1.05 + 0.45 * u[0]
            self.cat_missing[j] = 0.0 if u[1] < 0.5 else 0.5 * u[2] ** 2
            self.cat_salt[j] = int(u[3] * 2**32)
            scale = math.exp(math.log(0.05) + u[4] * math.log(1.0 / 0.05))
            self.cat_effects.append(scale * _laplace(rng, vocab))

        bins = np.sqrt(np.arange(N_BINS, dtype=np.float64))  # ~ ln(count)
        self.int_params = np.empty((N_INT, 4))  # zero share, lognormal mu, sigma, missing share
        self.int_effects = np.empty((N_INT, N_BINS))
        for k in range(N_INT):
            rng = np.random.default_rng([self.seed, _INT_PARAMS, k])
            u = rng.random(8)
            missing = 0.0 if u[3] < 0.3 else 0.45 * u[4] ** 2
            self.int_params[k] = (0.5 * u[0], 5.0 * u[1], 0.5 + 1.5 * u[2], missing)
            # A smooth, mostly monotone response to the count (clicks rise or fall with
            # activity), plus a little per-bin noise.
            scale = 0.1 + 0.6 * u[5]
            centre, width = 0.5 + 3.0 * u[6], 0.5 + 1.5 * u[7]
            sign = 1.0 if rng.random() < 0.5 else -1.0
            self.int_effects[k] = scale * (
                sign * np.tanh((bins - centre) / width) + 0.2 * _gauss(rng, N_BINS)
            )

        rng = np.random.default_rng([self.seed, _PAIR_PARAMS])
        pairs = [(a, b) for a in range(N_CAT) for b in range(a + 1, N_CAT)]
        order = np.argsort(rng.random(len(pairs)), kind="stable")[: config.interactions]
        self.pairs = [pairs[i] for i in order]
        self.pair_scale = 0.3 + 0.7 * rng.random(len(self.pairs))
        self.pair_key = np.uint64(int(rng.random() * 2**53))

        # Scale and bias so the logit has the requested spread and the clicks the base rate.
        rng = np.random.default_rng([self.seed, _CALIBRATION])
        raw = self._raw_logit(*self._draw_features(rng, _CALIBRATION_ROWS))
        self.scale = config.logit_std / max(float(np.std(raw)), 1e-12)
        self.bias = _solve_bias(self.scale * raw, config.base_rate)

    def token_codes(self, j: int, codes: np.ndarray) -> np.ndarray:
        """The uint32 behind each value code's token in categorical column ``j``."""
        return _mix32(np.asarray(codes, dtype=np.int64) + np.int64(self.cat_salt[j]))

    def token(self, j: int, code: int) -> str:
        """The 8-hex-digit token of value ``code`` in categorical column ``j`` (0-based)."""
        return f"{int(self.token_codes(j, np.array([code]))[0]):08x}"

    def _draw_features(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        cats = np.empty((n, N_CAT), dtype=np.int64)
        for j, vocab in enumerate(self.config.vocab_sizes):
            s = self.cat_zipf[j]
            # Inverse CDF of a power law x**-s on [1, vocab + 1): value code = floor(x) - 1.
            top = (vocab + 1.0) ** (1.0 - s) - 1.0
            x = (1.0 + rng.random(n) * top) ** (1.0 / (1.0 - s))
            cats[:, j] = np.clip(np.floor(x).astype(np.int64) - 1, 0, vocab - 1)
            cats[rng.random(n) < self.cat_missing[j], j] = MISSING
        ints = np.empty((n, N_INT), dtype=np.int64)
        for k in range(N_INT):
            zero, mu, sigma, missing = self.int_params[k]
            counts = np.floor(np.exp(np.minimum(mu + sigma * _gauss(rng, n), 21.0)))
            counts[rng.random(n) < zero] = 0
            ints[:, k] = counts.astype(np.int64)
            ints[rng.random(n) < missing, k] = MISSING
        return ints, cats

    def _raw_logit(self, ints: np.ndarray, cats: np.ndarray) -> np.ndarray:
        logit = np.zeros(len(ints))
        for j, effects in enumerate(self.cat_effects):
            present = cats[:, j] != MISSING
            logit[present] += effects[cats[present, j]]
        bins = log_bin(ints)
        for k in range(N_INT):
            present = bins[:, k] != MISSING
            logit[present] += self.int_effects[k, bins[present, k]]
        for i, (a, b) in enumerate(self.pairs):
            present = (cats[:, a] != MISSING) & (cats[:, b] != MISSING)
            key = (
                self.pair_key
                ^ (np.uint64(i + 1) << np.uint64(42))
                ^ (cats[present, a].astype(np.uint64) << np.uint64(21))
                ^ cats[present, b].astype(np.uint64)
            )
            u1, u2 = _mix64_unit(key)
            logit[present] += (
                self.pair_scale[i] * np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
            )
        return logit

    def block(self, index: int) -> Dataset:
        """Rows ``index * BLOCK_ROWS`` up to the next block, from their own stream."""
        rng = np.random.default_rng([self.seed, _ROWS, index])
        ints, cats = self._draw_features(rng, BLOCK_ROWS)
        prob = _sigmoid(self.bias + self.scale * self._raw_logit(ints, cats))
        labels = (rng.random(BLOCK_ROWS) < prob).astype(np.uint8)
        return Dataset(labels, ints, cats, prob, self)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _solve_bias(logit: np.ndarray, rate: float) -> float:
    lo, hi = -30.0, 30.0
    for _ in range(100):  # bisection: mean sigmoid is increasing in the bias
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.mean(_sigmoid(logit + mid)) < rate else (lo, mid)
    return 0.5 * (lo + hi)


@dataclass
class Dataset:
    """Rows in memory: ``ints`` (n, 13) raw counts and ``cats`` (n, 26) value codes, both -1
    where missing; ``truth_prob`` is each row's click probability under the truth."""

    labels: np.ndarray
    ints: np.ndarray
    cats: np.ndarray
    truth_prob: np.ndarray
    model: TruthModel

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, rows: slice) -> Dataset:
        return Dataset(
            self.labels[rows], self.ints[rows], self.cats[rows], self.truth_prob[rows], self.model
        )

    def int_bins(self) -> np.ndarray:
        """``log_bin`` of every count, -1 where missing."""
        return log_bin(self.ints)

    def tokens(self, j: int) -> list[str]:
        """Column ``C{j+1}`` as strings, '' where missing (for tests and small data)."""
        codes = self.model.token_codes(j, np.maximum(self.cats[:, j], 0))
        return [
            "" if c == MISSING else f"{t:08x}"
            for c, t in zip(self.cats[:, j], codes.tolist(), strict=True)
        ]


def iter_blocks(model: TruthModel, n_rows: int, start: int = 0) -> Iterator[Dataset]:
    """Rows ``start .. start + n_rows - 1`` as consecutive ``Dataset`` chunks (<= BLOCK_ROWS).

    >>> model = TruthModel(1, DataConfig(vocab_sizes=(5,) * 26))
    >>> [len(b) for b in iter_blocks(model, BLOCK_ROWS + 10, start=5)]
    [65531, 15]
    """
    if n_rows < 0 or start < 0:
        raise ValueError("n_rows and start must be non-negative")
    end = start + n_rows
    for index in range(start // BLOCK_ROWS, -(-end // BLOCK_ROWS)):
        lo = index * BLOCK_ROWS
        yield model.block(index)[max(start - lo, 0) : min(end - lo, BLOCK_ROWS)]


def make_dataset(
    n_rows: int, seed: int, config: DataConfig | None = None, start: int = 0
) -> Dataset:
    """Rows ``start .. start + n_rows - 1`` of the log for ``(seed, config)``, in memory.

    >>> ds = make_dataset(500, seed=1, config=DataConfig(vocab_sizes=(5,) * 26))
    >>> len(ds), ds.ints.shape, ds.cats.shape, bool(0.0 < ds.truth_prob.min())
    (500, (500, 13), (500, 26), True)
    """
    model = TruthModel(seed, config)
    parts = list(iter_blocks(model, n_rows, start))
    if not parts:
        return model.block(0)[0:0]
    return Dataset(
        np.concatenate([p.labels for p in parts]),
        np.concatenate([p.ints for p in parts]),
        np.concatenate([p.cats for p in parts]),
        np.concatenate([p.truth_prob for p in parts]),
        model,
    )


def truth_logloss(dataset: Dataset) -> float:
    """Log loss of the true probabilities on the dataset's labels (what a perfect model gets).

    >>> ds = make_dataset(2000, seed=3, config=DataConfig(vocab_sizes=(5,) * 26))
    >>> 0.0 < truth_logloss(ds) < 0.693
    True
    """
    from ftrl_cli.metrics import logloss

    return logloss(dataset.labels, dataset.truth_prob)


if __name__ == "__main__":
    import sys

    from ftrl_cli.datagen_cli import main

    sys.exit(main())
