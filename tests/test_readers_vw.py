"""vw input: records, edge cases, errors, and the kernel against a reference parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from readers_reference import (
    BITS,
    SPLITS,
    error_of,
    fi,
    kernel_records,
    read,
    reference_vw,
    vw_text,
    write,
)


def test_vw_records(tmp_path: Path) -> None:
    p = write(tmp_path, "a.vw", "1 |u a b:2 |v c\n-1 0.5 'id7 |u a\n")
    assert read([p], "vw") == [
        (p, 1, 1.0, 1.0, None, [(fi("u", "a"), 1.0), (fi("u", "b"), 2.0), (fi("v", "c"), 1.0)]),
        (p, 2, 0.0, 0.5, "id7", [(fi("u", "a"), 1.0)]),
    ]


def test_vw_edge_cases(tmp_path: Path) -> None:
    text = (
        "\n"  # 1 empty
        "   \t \n"  # 2 whitespace only
        "# a comment\n"  # 3
        "0 |\r\n"  # 4 no features, CRLF
        "| a\n"  # 5 no label, default namespace ""
        "1 t2|n:0.5 x:4 y z:0\n"  # 6 tag touching '|', namespace scale, zero dropped
        "  #indented comment\n"  # 7
        "1 'q |a |b\n"  # 8 empty namespaces
        "1 |ns :3 caf\u00e9"  # 9 empty name, UTF-8, no final newline
    )
    p = write(tmp_path, "e.vw", text)
    assert read([p], "vw") == [
        (p, 4, 0.0, 1.0, None, []),
        (p, 5, None, 1.0, None, [(fi("", "a"), 1.0)]),
        (p, 6, 1.0, 1.0, "t2", [(fi("n", "x"), 2.0), (fi("n", "y"), 0.5)]),
        (p, 8, 1.0, 1.0, "q", []),
        (p, 9, 1.0, 1.0, None, [(fi("ns", ""), 3.0), (fi("ns", "caf\u00e9"), 1.0)]),
    ]


def test_vw_empty_input(tmp_path: Path) -> None:
    assert read([write(tmp_path, "e.vw", "")], "vw") == []
    assert read([write(tmp_path, "c.vw", "# only\n\n")], "vw") == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("x |a", "bad label 'x' (expected 1, 0 or -1)"),
        ("2 |a", "bad label '2' (expected 1, 0 or -1)"),
        ("1 -3 |a", "bad importance weight '-3' (expected a non-negative number)"),
        ("1 w |a", "bad importance weight 'w' (expected a non-negative number)"),
        ("1 |a b:x", "bad feature value in 'b:x' (expected name:number)"),
        ("1 |a b:nan", "bad feature value in 'b:nan' (expected name:number)"),
        ("1 |a b:inf", "bad feature value in 'b:inf' (expected name:number)"),
        ("1 |a:x b", "bad namespace scale in '|a:x' (expected |name:number)"),
        ("1 2 3 4 |a",
         "unexpected '4' before '|' (expected label [importance [base]] ['tag])"),
        ("1 2 x |a", "bad base 'x' (expected a number: label importance base)"),
        ("1 a b", "bad importance weight 'a' (expected a non-negative number)"),
    ],
)
def test_vw_errors(tmp_path: Path, line: str, message: str) -> None:
    p = write(tmp_path, "bad.vw", f"1 |a b\n\n# c\n{line}\n1 |a\n")
    assert error_of([p], "vw") == f"{p}:4: {message}"


@settings(max_examples=150, deadline=None)
@given(vw_text(), SPLITS)
def test_vw_kernel_matches_reference(text: str, splits) -> None:
    assert kernel_records(text, ".vw", "vw", splits) == reference_vw(text, BITS)
