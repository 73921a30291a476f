"""The compiled kernels against a plain NumPy transcription of Keras's Ftrl.update_step, and
the online fast path against the general gather-then-step path."""

import numpy as np
import pytest
import scipy.sparse as sp

from ftrl_cli.config import OptimizerConfig
from ftrl_cli.errors import NonFiniteError
from ftrl_cli.kernels.ftrl import coordinate_update
from ftrl_cli.kernels.train import train_rows
from ftrl_cli.model import Model
from ftrl_cli.schedules import parse_schedule


def keras_update_numpy(w, z, n, g, lr, l1, l2, shrink, beta, power):
    """Keras 3's Ftrl.update_step, term by term, on NumPy arrays."""
    l2_reg = l2 + beta / (2.0 * lr)
    grad_to_use = g + 2 * shrink * w
    new_n = n + np.square(g)
    z = z + (grad_to_use - (np.power(new_n, -power) - np.power(n, -power)) / lr * w)
    quadratic = np.power(new_n, -power) / lr + 2 * l2_reg
    z_clipped = np.clip(z, -l1, l1)
    return (z_clipped - z) / quadratic, z, new_n


@pytest.mark.parametrize("power", [-0.5, -0.3, 0.0, -1.0])
@pytest.mark.parametrize("l1,l2,shrink,beta", [(0, 0, 0, 0), (0.05, 0.1, 0.02, 0.7)])
def test_coordinate_update_equals_numpy_reference(power, l1, l2, shrink, beta):
    rng = np.random.default_rng(0)
    w = rng.normal(size=500)
    z = rng.normal(size=500)
    n = rng.uniform(0.0, 2.0, size=500)
    g = rng.normal(size=500)
    lr = 0.07
    ref = keras_update_numpy(w, z, n, g, lr, l1, l2, shrink, beta, power)
    for i in range(500):
        got = coordinate_update(w[i], z[i], n[i], g[i], lr, l1, l2, shrink, beta, power)
        for a, b in zip(got, ref):
            # pow() may differ in the last bit; |z| near l1 cancels digits in (clip(z) - z).
            assert a == pytest.approx(b[i], rel=1e-12, abs=1e-12)


def sparse_with_duplicates(n=400, d=64, seed=0):
    rng = np.random.default_rng(seed)
    rows, cols, vals = [], [], []
    for r in range(n):
        k = rng.integers(0, 6)
        idx = rng.integers(0, d, size=k)
        if k and rng.random() < 0.3:
            idx = np.append(idx, idx[0])  # the same feature twice in one record
        rows += [r] * len(idx)
        cols += idx.tolist()
        vals += rng.uniform(-2, 2, size=len(idx)).tolist()
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n, d))
    # csr_matrix((data, (i, j))) sums duplicates; rebuild them unsummed on purpose.
    order = np.lexsort((np.arange(len(rows)), rows))
    indptr = np.searchsorted(np.array(rows)[order], np.arange(n + 1))
    X = sp.csr_matrix((np.array(vals)[order], np.array(cols)[order], indptr), shape=(n, d))
    y = (rng.random(n) < 0.35).astype(float)
    return X, y


CONFIGS = [
    {"learning_rate": 0.2},
    {"learning_rate": 0.2, "l1_regularization_strength": 0.01, "beta": 0.5,
     "l2_regularization_strength": 0.01, "l2_shrinkage_regularization_strength": 0.02},
    {"learning_rate": 0.2, "weight_decay": 0.1, "clipvalue": 0.3, "loss_scale_factor": 4.0},
    {"learning_rate": parse_schedule({"class_name": "InverseTimeDecay", "config": {
        "initial_learning_rate": 0.3, "decay_steps": 10, "decay_rate": 0.5}}),
     "learning_rate_power": -0.7},
]


@pytest.mark.parametrize("cfg", range(len(CONFIGS)))
def test_online_fast_path_equals_general_path(cfg):
    X, y = sparse_with_duplicates()
    w = np.random.default_rng(1).uniform(0.5, 2, size=len(y))
    fast = Model(OptimizerConfig(**CONFIGS[cfg]), 6)
    assert fast._online(1)
    p_fast = fast.train(X, y, w)
    slow = Model(OptimizerConfig(**CONFIGS[cfg]), 6)
    p_slow = np.empty(len(y))
    args = slow._kernel_args()
    state, gbuf, mark, active, pending, ctr, hp, cols, kind, params = args
    train_rows(X.indptr.astype(np.int64), X.indices, X.data, y, w, np.empty(0), state, gbuf,
               mark, active, pending, ctr, hp, cols, kind, params, 1, p_slow)
    np.testing.assert_allclose(p_fast, p_slow, rtol=0, atol=1e-13)
    keep = [0, 1, 2]
    np.testing.assert_allclose(fast.state[:, keep], slow.state[:, keep], rtol=0, atol=1e-13)
    np.testing.assert_array_equal(fast.touched, slow.touched)
    assert (fast.gbuf == 0).all() and (fast.mark == 0).all()


def test_duplicates_add_up_like_a_summed_feature():
    # A feature listed twice acts as one feature with the summed value (Dense on x).
    X, y = sparse_with_duplicates(seed=3)
    summed = X.copy()
    summed.sum_duplicates()
    a = Model(OptimizerConfig(learning_rate=0.2), 6)
    b = Model(OptimizerConfig(learning_rate=0.2), 6)
    np.testing.assert_allclose(a.train(X, y), b.train(summed, y), rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.serving_weights()[0], b.serving_weights()[0], atol=1e-12)


def test_chunking_does_not_change_the_result():
    # A step may span two calls (reader batches): results are identical to one call.
    X, y = sparse_with_duplicates(n=300, seed=5)
    cfg = OptimizerConfig(learning_rate=0.2, use_ema=True, gradient_accumulation_steps=2,
                          clipnorm=0.5)
    one = Model(cfg, 6)
    one.train(X, y, batch_size=7)
    one.flush()
    parts = Model(cfg, 6)
    for s in range(0, 300, 50):
        parts.train(X[s:s + 50], y[s:s + 50], batch_size=7)
    parts.flush()
    np.testing.assert_array_equal(one.state, parts.state)


def test_prediction_text_reads_back():
    from ftrl_cli.kernels.text import LINE_BYTES, format_values

    rng = np.random.default_rng(4)
    values = np.concatenate([rng.random(2000), 10.0 ** rng.uniform(-320, 300, 2000),
                             -rng.normal(scale=30, size=2000), [0.0, 1.0, 1e-4, 9.99999e-5,
                                                                0.9999999999999, 5e-324]])
    buf = np.empty(len(values) * LINE_BYTES, np.uint8)
    lines = bytes(buf[: format_values(values, buf)]).decode().splitlines()
    assert len(lines) == len(values)
    back = np.array([float(x) for x in lines])
    # 9 decimals, or 9 significant digits in scientific form (and subnormals as close as
    # they can be printed).
    err = np.abs(back - values)
    ok = (err <= 5e-10 + 1e-15) | (err <= 5e-9 * np.abs(values)) | (np.abs(values) < 1e-307)
    assert ok.all(), values[~ok]


def test_unaligned_word_loads_and_prefetch_leave_values_alone():
    from numba import njit

    from ftrl_cli.kernels.memory import load_u32le, load_u64le, prefetch, trailing_zeros

    @njit
    def words(buf):
        short = np.empty(buf.shape[0] - 3, np.uint32)
        long = np.empty(buf.shape[0] - 7, np.uint64)
        for i in range(short.shape[0]):
            short[i] = load_u32le(buf, i)
            if i < long.shape[0]:
                long[i] = load_u64le(buf, i)
        return short, long

    @njit
    def zeros(x):
        return trailing_zeros(x)

    @njit
    def touch(state, rows):
        for r in rows:
            prefetch(state, r)
        return state.sum()

    buf = np.random.default_rng(3).integers(0, 256, 64).astype(np.uint8)
    want = [int.from_bytes(buf[i:i + 4].tobytes(), "little") for i in range(61)]
    short, long = words(buf)
    assert short.tolist() == want
    want = [int.from_bytes(buf[i:i + 8].tobytes(), "little") for i in range(57)]
    assert long.tolist() == want
    assert [zeros(np.uint64(x)) for x in (1, 8, 1 << 63, 0, 0b10100)] == [0, 3, 63, 64, 2]
    state = np.arange(40.0).reshape(10, 4)
    before = state.copy()
    assert touch(state, np.array([9, 0, 5])) == before.sum()
    np.testing.assert_array_equal(state, before)
    assert touch(state[:, 0].copy(), np.array([3])) == before[:, 0].sum()


def test_field_end_finds_the_first_separator_like_a_byte_loop():
    # eight bytes at a time: separators at every offset of a word, fields longer than a
    # word, the tail shorter than one, and a run with none
    from ftrl_cli.readers._parse_common import field_end

    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(0, 40))
        buf = rng.choice(np.array([97, 98, 9, 10, 44, 0, 255, 137], np.uint8), n,
                         p=[0.3, 0.3, 0.1, 0.05, 0.1, 0.05, 0.05, 0.05])
        for delim in (9, 44):
            for q in range(n + 1):
                for end in (n, max(q, n - 3)):
                    want = q
                    while want < end and buf[want] not in (delim, 10):
                        want += 1
                    assert field_end(buf, q, end, delim) == want, (buf.tolist(), q, end)


def test_find_newline_finds_the_first_newline_like_a_byte_loop():
    from ftrl_cli.readers._parse_common import find_newline

    rng = np.random.default_rng(12)
    # bytes one bit away from "\n" and with the high bit set, where a word-wise test can slip
    alphabet = np.array([97, 10, 11, 8, 138, 0, 255, 32], np.uint8)
    for _ in range(300):
        n = int(rng.integers(0, 40))
        buf = rng.choice(alphabet, n, p=[0.5, 0.05, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05])
        for pos in range(n + 1):
            for end in (n, max(pos, n - 3)):
                want = pos
                while want < end and buf[want] != 10:
                    want += 1
                assert find_newline(buf, pos, end) == want, (buf.tolist(), pos, end)


def test_scores_are_the_logistic_of_the_margins_bit_for_bit():
    from ftrl_cli.kernels.predict import margins, probabilities, score

    rng = np.random.default_rng(5)
    n, d = 300, 50
    indptr = np.concatenate([[0], np.cumsum(rng.integers(0, 6, n))])
    indices = rng.integers(0, d, indptr[-1]).astype(np.int32)
    values = rng.normal(size=indptr[-1])
    w = rng.normal(scale=20, size=d)  # margins far out on both sides
    m = margins(indptr, indices, values, w, 0.25)
    want = np.array([0.25 + sum(w[indices[k]] * values[k]
                                for k in range(indptr[r], indptr[r + 1])) for r in range(n)])
    np.testing.assert_allclose(m, want, rtol=1e-12, atol=1e-9)
    p = score(indptr, indices, values, w, 0.25)
    assert np.array_equal(p, probabilities(m))
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-m)), rtol=1e-12, atol=1e-300)
    assert np.array_equal(score(indptr, indices, values, w, 0.25, logistic=False), m)


def test_vw_name_end_finds_the_first_stop_byte_like_a_byte_loop():
    from ftrl_cli.readers._parse_vw import _name_end

    rng = np.random.default_rng(13)
    stops = (9, 32, 58, 124)
    # the stop bytes, their neighbours and high-bit bytes, where a word-wise test can slip
    alphabet = np.array([97, 9, 32, 58, 124, 8, 33, 59, 125, 188, 160, 0, 255], np.uint8)
    weights = np.array([8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], float)
    for _ in range(300):
        n = int(rng.integers(0, 40))
        buf = rng.choice(alphabet, n, p=weights / weights.sum())
        for p in range(n + 1):
            for le in (n, max(p, n - 3)):
                want = p
                while want < le and buf[want] not in stops:
                    want += 1
                assert _name_end(buf, p, le) == want, (buf.tolist(), p, le)


def test_sqrt_pair_equals_scalar_square_roots_bit_for_bit():
    from ftrl_cli.kernels.jit import njit
    from ftrl_cli.kernels.simd import sqrt_pair

    @njit
    def pairs(a, b, out_a, out_b):
        for i in range(a.shape[0]):
            out_a[i], out_b[i] = sqrt_pair(a[i], b[i])

    rng = np.random.default_rng(7)
    a = np.concatenate([rng.random(2000) * 10.0 ** rng.integers(-320, 300, 2000),
                        [0.0, 5e-324, 1e-310, 1.0, 2.0, np.inf, np.finfo(float).max]])
    # float32 too (the --state-dtype float32 accumulator), alone and beside a float64
    for ta, tb in [(np.float64, np.float64), (np.float32, np.float64), (np.float64, np.float32),
                   (np.float32, np.float32)]:
        with np.errstate(over="ignore"):  # the largest values become float32 inf, on purpose
            x, y = a.astype(ta), rng.permutation(a).astype(tb)
        got_x, got_y = np.empty_like(x), np.empty_like(y)
        pairs(x, y, got_x, got_y)
        assert np.array_equal(got_x, np.sqrt(x)) and np.array_equal(got_y, np.sqrt(y))


def test_online_repeats_in_long_records_equal_general_path_bit_for_bit():
    # Records of up to 400 features, many of them repeated several times: the online
    # kernel's record-local sums (a small open-addressing table) must give exactly the
    # general path's per-coordinate sums, applied once per coordinate.
    rng = np.random.default_rng(7)
    lengths = rng.integers(0, 400, size=60)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    # few distinct coordinates per record: many repeats and probe collisions
    indices = rng.integers(0, 1 << 12, size=indptr[-1]).astype(np.int32)
    indices[::3] = rng.integers(0, 40, size=len(indices[::3]))
    data = rng.uniform(-1, 1, size=indptr[-1])
    y = (rng.random(len(lengths)) < 0.4).astype(float)
    w = np.ones(len(lengths))
    cfg = OptimizerConfig(learning_rate=0.1, l1_regularization_strength=0.01)
    fast = Model(cfg, 12)
    assert fast._online(1)
    p_fast = fast.train_csr(indptr, indices, data, y, w)
    slow = Model(cfg, 12)
    p_slow = np.empty(len(y))
    state, gbuf, mark, active, pending, ctr, hp, cols, kind, params = slow._kernel_args()
    train_rows(indptr, indices, data, y, w, np.empty(0), state, gbuf, mark, active, pending,
               ctr, hp, cols, kind, params, 1, p_slow)
    np.testing.assert_array_equal(p_fast, p_slow)
    np.testing.assert_array_equal(fast.state[:, :3], slow.state[:, :3])
    np.testing.assert_array_equal(fast.touched, slow.touched)
    assert (fast.gbuf == 0).all() and (fast.mark == 0).all()


def test_large_tables_are_zeroed_aligned_and_independent():
    from ftrl_cli.table_memory import HUGE_PAGE, zeros

    a = zeros((1 << 20, 4))
    b = zeros((1 << 20, 4))
    assert a.ctypes.data % HUGE_PAGE == 0 and not a.any()
    a[12345, 2] = 1.5
    assert not b.any() and a.sum() == 1.5
    assert zeros(10, np.uint8).tolist() == [0] * 10


COMPACT_CONFIGS = [
    {"learning_rate": 0.2, "beta": 1.0},
    {"learning_rate": 0.2, "l1_regularization_strength": 0.01, "beta": 0.5,
     "l2_regularization_strength": 0.01, "l2_shrinkage_regularization_strength": 0.02,
     "initial_accumulator_value": 0.0},
    {"learning_rate": 0.1, "l2_regularization_strength": 0.3, "clipvalue": 0.3,
     "loss_scale_factor": 4.0},
    {"learning_rate": 0.3},  # Keras's defaults otherwise: no L1, L2 or beta
    {"learning_rate": 0.3, "initial_accumulator_value": 0.0, "l1_regularization_strength": 0.02},
]


@pytest.mark.parametrize("cfg", range(len(COMPACT_CONFIGS)))
def test_compact_rows_equal_full_rows_bit_for_bit(cfg):
    # 16-byte rows recompute each weight from (linear, accumulator): predictions, saved
    # rows, scores and a conversion to full rows mid-training equal the full layout's.
    X, y = sparse_with_duplicates(n=1500, seed=4)
    w = np.random.default_rng(1).uniform(0, 2, size=len(y))
    config = OptimizerConfig(**COMPACT_CONFIGS[cfg])
    full, small = Model(config, 6), Model(config, 6, compact=True)
    assert small.compact and not full.compact
    assert small._state.shape[1] == 2
    np.testing.assert_array_equal(full.train(X, y, w), small.train(X, y, w))
    rows_full, sub_full = full.synced_rows()
    rows_small, sub_small = small.synced_rows()
    np.testing.assert_array_equal(rows_full, rows_small)
    np.testing.assert_array_equal(sub_full[:, :3], sub_small[:, :3])
    args = (X.indptr, X.indices, X.data)
    np.testing.assert_array_equal(full.predict_csr(*args), small.predict_csr(*args))
    np.testing.assert_array_equal(full.serving_weights()[0], small.serving_weights()[0])
    np.testing.assert_array_equal(small.state[:, :3], full.state[:, :3])  # converts
    assert not small.compact
    np.testing.assert_array_equal(full.train(X, y, w), small.train(X, y, w))
    np.testing.assert_array_equal(small.state, full.state)


def test_compact_rows_only_where_weights_are_recomputable():
    base = {"learning_rate": 0.1, "beta": 1.0}
    assert Model(OptimizerConfig(**base), 4, compact=True).compact
    for extra in ({"weight_decay": 0.01}, {"use_ema": True}, {"clipnorm": 1.0},
                  {"gradient_accumulation_steps": 2}, {"learning_rate_power": -0.3}):
        assert not Model(OptimizerConfig(**{**base, **extra}), 4, compact=True).compact
    assert not Model(OptimizerConfig(**base), 4, dtype=np.float32, compact=True).compact
    schedule = parse_schedule({"class_name": "InverseTimeDecay", "config": {
        "initial_learning_rate": 0.3, "decay_steps": 10, "decay_rate": 0.5}})
    assert not Model(OptimizerConfig(learning_rate=schedule, beta=1.0), 4, compact=True).compact


def test_compact_zero_accumulator_fails_where_keras_does():
    # Initial accumulator 0, no L2 or beta and a zero gradient: Keras's new weight is 0 / 0.
    for compact in (False, True):
        m = Model(OptimizerConfig(learning_rate=0.5, initial_accumulator_value=0.0), 4,
                  compact=compact)
        assert m.compact == compact
        with pytest.raises(NonFiniteError) as e:
            m.train_csr(np.array([0, 1]), np.array([3], np.int32), np.zeros(1), np.ones(1))
        assert e.value.row == 0


def test_compact_nonfinite_margin_leaves_no_marks():
    # A record whose margin is not finite stops training; the rows it read must be left
    # exactly as they were (their accumulators were marked while reading it).
    m = Model(OptimizerConfig(learning_rate=0.5, beta=1.0), 4, compact=True)
    m.train_csr(np.array([0, 2]), np.array([1, 2], np.int32), np.ones(2), np.ones(1))
    before = m._state.copy()
    with pytest.raises(NonFiniteError):
        m.train_csr(np.array([0, 2]), np.array([1, 3], np.int32), np.array([1.0, np.inf]),
                    np.ones(1))
    np.testing.assert_array_equal(m._state, before)
