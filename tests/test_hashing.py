"""MurmurHash3 x86_32 against published vectors and an independent pure-Python version."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ftrl_cli.hashing import (
    HASH_PAD,
    feature_index,
    murmur3_32,
    murmur3_32_padded,
    murmurhash3_32,
    namespace_seed,
    numeric_column_index,
)


def reference_murmur3(data: bytes, seed: int = 0) -> int:
    """Straight transcription of the MurmurHash3_x86_32 algorithm, on Python ints."""

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF

    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    nblocks = len(data) // 4
    for b in range(nblocks):
        k = int.from_bytes(data[4 * b : 4 * b + 4], "little")
        k = rotl((k * c1) & 0xFFFFFFFF, 15) * c2 & 0xFFFFFFFF
        h = rotl(h ^ k, 13)
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail = data[4 * nblocks :]
    if tail:
        k = int.from_bytes(tail, "little")
        k = rotl((k * c1) & 0xFFFFFFFF, 15) * c2 & 0xFFFFFFFF
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


VECTORS = [
    (b"", 0, 0),
    (b"", 1, 0x514E28B7),
    (b"", 0xFFFFFFFF, 0x81F16F39),
    (b"\xff\xff\xff\xff", 0, 0x76293B50),
    (b"!Ce\x87", 0, 0xF55B516B),
    (b"Hello, world!", 0x9747B28C, 0x24884CBA),
    (b"The quick brown fox jumps over the lazy dog", 0x9747B28C, 0x2FA826CD),
    (b"aaaa", 0x9747B28C, 0x5A97808A),
    (b"abc", 0, 0xB3DD93FA),
]


@pytest.mark.parametrize(("data", "seed", "expected"), VECTORS)
def test_published_vectors(data: bytes, seed: int, expected: int) -> None:
    assert reference_murmur3(data, seed) == expected
    assert murmurhash3_32(data, seed) == expected


@pytest.mark.parametrize(("data", "seed", "expected"), VECTORS)
def test_kernel_functions_on_slices(data: bytes, seed: int, expected: int) -> None:
    # embedded in a larger buffer: only [start, end) may count
    buf = np.frombuffer(b"\x01\x02" + data + b"\xfe\xfd\xfc", np.uint8)
    assert murmur3_32(buf, 2, 2 + len(data), seed) == expected
    assert murmur3_32_padded(buf, 2, 2 + len(data), seed) == expected


@given(st.binary(max_size=64), st.integers(0, 2**32 - 1))
def test_matches_reference_on_random_input(data: bytes, seed: int) -> None:
    expected = reference_murmur3(data, seed)
    assert murmurhash3_32(data, seed) == expected
    padded = np.frombuffer(data + b"\xaa" * HASH_PAD, np.uint8)
    assert murmur3_32_padded(padded, 0, len(data), seed) == expected


def test_str_is_hashed_as_utf8() -> None:
    assert murmurhash3_32("héllo") == reference_murmur3("héllo".encode())


def test_seed_out_of_range() -> None:
    with pytest.raises(ValueError):
        murmurhash3_32(b"a", 2**32)


def test_feature_scheme() -> None:
    bits = 20
    seed = reference_murmur3(b"user")
    assert namespace_seed("user") == seed
    assert feature_index("user", "alice", bits) == reference_murmur3(b"alice", seed) % 2**bits
    assert (
        numeric_column_index("price", bits)
        == reference_murmur3(b"", reference_murmur3(b"price")) % 2**bits
    )


def test_decimal_hash_equals_hashing_the_text():
    from ftrl_cli.hashing import murmur3_32_decimal

    rng = np.random.default_rng(3)
    edges = [0, 1, -1, 9, 10, -10, 99, 100, 10**17, 10**18 - 1, -(10**18 - 1)]
    values = edges + rng.integers(-(10**18) + 1, 10**18, 500).tolist() + list(range(-1100, 2100))
    for v in values:
        for seed in (0, 0x9747B28C):
            assert murmur3_32_decimal(v, seed) == murmurhash3_32(str(v), seed), (v, seed)
