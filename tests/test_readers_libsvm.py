"""libsvm input: records, errors, exact number conversion, and the kernel against a
reference parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from readers_reference import (
    BITS,
    SPLITS,
    M,
    error_of,
    kernel_records,
    libsvm_text,
    read,
    reference_libsvm,
    write,
)


def test_libsvm_records(tmp_path: Path) -> None:
    text = "1 1:2 3 # trailing comment\r\n\n# comment\n-1 5:0.25 262149:1\n+1\n0 7:0\n"
    p = write(tmp_path, "a.svm", text)
    assert read([p], "libsvm") == [
        (p, 1, 1.0, 1.0, None, [(1, 2.0), (3, 1.0)]),
        (p, 4, 0.0, 1.0, None, [(5, 0.25), (262149 % M, 1.0)]),
        (p, 5, 1.0, 1.0, None, []),
        (p, 6, 0.0, 1.0, None, []),
    ]


def test_libsvm_huge_index_wraps(tmp_path: Path) -> None:
    big = 2**80 + 12345
    p = write(tmp_path, "a.libsvm", f"1 {big}:3\n")
    assert read([p], "libsvm")[0][5] == [(big % M, 3.0)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("x 1:2", "bad label 'x' (expected 1, 0 or -1)"),
        ("1 -1:2", "bad feature '-1:2' (expected index[:value], index a non-negative integer)"),
        ("1 a:2", "bad feature 'a:2' (expected index[:value], index a non-negative integer)"),
        ("1 1.5:2", "bad feature '1.5:2' (expected index[:value], index a non-negative integer)"),
        ("1 :2", "bad feature ':2' (expected index[:value], index a non-negative integer)"),
        ("1 3:x", "bad feature value in '3:x' (expected index:number)"),
        ("1 3:inf", "bad feature value in '3:inf' (expected index:number)"),
        ("1 3:1e999", "bad feature value in '3:1e999' (expected index:number)"),
    ],
)
def test_libsvm_errors(tmp_path: Path, line: str, message: str) -> None:
    p = write(tmp_path, "bad.svm", f"1 1:1\r\n# c\n{line}\n")
    assert error_of([p], "libsvm") == f"{p}:3: {message}"


def test_values_are_correctly_rounded(tmp_path: Path) -> None:
    values = [
        "0.1",
        "0.30000000000000004",
        "123456789012345678901234567890",
        "1e22",
        "1e23",
        "2.2250738585072014e-308",
        "4.9e-324",
        "-7.1e-200",
        "0.1234567890123456789",
        "9007199254740993",
        "1.7976931348623157e308",
        "1e30",
        ".5",
        "5.",
        "+3E+2",
    ]
    text = "".join(f"1 {i}:{v}\n" for i, v in enumerate(values))
    got = read([write(tmp_path, "v.svm", text)], "libsvm")
    assert [r[5][0][1] for r in got] == [float(v) for v in values]


def test_many_values_needing_exact_conversion(tmp_path: Path) -> None:
    # more slow-path values than one round of fixups holds, in one record and across records
    values = [f"0.{i:019d}" for i in range(1, 20001)]
    wide = "1 " + " ".join(f"{i}:{v}" for i, v in enumerate(values)) + "\n"
    narrow = "".join(f"0 {i}:{v}\n" for i, v in enumerate(values))
    p = write(tmp_path, "f.svm", narrow + wide)
    got = read([p], "libsvm", batch_rows=30000)
    assert [r[5][0][1] for r in got[:-1]] == [float(v) for v in values]
    assert [v for _, v in got[-1][5]] == [float(v) for v in values]


def test_value_rounding_to_infinity(tmp_path: Path) -> None:
    p = write(tmp_path, "o.svm", "1 1:1\n1 2:1.7976931348623159e308\n")
    assert error_of([p], "libsvm") == f"{p}:2: number out of range '1.7976931348623159e308'"


@settings(max_examples=150, deadline=None)
@given(libsvm_text(), SPLITS)
def test_libsvm_kernel_matches_reference(text: str, splits) -> None:
    assert kernel_records(text, ".svm", "libsvm", splits) == reference_libsvm(text, BITS)
