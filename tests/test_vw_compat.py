"""What Vowpal Wabbit accepts: records without '|', 'name:' values, base margins, and
``--hash strings`` coordinates in every format, checked against Vowpal Wabbit itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from readers_reference import BITS, criteo_line, error_of, read, write

from ftrl_cli.hashing import feature_index, hash_name, murmurhash3_32, namespace_seed
from ftrl_cli.readers import read_batches, resolve_spec

M = (1 << BITS) - 1


def fs(ns: str, name: str) -> int:
    return feature_index(ns, name, BITS, "strings")


def batches(path: str, fmt: str, **opts) -> list:
    spec = resolve_spec([path], format=fmt, hash_bits=BITS, **opts)
    return list(read_batches([path], spec))


def test_a_line_without_bar_is_a_record_with_no_features(tmp_path: Path) -> None:
    p = write(tmp_path, "a.vw", "1 'ad7\n-1 0.5 'x\n1\n0 tail\n1 |a b\n")
    assert read([p], "vw") == [
        (p, 1, 1.0, 1.0, "ad7", []),
        (p, 2, 0.0, 0.5, "x", []),
        (p, 3, None, 1.0, "1", []),  # as in Vowpal Wabbit: the last word is the tag
        (p, 4, 0.0, 1.0, "tail", []),
        (p, 5, 1.0, 1.0, None, [(feature_index("a", "b", BITS), 1.0)]),
    ]


@pytest.mark.parametrize("mode", ["strings", "all"])
def test_name_colon_without_number_is_a_string_value(tmp_path: Path, mode: str) -> None:
    p = write(tmp_path, "a.vw", "1 |f:2 a: b c\n1 |f:3 a:\n1 |f a:|g x\n")

    def h(ns: str, *names: str) -> int:
        seed = namespace_seed(ns, mode)
        for name in names:
            seed = hash_name(name, seed, mode)
        return seed & M

    assert read([p], "vw", hash_mode=mode) == [
        (p, 1, 1.0, 1.0, None, [(h("f", "a", "b"), 1.0), (h("f", "c"), 2.0)]),
        (p, 2, 1.0, 1.0, None, [(h("f", "a"), 1.0)]),
        (p, 3, 1.0, 1.0, None, [(h("f", "a", "|g"), 1.0), (h("f", "x"), 1.0)]),
    ]


def test_third_header_number_is_the_base(tmp_path: Path) -> None:
    p = write(tmp_path, "a.vw", "1 2 0.25 't |a b\n0 |a b\n-1 1 -1.5e-1 |a\n")
    (b,) = batches(p, "vw")
    assert b.base.tolist() == [0.25, 0.0, -0.15]
    assert b.weights.tolist() == [2.0, 1.0, 1.0]
    assert b.tags == ["t", None, None]
    q = write(tmp_path, "b.vw", "1 |a b\n")
    assert batches(q, "vw")[0].base is None
    assert error_of([write(tmp_path, "c.vw", "1 |a\n1 1 1e999 |a\n")], "vw").endswith(
        "c.vw:2: bad base '1e999' (expected a number: label importance base)")


def test_base_in_parallel_batches(tmp_path: Path) -> None:
    text = "".join(f"1 1 {i % 7} |a b\n" if i % 3 else "0 |a c\n" for i in range(3000))
    p = write(tmp_path, "a.vw", text)
    spec = resolve_spec([p], hash_bits=BITS)
    seq = list(read_batches([p], spec))
    par = list(read_batches([p], spec, batch_rows=100, chunk_bytes=4096, workers=2))
    want = [float(i % 7) if i % 3 else 0.0 for i in range(3000)]
    assert np.concatenate([b.base for b in seq]).tolist() == want
    assert np.concatenate([b.base if b.base is not None else np.zeros(len(b))
                           for b in par]).tolist() == want


def test_strings_mode_hashstring_rules() -> None:
    seed = namespace_seed("f", "strings")
    assert seed == murmurhash3_32("f")
    assert hash_name("13", seed, "strings") == (13 + seed) % 2**32
    assert hash_name(" 13\t", seed, "strings") == hash_name("13", seed, "strings")
    assert hash_name(" ab ", seed, "strings") == murmurhash3_32("ab", seed)
    assert hash_name("", seed, "strings") == seed
    assert hash_name("-13", seed, "strings") == murmurhash3_32("-13", seed)
    # 64-bit decimal arithmetic, of which a coordinate keeps the low 32 bits
    big = "123456789012345678901234567890"
    assert hash_name(big, 5, "strings") == (int(big) + 5) % 2**64 % 2**32
    assert namespace_seed("13", "strings") == 13
    assert hash_name("13", 0, "all") == murmurhash3_32("13")


def test_vw_strings_mode_digits_and_nameless(tmp_path: Path) -> None:
    p = write(tmp_path, "a.vw", "1 |f 13:0.5 24 |13 5 |f :3 :0 :4\n")
    seed = murmurhash3_32("f")
    ((*_, feats),) = read([p], "vw", hash_mode="strings")
    assert feats == [((seed + 13) & M, 0.5), ((seed + 24) & M, 1.0), (18, 1.0),
                     (seed & M, 3.0), ((seed + 2) & M, 4.0)]


def test_same_feature_same_coordinate_in_every_format(tmp_path: Path) -> None:
    vw = write(tmp_path, "a.vw", "1 |I1 5 |C1 68fd1e64 |price :2.5 |c 13\n")
    csv = write(tmp_path, "a.csv", "label,I1,C1,price,c\n1,5,68fd1e64,2.5,13\n")
    crit = write(tmp_path, "a.criteo", criteo_line("1", ["5"] + [""] * 12,
                                                   ["68fd1e64"] + [""] * 25) + "\n")
    ((*_, from_vw),) = read([vw], "vw", hash_mode="strings")
    ((*_, from_csv),) = read([csv], "csv", hash_mode="strings", numeric_columns="price")
    ((*_, from_criteo),) = read([crit], "criteo", hash_mode="strings")
    assert from_vw == from_csv
    i1 = fs("I1", "5")  # log bin of 5 is floor(ln(5)**2) = 2
    assert from_criteo == [(fs("I1", "2"), 1.0), (fs("C1", "68fd1e64"), 1.0)]
    assert i1 == (murmurhash3_32("I1") + 5) & M
    assert from_csv[2] == (murmurhash3_32("price") & M, 2.5)


def test_criteo_reads_true_false_labels(tmp_path: Path) -> None:
    row = criteo_line("{}", ["1"] * 13, ["c"] * 26)
    p = write(tmp_path, "a.criteo", "".join(row.format(v) + "\n"
                                            for v in ("true", "FALSE", "True", "0")))
    assert [r[2] for r in read([p], "criteo")] == [1.0, 0.0, 1.0, 0.0]
    bad = write(tmp_path, "b.criteo", row.format("yes") + "\n")
    assert "bad label 'yes' (expected 0/1, -1/1 or true/false)" in error_of([bad], "criteo")


RCV1 = [
    "1 |f 13:3.9656971e-02 24:3.4781646e-02 69:4.6296168e-02 85:6.0507506e-02",
    "0 |f 9:8.5609287e-02 14:2.9904654e-02 19:6.1031535e-02 20:2.1757640e-02",
    "1 | 13:0.5 24 1000000007:2 |g 5 x |17 4 y |99999999999 7 q",
    "1 |f 12345678901234567890123 :1 :2 a:",
]


def _vw_coordinates(line: str, bits: int) -> list[tuple[int, float]]:
    """Coordinates and values of ``line`` as Vowpal Wabbit itself hashes them."""
    pyvw = pytest.importorskip("vowpalwabbit.pyvw")
    import pylibvw

    vw = pyvw.Workspace(f"--quiet -b {bits}")
    try:
        ex = vw.parse(line)
        shift = int(vw.get_stride()).bit_length() - 1
        out = []
        for i in range(ex.num_namespaces()):
            ns = pylibvw.example.namespace(ex, i)
            if ns == 128:  # the constant (bias) feature
                continue
            for j in range(pylibvw.example.num_features_in(ex, ns)):
                index = pylibvw.example.feature(ex, ns, j)
                out.append(((index >> shift) & ((1 << bits) - 1),
                            pylibvw.example.feature_weight(ex, ns, j)))
        vw.finish_example(ex)
        return out
    finally:
        vw.finish()


@pytest.mark.parametrize("line", RCV1)
def test_coordinates_equal_vowpal_wabbits(tmp_path: Path, line: str) -> None:
    want = _vw_coordinates(line, BITS)
    ((*_, got),) = read([write(tmp_path, "a.vw", line + "\n")], "vw", hash_mode="strings")
    assert [i for i, _ in got] == [i for i, _ in want]
    assert np.allclose([v for _, v in got], [v for _, v in want], rtol=1e-7)


def _hashstring(text: bytes, seed: int) -> int:
    """Vowpal Wabbit's ``hashstring``, written plainly (low 32 bits)."""
    while text and text[0] <= 0x20:
        text = text[1:]
    while text and text[-1] <= 0x20:
        text = text[:-1]
    if all(48 <= c <= 57 for c in text):
        return (int(text or b"0") + seed) % 2**32
    return murmurhash3_32(text, seed)


def test_strings_mode_digit_test_on_every_byte_and_length() -> None:
    rng = np.random.default_rng(0)
    edge = [0, 9, 32, 33, 47, 48, 57, 58, 63, 64, 0x7F, 0x80, 0xFA, 0xFF]
    names = [bytes([b]) for b in range(256)]
    for n in range(2, 11):
        for _ in range(60):
            digits = rng.integers(48, 58, n).astype(np.uint8)
            digits[rng.integers(0, n)] = rng.choice(edge + [48, 55])
            names.append(digits.tobytes())
    for name in names:
        for seed in (0, 12345, 2**32 - 3):
            assert hash_name(name, seed, "strings") == _hashstring(name, seed), (name, seed)
