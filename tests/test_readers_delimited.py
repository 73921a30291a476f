"""csv / tsv / criteo input: records, headers, quoting, errors, and the csv/tsv kernel
against a reference parser."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from readers_reference import (
    BITS,
    SPLITS,
    criteo_line,
    delimited_text,
    error_of,
    fi,
    kernel_records,
    read,
    reference_delimited,
    write,
)

from ftrl_cli.errors import FtrlError
from ftrl_cli.hashing import numeric_column_index
from ftrl_cli.readers import CRITEO_COLUMNS
from ftrl_cli.readers._parse_delimited import small_log_bins

# ---------------------------------------------------------------- csv / tsv


def test_csv_records(tmp_path: Path) -> None:
    text = (
        "city,label,price,id\n"
        "paris,1,2.5,a\n"
        '"new york, ny",-1,,b\n'
        "\n"
        '"say ""hi""",true,0,c\r\n'
        '"two\nlines",FALSE, 3 ,d\n'
        ",,7,e\n"
    )
    p = write(tmp_path, "a.csv", text)
    got = read([p], "csv", numeric_columns="price", ignore_columns="id")
    price = numeric_column_index("price", BITS)
    assert got == [
        (p, 2, 1.0, 1.0, None, [(fi("city", "paris"), 1.0), (price, 2.5)]),
        (p, 3, 0.0, 1.0, None, [(fi("city", "new york, ny"), 1.0)]),
        (p, 5, 1.0, 1.0, None, [(fi("city", 'say "hi"'), 1.0)]),
        (p, 6, 0.0, 1.0, None, [(fi("city", "two\nlines"), 1.0), (price, 3.0)]),
        (p, 8, None, 1.0, None, [(price, 7.0)]),
    ]


def test_csv_without_label_column_gives_nan(tmp_path: Path) -> None:
    p = write(tmp_path, "p.csv", "a,b\nx,y\n")
    assert read([p], "csv") == [(p, 2, None, 1.0, None, [(fi("a", "x"), 1.0), (fi("b", "y"), 1.0)])]


def test_csv_no_header_and_renamed_header(tmp_path: Path) -> None:
    p = write(tmp_path, "n.csv", "1,x\n0,y\n")
    got = read([p], "csv", header=False, columns="y,c")
    assert [(r[1], r[2], r[5]) for r in got] == [
        (1, None, [(fi("y", "1"), 1.0), (fi("c", "x"), 1.0)]),
        (2, None, [(fi("y", "0"), 1.0), (fi("c", "y"), 1.0)]),
    ]
    got = read([p], "csv", columns=["label", "c"])  # header line renamed
    assert [(r[1], r[2], r[5]) for r in got] == [(2, 0.0, [(fi("c", "y"), 1.0)])]


def test_tsv_records(tmp_path: Path) -> None:
    p = write(tmp_path, "a.tsv", 'label\tq\tn\n\n1\t"a\tb"\t1e3\n0\t\t\n')
    got = read([p], "tsv", numeric_columns=["n"])
    n = numeric_column_index("n", BITS)
    assert got == [
        (p, 3, 1.0, 1.0, None, [(fi("q", "a\tb"), 1.0), (n, 1000.0)]),
        (p, 4, 0.0, 1.0, None, []),
    ]


def test_csv_header_only_and_empty(tmp_path: Path) -> None:
    assert read([write(tmp_path, "h.csv", "a,label\n")], "csv") == []
    assert read([write(tmp_path, "e.csv", "")], "csv") == []


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("x,1\ny\n", 3, "expected 2 columns, found 1"),
        ("x,1,2\n", 2, "expected 2 columns, found 3"),
        ("x,yes\n", 2, "column 'label': bad label 'yes' (expected 0/1, -1/1 or true/false)"),
        ("x,2\n", 2, "column 'label': bad label '2' (expected 0/1, -1/1 or true/false)"),
        ('\n"x\n\n', 3, "column 'c': unterminated quote"),
        ('"x"y,1\n', 2, "column 'c': unexpected text after the closing quote in '\"x\"y'"),
    ],
)
def test_csv_errors(tmp_path: Path, body: str, line: int, message: str) -> None:
    p = write(tmp_path, "bad.csv", "c,label\n" + body)
    assert error_of([p], "csv") == f"{p}:{line}: {message}"


def test_csv_bad_number(tmp_path: Path) -> None:
    p = write(tmp_path, "bad.csv", "x,label\n1,1\n\nabc,0\n")
    assert error_of([p], "csv", numeric_columns="x") == f"{p}:4: column 'x': bad number 'abc'"


def test_csv_unknown_numeric_column(tmp_path: Path) -> None:
    p = write(tmp_path, "a.csv", "x,label\n1,1\n")
    with pytest.raises(FtrlError, match="numeric column"):
        read([p], "csv", numeric_columns="nope")


# ---------------------------------------------------------------- criteo


def log_bin(v: int) -> int:
    return v if v <= 2 else math.floor(math.log(v) ** 2)


def test_criteo_records(tmp_path: Path) -> None:
    ints = ["-3", "0", "2", "3", "100", "", "1000000000000", "7", "", "", "", "", "1"]
    cats = ["68fd1e64", ""] + ["a"] * 24
    p = write(tmp_path, "d.criteo", criteo_line("1", ints, cats) + "\n\n")
    [(_, line, label, _, _, feats)] = read([p], "criteo")
    want = [(fi(f"I{i + 1}", str(log_bin(int(v)))), 1.0) for i, v in enumerate(ints) if v]
    want += [(fi(f"C{i + 1}", v), 1.0) for i, v in enumerate(cats) if v]
    assert (line, label, feats) == (1, 1.0, want)
    assert [log_bin(v) for v in (-3, 0, 2, 3, 100)] == [-3, 0, 2, 1, 21]


def test_small_log_bins_table_is_the_definition() -> None:
    # the kernel's lookup table for counts below 2**16, built vectorised: every entry
    # must be the per-value definition, edges included
    n = 1 << 16
    assert small_log_bins(n).tolist() == [log_bin(v) for v in range(n)]


def test_criteo_without_label(tmp_path: Path) -> None:
    ints, cats = ["5"] * 13, ["x"] * 26
    p = write(tmp_path, "test.criteo", criteo_line(None, ints, cats) + "\n")
    [(_, _, label, _, _, feats)] = read([p], "criteo")
    assert label is None and len(feats) == 39


def test_criteo_errors(tmp_path: Path) -> None:
    good = criteo_line("0", ["1"] * 13, ["c"] * 26)
    bad = criteo_line("0", ["1", "1", "1.5"] + ["1"] * 10, ["c"] * 26)
    p = write(tmp_path, "a.criteo", f"{good}\n{bad}\n")
    assert error_of([p], "criteo") == f"{p}:2: column 'I3': bad integer '1.5'"
    p = write(tmp_path, "b.criteo", f"{good}\n{good}\tx\n")
    assert error_of([p], "criteo") == f"{p}:2: expected 40 columns, found 41"
    assert len(CRITEO_COLUMNS) == 40


# ---------------------------------------------------------------- property test


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([",", "\t"]).flatmap(delimited_text), SPLITS)
def test_delimited_kernel_matches_reference(case, splits) -> None:
    text, numeric, delim = case
    fmt, suffix = ("tsv", ".tsv") if delim == "\t" else ("csv", ".csv")
    got = kernel_records(text, suffix, fmt, splits, numeric_columns=sorted(numeric))
    assert got == reference_delimited(text, delim, numeric, BITS)
