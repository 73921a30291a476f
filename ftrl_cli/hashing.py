"""MurmurHash3 (x86, 32-bit) and the feature hashing scheme shared by every reader.

Every feature lands on one of ``2**hash_bits`` coordinates::

    seed(ns)           = murmur3(ns_bytes, seed=0)
    coordinate(ns, n)  = murmur3(name_bytes, seed=seed(ns)) & (2**hash_bits - 1)

with names and namespaces taken as their raw (UTF-8) bytes.

* ``vw``: ``ns`` is the namespace name (a bare ``|`` is the namespace ``""``), ``n`` the
  feature name (the part before ``:value``); the value is ``value * namespace scale``.
* ``csv``/``tsv``/``criteo`` categorical column ``col`` with value ``v``: ``ns = col``,
  ``n = v``, value 1.  An empty field is missing and yields no feature.
* numeric column ``col``: the feature with the *empty* name in namespace ``col``,
  i.e. ``coordinate(col, "")``, value = the number.  Empty fields are missing, so no
  categorical value of any column ever hashes the empty name: a numeric column can only
  meet a categorical feature by an ordinary hash collision.  (A vw feature ``:3`` in
  namespace ``price`` deliberately means the same thing as a numeric column ``price``.)
* ``criteo`` integer columns ``I1..I13`` are heavy-tailed counts; they become the
  categorical value ``str(b)`` of column ``I<k>`` where ``b = v`` if ``v <= 2``
  (negatives included) else ``floor(ln(v)**2)``.
* ``libsvm``: coordinate = the given index modulo ``2**hash_bits``, no hashing.

Features whose value is exactly zero are dropped; duplicates within a record add up.
"""

from __future__ import annotations

import numpy as np

from ftrl_cli.kernels.jit import njit
from ftrl_cli.kernels.memory import load_u32le

_M32 = 0xFFFFFFFF
_U = np.uint32
# kernels hash inside buffers that keep this many readable bytes after their data
HASH_PAD = 4


@njit(nogil=True, cache=True, inline="always")
def _mix_block(k):
    k = _U(k * _U(0xCC9E2D51))
    k = _U((k << _U(15)) | (k >> _U(17)))
    return _U(k * _U(0x1B873593))


@njit(nogil=True, cache=True, inline="always")
def _step(h, block):
    h ^= _mix_block(block)
    h = _U((h << _U(13)) | (h >> _U(19)))
    return _U(h * _U(5) + _U(0xE6546B64))


@njit(nogil=True, cache=True, inline="always")
def _blocks(buf, i, stop, h):
    while i < stop:
        h = _step(h, load_u32le(buf, i))
        i += 4
    return h


@njit(nogil=True, cache=True, inline="always")
def _finish(h, tail, n):
    # mixing an all-zero tail is a no-op, so a missing tail needs no branch
    h ^= _mix_block(tail)
    h ^= _U(n)
    h ^= h >> _U(16)
    h = _U(h * _U(0x85EBCA6B))
    h ^= h >> _U(13)
    h = _U(h * _U(0xC2B2AE35))
    h ^= h >> _U(16)
    return h


@njit(nogil=True, cache=True)
def murmur3_32(buf, start, end, seed):
    """MurmurHash3 x86_32 of ``buf[start:end]`` (a uint8 array) with a 32-bit ``seed``.

    Every intermediate is cut back to uint32, so products wrap exactly as in the reference.

    >>> import numpy as np
    >>> hex(murmur3_32(np.frombuffer(b"abc", np.uint8), 0, 3, 0))
    '0xb3dd93fa'
    """
    n = end - start
    stop = start + (n & ~3)
    h = _blocks(buf, start, stop, _U(seed))
    tail = _U(0)
    j = end - 1
    while j >= stop:
        tail = _U((tail << _U(8)) | _U(buf[j]))
        j -= 1
    return _finish(h, tail, n)


@njit(nogil=True, cache=True, inline="always")
def murmur3_32_padded(buf, start, end, seed):
    """``murmur3_32`` for the parse kernels: reads up to ``HASH_PAD`` bytes past ``end``.

    The tail is one word load, masked, without branches, which keeps the kernels' hot loops
    measurably faster; ``buf`` must have ``HASH_PAD`` readable bytes after ``end``.

    >>> import numpy as np
    >>> hex(murmur3_32_padded(np.frombuffer(b"abc" + bytes(4), np.uint8), 0, 3, 0))
    '0xb3dd93fa'
    """
    n = end - start
    stop = start + (n & ~3)
    h = _blocks(buf, start, stop, _U(seed))
    mask = _U((np.uint64(1) << np.uint64(8 * (end - stop))) - np.uint64(1))
    return _finish(h, load_u32le(buf, stop) & mask, n)


@njit(nogil=True, cache=True, inline="always")
def _word_block(w0, w1, w2, k):
    """The ``k``-th 4-byte block of the 24 bytes held little-endian in ``w0, w1, w2``."""
    word = w0 if k < 2 else (w1 if k < 4 else w2)
    return _U((word >> np.uint64(32 * (k & 1))) & np.uint64(0xFFFFFFFF))


@njit(nogil=True, cache=True)
def murmur3_32_decimal(v, seed):
    """``murmur3_32`` of ``str(v)`` for an int64 ``v`` of at most 18 digits.

    The text is built in three registers, not in a scratch array: a kernel that allocates
    one makes numba load its array module when the kernel is loaded (about 20 ms).

    >>> murmur3_32_decimal(-42, 7) == murmurhash3_32(b"-42", 7)
    True
    """
    neg = v < 0
    u = -v if neg else v
    n = 2 if neg else 1
    t = u // 10
    while t != 0:
        n += 1
        t //= 10
    w0 = w1 = w2 = np.uint64(0)
    pos = n - 1
    while True:
        byte = np.uint64(48 + u % 10) << np.uint64(8 * (pos & 7))
        if pos < 8:
            w0 |= byte
        elif pos < 16:
            w1 |= byte
        else:
            w2 |= byte
        pos -= 1
        u //= 10
        if u == 0:
            break
    if neg:
        w0 |= np.uint64(45)
    h = _U(seed)
    for k in range(n >> 2):
        h = _step(h, _word_block(w0, w1, w2, k))
    # the bytes past the text are zero, so the tail block needs no mask
    return _finish(h, _word_block(w0, w1, w2, n >> 2), n)


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def murmurhash3_32(data: bytes | str, seed: int = 0) -> int:
    """MurmurHash3 x86_32 of ``data`` (``str`` is hashed as UTF-8) as an unsigned int.

    >>> hex(murmurhash3_32("Hello, world!", seed=0x9747B28C))
    '0x24884cba'
    """
    if not 0 <= seed <= _M32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    raw = np.frombuffer(_as_bytes(data), dtype=np.uint8)
    return int(murmur3_32(raw, 0, raw.shape[0], seed))


def namespace_seed(namespace: bytes | str) -> int:
    """The seed that hashes the feature names of ``namespace`` (a vw namespace or a column).

    >>> namespace_seed("") == murmurhash3_32(b"", 0)
    True
    """
    return murmurhash3_32(namespace, 0)


def feature_index(namespace: bytes | str, name: bytes | str, hash_bits: int) -> int:
    """The coordinate of feature ``name`` in ``namespace`` (see the module docstring).

    >>> feature_index("", "a", 18) == murmurhash3_32("a", namespace_seed("")) & (2**18 - 1)
    True
    """
    return murmurhash3_32(name, namespace_seed(namespace)) & ((1 << hash_bits) - 1)


def numeric_column_index(column: bytes | str, hash_bits: int) -> int:
    """The coordinate of numeric column ``column``: the empty name in its namespace.

    >>> numeric_column_index("price", 20) == feature_index("price", "", 20)
    True
    """
    return feature_index(column, b"", hash_bits)
