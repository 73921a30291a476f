"""MurmurHash3 (x86, 32-bit) and the feature hashing scheme shared by every reader.

Every feature lands on one of ``2**hash_bits`` coordinates::

    seed(ns)           = hash(ns_bytes, seed=0)
    coordinate(ns, n)  = hash(name_bytes, seed=seed(ns)) & (2**hash_bits - 1)

with names and namespaces taken as their raw (UTF-8) bytes, and ``hash`` chosen by the
hash mode (``--hash``, Vowpal Wabbit's option and names; recorded in the model):

* ``strings`` (the default for new models), Vowpal Wabbit's default: bytes up to 0x20
  (spaces, control characters) are trimmed from both ends of the text; if what is left is
  all ASCII digits (or empty), ``hash(text, seed) = int(text) + seed``, with the decimal
  value and the sum wrapping modulo 2**32 as Vowpal Wabbit's 64-bit arithmetic does in the
  low 32 bits (the only ones a coordinate uses); otherwise it is ``murmur3`` of the trimmed
  text.  So the small integer features ``13``, ``24`` of one namespace never collide, a
  namespace ``13`` has the seed 13, and the empty name is the namespace's seed itself.
* ``all``: ``murmur3`` of the text as it is, digits or not (models written before the mode
  was recorded use it).

* ``vw``: ``ns`` is the namespace name (a bare ``|`` is the namespace ``""``), ``n`` the
  feature name (the part before ``:value``); the value is ``value * namespace scale``.
  With ``strings``, nameless features (``:3``) are numbered as Vowpal Wabbit does: the
  k-th one of a ``|ns`` group (k = 0, 1, ...; zero values count) is at ``seed(ns) + k``.
  ``name:`` with nothing after the colon is Vowpal Wabbit's string value: the next word
  ``w`` (after spaces) is hashed as ``hash(w, seed=hash(name, seed(ns)))`` with value 1,
  or, at the end of the line, the feature ``name`` with value 1 (no namespace scale).
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


HASH_MODES = ("strings", "all")
_SPACE = 32


@njit(nogil=True, cache=True, inline="always")
def _non_digits(w):
    """Zero iff the four bytes of ``w`` are ASCII digits: a byte is a digit iff its high
    nibble is 3 and adding 6 keeps it 3."""
    hi = (w & _U(0xF0F0F0F0)) | (((w + _U(0x06060606)) & _U(0xF0F0F0F0)) >> _U(4))
    return hi ^ _U(0x33333333)


@njit(nogil=True, cache=True, inline="always")
def _hash_string(buf, start, end, seed):
    """``strings``-mode hash of the trimmed ``buf[start:end]``: ``murmur3_32_padded`` that
    tests the words it hashes for digits on the way, so the test costs no extra loads or
    branches (a byte loop stopping at the first non-digit mispredicted its exit on most
    hex-like names, which cost the criteo parse a third of its time)."""
    n = end - start
    stop = start + (n & ~3)
    h = _U(seed)
    other = _U(0)
    i = start
    while i < stop:
        w = load_u32le(buf, i)
        other |= _non_digits(w)
        h = _step(h, w)
        i += 4
    keep = _U((np.uint64(1) << np.uint64(8 * (end - stop))) - np.uint64(1))
    tail = load_u32le(buf, stop) & keep
    other |= _non_digits(tail | (_U(0x30303030) & ~keep))  # the bytes past the end as '0'
    if other == 0:
        v = _U(0)
        for p in range(start, end):
            v = _U(v * _U(10) + _U(np.int64(buf[p]) - 48))
        return _U(v + _U(seed))
    return _finish(h, tail, n)


@njit(nogil=True, cache=True, inline="always")
def hash_text(buf, start, end, seed, strings):
    """The hash of ``buf[start:end]`` in the hash mode (``strings`` true, or ``all``).

    Same padding contract as ``murmur3_32_padded``.

    >>> import numpy as np
    >>> int(hash_text(np.frombuffer(b" 13 " + bytes(4), np.uint8), 0, 4, 5, True))
    18
    """
    if not strings:
        return murmur3_32_padded(buf, start, end, seed)
    # Vowpal Wabbit trims bytes up to 0x20; names rarely have any, so test before looping
    if start < end and (buf[start] <= _SPACE or buf[end - 1] <= _SPACE):
        while start < end and buf[start] <= _SPACE:
            start += 1
        while end > start and buf[end - 1] <= _SPACE:
            end -= 1
    return _hash_string(buf, start, end, seed)


@njit(nogil=True, cache=True)
def hash_decimal(v, seed, strings):
    """``hash_text`` of ``str(v)`` for an int64 ``v`` of at most 18 digits.

    >>> int(hash_decimal(7, 5, True)), hash_decimal(-7, 5, True) == murmurhash3_32("-7", 5)
    (12, True)
    """
    if strings and v >= 0:
        return _U((np.uint64(v) + np.uint64(seed)) & np.uint64(_M32))
    return murmur3_32_decimal(v, seed)


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


def hash_name(data: bytes | str, seed: int = 0, hash_mode: str = "all") -> int:
    """The hash of a name or namespace in ``hash_mode`` (see the module docstring).

    >>> hash_name("13", 5, "strings"), hash_name(" a ", 0, "strings") == murmurhash3_32("a")
    (18, True)
    """
    if hash_mode not in HASH_MODES:
        raise ValueError(f"hash_mode must be one of {HASH_MODES}, got {hash_mode!r}")
    if not 0 <= seed <= _M32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    raw = np.frombuffer(_as_bytes(data) + bytes(HASH_PAD), dtype=np.uint8)
    return int(hash_text(raw, 0, raw.shape[0] - HASH_PAD, seed, hash_mode == "strings"))


def namespace_seed(namespace: bytes | str, hash_mode: str = "all") -> int:
    """The seed that hashes the feature names of ``namespace`` (a vw namespace or a column).

    >>> namespace_seed("") == murmurhash3_32(b"", 0), namespace_seed("13", "strings")
    (True, 13)
    """
    return hash_name(namespace, 0, hash_mode)


def feature_index(namespace: bytes | str, name: bytes | str, hash_bits: int,
                  hash_mode: str = "all") -> int:
    """The coordinate of feature ``name`` in ``namespace`` (see the module docstring).

    >>> feature_index("", "a", 18) == murmurhash3_32("a", namespace_seed("")) & (2**18 - 1)
    True
    >>> feature_index("f", "13", 18, "strings") - feature_index("f", "12", 18, "strings")
    1
    """
    seed = namespace_seed(namespace, hash_mode)
    return hash_name(name, seed, hash_mode) & ((1 << hash_bits) - 1)


def numeric_column_index(column: bytes | str, hash_bits: int, hash_mode: str = "all") -> int:
    """The coordinate of numeric column ``column``: the empty name in its namespace.

    >>> numeric_column_index("price", 20) == feature_index("price", "", 20)
    True
    """
    return feature_index(column, b"", hash_bits, hash_mode)
