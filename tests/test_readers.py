"""Readers: formats, edge cases, errors, chunking, compression, stdin, and a property test
comparing the Numba kernels with small pure-Python reference parsers."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import math
import re
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.hashing import feature_index, murmurhash3_32, numeric_column_index
from ftrl_cli.readers import (
    CRITEO_COLUMNS,
    FeatureSpec,
    detect_format,
    read_batches,
    resolve_spec,
)
from ftrl_cli.readers import source as source_module

BITS = 18
M = 1 << BITS


def fi(ns: str, name: str) -> int:
    return feature_index(ns, name, BITS)


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def records(batches) -> list[tuple]:
    """(source, line, label or None, weight, tag, [(index, value), ...]) per record."""
    out = []
    for b in batches:
        X = b.X
        assert X.shape == (len(b), M)
        for r in range(len(b)):
            s, e = X.indptr[r], X.indptr[r + 1]
            label = None if math.isnan(b.labels[r]) else float(b.labels[r])
            tag = b.tags[r] if b.tags is not None else None
            feats = list(zip(X.indices[s:e].tolist(), X.data[s:e].tolist(), strict=True))
            out.append((b.source, int(b.lines[r]), label, float(b.weights[r]), tag, feats))
    return out


def read(paths, fmt: str, **kw) -> list[tuple]:
    opts = {k: kw.pop(k) for k in list(kw) if k not in ("batch_rows", "chunk_bytes")}
    spec = resolve_spec(paths, format=fmt, hash_bits=BITS, **opts)
    return records(read_batches(paths, spec, **kw))


def error_of(paths, fmt: str, **kw) -> str:
    with pytest.raises(InputError) as info:
        read(paths, fmt, **kw)
    return str(info.value)


# ---------------------------------------------------------------- vw


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
        ("1 |a b:", "bad feature value in 'b:' (expected name:number)"),
        ("1 |a:x b", "bad namespace scale in '|a:x' (expected |name:number)"),
        ("1 2 3 |a", "unexpected '3' before '|' (expected label [importance] ['tag])"),
        ("1 a b", "no '|' in '1 a b' (a vw record needs at least one namespace)"),
    ],
)
def test_vw_errors(tmp_path: Path, line: str, message: str) -> None:
    p = write(tmp_path, "bad.vw", f"1 |a b\n\n# c\n{line}\n1 |a\n")
    assert error_of([p], "vw") == f"{p}:4: {message}"


# ---------------------------------------------------------------- libsvm


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


@pytest.mark.parametrize("bits", [31, 32])
def test_wide_hash_spaces(tmp_path: Path, bits: int) -> None:
    p = write(tmp_path, "w.vw", "1 |u a b\n")
    [batch] = read_batches([p], FeatureSpec("vw", hash_bits=bits))
    assert batch.X.shape == (1, 2**bits) and batch.X.indices.dtype == np.int64
    assert batch.X.indices.tolist() == [feature_index("u", n, bits) for n in "ab"]


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


def criteo_line(label: str | None, ints: list[str], cats: list[str]) -> str:
    return "\t".join(([label] if label is not None else []) + ints + cats)


def test_criteo_records(tmp_path: Path) -> None:
    ints = ["-3", "0", "2", "3", "100", "", "1000000000000", "7", "", "", "", "", "1"]
    cats = ["68fd1e64", ""] + ["a"] * 24
    p = write(tmp_path, "d.criteo", criteo_line("1", ints, cats) + "\n\n")
    [(_, line, label, _, _, feats)] = read([p], "criteo")
    want = [(fi(f"I{i + 1}", str(log_bin(int(v)))), 1.0) for i, v in enumerate(ints) if v]
    want += [(fi(f"C{i + 1}", v), 1.0) for i, v in enumerate(cats) if v]
    assert (line, label, feats) == (1, 1.0, want)
    assert [log_bin(v) for v in (-3, 0, 2, 3, 100)] == [-3, 0, 2, 1, 21]


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


# ---------------------------------------------------------------- sources


SAMPLE_VW = "".join(f"{i % 2} |u a{i} b:{i}.5 |v c{i % 3}\n" for i in range(40))


def _compress(data: bytes, suffix: str, path: str) -> None:
    if suffix == ".xz":
        Path(path).write_bytes(lzma.compress(data))
        return
    codec = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}[suffix]
    with pa.output_stream(path, compression=codec) as out:
        out.write(data)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zst"])
def test_compressed_inputs(tmp_path: Path, suffix: str) -> None:
    plain = write(tmp_path, "a.vw", SAMPLE_VW)
    packed = str(tmp_path / f"b.vw{suffix}")
    _compress(SAMPLE_VW.encode(), suffix, packed)
    assert detect_format(packed) == "vw"
    want = [r[1:] for r in read([plain], "vw")]
    assert [r[1:] for r in read([packed], "vw", chunk_bytes=100)] == want


def test_bad_compressed_input(tmp_path: Path) -> None:
    p = write(tmp_path, "a.vw.gz", b"not gzip at all\n")
    with pytest.raises(FtrlError):
        read([p], "vw")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FtrlError, match="cannot open"):
        read([str(tmp_path / "nope.vw")], "vw")


def _fake_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))


@pytest.mark.parametrize("pack", [lambda b: b, gzip.compress, bz2.compress, lzma.compress])
def test_stdin_detect_then_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pack) -> None:
    _fake_stdin(monkeypatch, pack(SAMPLE_VW.encode()))
    spec = resolve_spec(["-"], hash_bits=BITS)  # sniffs stdin
    assert spec.format == "vw"
    got = records(read_batches(["-"], spec, batch_rows=7))
    want = read([write(tmp_path, "a.vw", SAMPLE_VW)], "vw")
    assert [r[0] for r in got] == ["<stdin>"] * 40
    assert [r[1:] for r in got] == [r[1:] for r in want]


def test_stdin_error_names_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_stdin(monkeypatch, b"1 |a\nzz |b\n")
    with pytest.raises(InputError, match=r"^<stdin>:2: bad label 'zz'"):
        list(read_batches(["-"], FeatureSpec("vw", hash_bits=BITS)))


def test_stdin_through_a_pipe() -> None:
    code = (
        "from ftrl_cli.readers import read_batches, resolve_spec\n"
        "spec = resolve_spec(['-'], hash_bits=10)\n"
        "print(spec.format, sum(len(b) for b in read_batches(['-'], spec)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=b"1,label\nx,0\ny,1\n",
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.decode().split() == ["csv", "2"]


def test_bom_is_skipped(tmp_path: Path) -> None:
    p = write(tmp_path, "b.csv", b"\xef\xbb\xbflabel,a\n1,x\n")
    assert read([p], "csv")[0][2:] == (1.0, 1.0, None, [(fi("a", "x"), 1.0)])


def test_several_files_never_share_a_batch(tmp_path: Path) -> None:
    a = write(tmp_path, "a.vw", SAMPLE_VW[: SAMPLE_VW.index("\n", 200) + 1])
    b = write(tmp_path, "b.vw", SAMPLE_VW)
    spec = FeatureSpec("vw", hash_bits=BITS)
    batches = list(read_batches([a, b], spec, batch_rows=4))
    for batch in batches:
        assert batch.source in (a, b)
    assert [len(x) for x in batches if x.source == b] == [4] * 10
    assert records(batches)[-1][1] == 40  # line numbers restart per file


@pytest.mark.parametrize(
    ("fmt", "name", "text", "opts"),
    [
        ("vw", "s.vw", SAMPLE_VW + "\r\n1 'tag |x y:1e-3\n# c\n", {}),
        ("libsvm", "s.svm", "".join(f"{i % 2} {i}:{i}.25 7 # c\n\n" for i in range(30)), {}),
        (
            "csv",
            "s.csv",
            "a,label,n\n" + "".join(f'"v{i}\n""q""",{i % 2},{i}\r\n' for i in range(30)),
            {"numeric_columns": "n"},
        ),
        (
            "criteo",
            "s.criteo",
            "".join(
                criteo_line(str(i % 2), [str(i)] * 13, [f"{i:08x}"] * 26) + "\n" for i in range(20)
            ),
            {},
        ),
    ],
)
def test_tiny_chunks_and_batches_match_one_read(tmp_path, fmt, name, text, opts) -> None:
    p = write(tmp_path, name, text)
    whole = read([p], fmt, **opts)
    assert len(whole) >= 20
    for chunk in (1, 2, 3, 7, 64):
        for rows in (1, 3, 1000):
            assert read([p], fmt, chunk_bytes=chunk, batch_rows=rows, **opts) == whole
    spec = resolve_spec([p], format=fmt, hash_bits=BITS, **opts)
    sizes = [len(b) for b in read_batches([p], spec, batch_rows=6, chunk_bytes=5)]
    assert sizes[:-1] == [6] * (len(sizes) - 1) and sum(sizes) == len(whole)


def test_batch_matrix_layout(tmp_path: Path) -> None:
    p = write(tmp_path, "a.vw", SAMPLE_VW)
    [batch] = read_batches([p], FeatureSpec("vw", hash_bits=BITS))
    X = batch.X
    assert X.shape == (40, M) and X.dtype == np.float64
    assert X.indices.dtype == X.indptr.dtype == np.int32
    assert X.nnz == 120 and batch.tags is None
    assert batch.lines.tolist() == list(range(1, 41))


# ---------------------------------------------------------------- detection and options


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("a.txt", "# c\n1 'x |u a\n", "vw"),
        ("a.txt", "1 3:0.5 9\n", "libsvm"),
        ("a.dat", "a,b,label\n", "csv"),
        ("a.dat", "a\tb\tlabel\n", "tsv"),
        ("day_0", criteo_line("1", ["1"] * 13, ["68fd1e64"] * 26) + "\n", "criteo"),
        ("x.libsvm.gz", b"", "libsvm"),
        ("x.SVM", "", "libsvm"),
    ],
)
def test_detect_format(tmp_path: Path, name: str, content, fmt: str) -> None:
    assert detect_format(write(tmp_path, name, content)) == fmt


def test_detect_failure(tmp_path: Path) -> None:
    with pytest.raises(FtrlError, match="--format"):
        detect_format(write(tmp_path, "a.txt", "hello\n"))


def test_resolve_spec_checks_options(tmp_path: Path) -> None:
    vw = write(tmp_path, "a.vw", "1 |a\n")
    csv = write(tmp_path, "a.csv", "a,label\n")
    spec = resolve_spec([csv], hash_bits=20, ignore_columns="a")
    assert (spec.format, spec.hash_bits, spec.ignore_columns) == ("csv", 20, ("a",))
    assert resolve_spec([write(tmp_path, "d.criteo", "")], hash_bits=20).header is False
    bad = [
        dict(paths=[vw, csv]),
        dict(paths=[vw], numeric_columns="x"),
        dict(paths=[vw], hash_bits=0),
        dict(paths=[vw], hash_bits=33),
        dict(paths=[vw], format="json"),
        dict(paths=[csv], header=False),
        dict(paths=[csv], ignore_columns="label"),
        dict(paths=[csv], ignore_columns="a", numeric_columns="a"),
        dict(paths=[csv], header=False, columns="a,b", numeric_columns="c"),
        dict(paths=[csv], format="criteo", columns="a"),
        dict(paths=[]),
    ]
    for kw in bad:
        with pytest.raises(FtrlError):
            resolve_spec(kw.pop("paths"), **kw)


# ---------------------------------------------------------------- property tests

_WS = re.compile(r"[ \t]+")
_LABELS = {1.0: 1.0, 0.0: 0.0, -1.0: 0.0}


def _label(token: str, bools: bool = False) -> float:
    if bools and token.lower() in ("true", "false"):
        return 1.0 if token.lower() == "true" else 0.0
    return _LABELS[float(token)]


def reference_vw(text: str, bits: int) -> list[tuple]:
    out = []
    for ln, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip(" \t") or line.lstrip(" \t").startswith("#"):
            continue
        head, _, rest = line.partition("|")
        words = [w for w in _WS.split(head) if w]
        tag = None
        if words and (head[-1] not in " \t" or words[-1].startswith("'")):
            word = words.pop()
            tag = word[1:] if word.startswith("'") else word
        label = _label(words[0]) if words else None
        weight = float(words[1]) if len(words) > 1 else 1.0
        feats = []
        for segment in rest.split("|"):
            ns_token = re.match(r"[^ \t]*", segment).group(0)
            ns, colon, scale_text = ns_token.partition(":")
            scale = float(scale_text) if colon else 1.0
            seed = murmurhash3_32(ns)
            for token in _WS.split(segment[len(ns_token) :]):
                if not token:
                    continue
                name, colon, value = token.partition(":")
                v = float(value) * scale if colon else scale
                if v != 0.0:
                    feats.append((murmurhash3_32(name, seed) % 2**bits, v))
        out.append((ln, label, weight, tag, feats))
    return out


def reference_libsvm(text: str, bits: int) -> list[tuple]:
    out = []
    for ln, raw in enumerate(text.split("\n"), 1):
        tokens = _WS.split(raw.partition("#")[0].rstrip("\r").strip(" \t\r"))
        if tokens == [""]:
            continue
        feats = []
        for token in tokens[1:]:
            index, colon, value = token.partition(":")
            v = float(value) if colon else 1.0
            if v != 0.0:
                feats.append((int(index) % 2**bits, v))
        out.append((ln, _label(tokens[0]), 1.0, None, feats))
    return out


def _split_records(text: str, delim: str, line: int):
    """Yield (first line, fields) of RFC 4180 records, skipping blank lines."""
    blank = " \r" if delim == "\t" else " \t\r"
    i = 0
    while i < len(text):
        nl = text.find("\n", i)
        stop = len(text) if nl < 0 else nl
        if not text[i:stop].strip(blank):
            i, line = stop + 1, line + 1
            continue
        first, fields = line, []
        while True:
            if text.startswith('"', i):
                parts, k = [], i + 1
                while True:
                    q = text.index('"', k)
                    parts.append(text[k:q])
                    line += text.count("\n", k, q)
                    if text.startswith('"', q + 1):
                        parts.append('"')
                        k = q + 2
                        continue
                    i = q + 1
                    break
                field = "".join(parts)
                if text.startswith("\r\n", i) or text[i:] == "\r":
                    i += 1
            else:
                k = i
                while k < len(text) and text[k] not in (delim, "\n"):
                    k += 1
                field, i = text[i:k], k
                if field.endswith("\r"):
                    field = field[:-1]
            fields.append(field)
            if i < len(text) and text[i] == delim:
                i += 1
                continue
            i += 1
            break
        yield first, fields
        line += 1


def reference_delimited(text: str, delim: str, numeric: set[str], bits: int) -> list[tuple]:
    header, _, body = text.partition("\n")
    names = header.split(delim)
    out = []
    for first, fields in _split_records(body, delim, 2):
        assert len(fields) == len(names)
        label, feats = None, []
        for name, value in zip(names, fields, strict=True):
            trimmed = value.strip(" \t")
            if name == "label":
                label = _label(trimmed, bools=True) if trimmed else None
            elif name in numeric:
                if trimmed and float(trimmed) != 0.0:
                    feats.append((numeric_column_index(name, bits), float(trimmed)))
            elif value:
                feats.append((feature_index(name, value, bits), 1.0))
        out.append((first, label, 1.0, None, feats))
    return out


NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.integers(-(10**25), 10**25).map(str),
    st.floats(-1e200, 1e200, allow_nan=False, allow_subnormal=False).map(repr),
    st.sampled_from(["0", "-0", ".5", "5.", "+1.5e3", "1E-5", "0.1234567890123456789"]),
)
NAME = st.text(
    st.characters(blacklist_characters=" \t|:\n\r", blacklist_categories=("Cs",)), max_size=5
)
EOL = st.sampled_from(["\n", "\r\n"])
JUNK = st.sampled_from(["", "  ", "\t", "# comment", "  #x|y"])


@st.composite
def vw_text(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.booleans()):
            lines.append(draw(JUNK) + draw(EOL))
        words = []
        if draw(st.booleans()):
            words.append(draw(st.sampled_from(["1", "0", "-1", "+1", "1.0", "-1e0"])))
            if draw(st.booleans()):
                words.append(draw(st.sampled_from(["0", "2", "0.25", "1e-3"])))
        tag = draw(
            st.none()
            | st.text(
                st.characters(blacklist_characters=" \t|\n\r'#", blacklist_categories=("Cs",)),
                min_size=1,
                max_size=4,
            )
        )
        touching = draw(st.booleans())
        head = " ".join(words)
        if tag is not None:
            head = f"{head} {tag}" if touching else f"{head} '{tag} "
        elif head:
            head += " "
        spaces = []
        for _ in range(draw(st.integers(1, 3))):
            ns = draw(NAME)
            scale = draw(st.none() | st.sampled_from(["2", "0.5", "-1", "0", "3.25"]))
            feats = []
            for _ in range(draw(st.integers(0, 4))):
                name, value = draw(NAME), draw(st.none() | NUMBERS)
                feats.append(name if value is None else f"{name}:{value}")
            ns_token = ns + (f":{scale}" if scale is not None else "")
            spaces.append(f"|{ns_token} " + draw(st.sampled_from([" ", "\t"])).join(feats))
        lines.append(head + "".join(spaces) + draw(EOL))
    return "".join(lines)


@st.composite
def libsvm_text(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.booleans()):
            lines.append(draw(JUNK) + draw(EOL))
        parts = [draw(st.sampled_from(["1", "0", "-1", "+1"]))]
        for _ in range(draw(st.integers(0, 4))):
            index, value = draw(st.integers(0, 2**70)), draw(st.none() | NUMBERS)
            parts.append(str(index) if value is None else f"{index}:{value}")
        comment = draw(st.sampled_from(["", " # note", "#x"]))
        lines.append(" ".join(parts) + comment + draw(EOL))
    return "".join(lines)


def _quote(value: str, delim: str, force: bool) -> str:
    if force or any(c in value for c in (delim, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def delimited_text(draw, delim: str) -> tuple[str, set[str], str]:
    kinds = draw(st.lists(st.sampled_from(["cat", "num"]), max_size=4))
    if draw(st.booleans()):
        kinds.append("label")
    kinds = draw(st.permutations(kinds))
    names = [k if k == "label" else f"{k}{i}" for i, k in enumerate(kinds)]
    if not names:
        names, kinds = ["cat"], ["cat"]
    values = {
        "cat": st.text(st.characters(blacklist_categories=("Cs",)), max_size=6),
        "num": st.one_of(NUMBERS, st.just(""), st.just(" 2.5 ")),
        "label": st.sampled_from(["0", "1", "-1", "true", "FALSE", "True", "", " 1"]),
    }
    lines = [delim.join(names) + "\n"]
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "  ", " \r"])) + "\n")
        fields = [_quote(draw(values[k]), delim, draw(st.booleans())) for k in kinds]
        lines.append(delim.join(fields) + draw(EOL))
    numeric = {n for n, k in zip(names, kinds, strict=True) if k == "num"}
    return "".join(lines), numeric, delim


SPLITS = st.tuples(st.sampled_from([1, 2, 5, 17, 1 << 16]), st.sampled_from([1, 3, 65536]))


def _kernel_records(text: str, suffix: str, fmt: str, splits, **opts) -> list[tuple]:
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), "in" + suffix, text)
        got = read([path], fmt, chunk_bytes=splits[0], batch_rows=splits[1], **opts)
    return [r[1:] for r in got]


@settings(max_examples=150, deadline=None)
@given(vw_text(), SPLITS)
def test_vw_kernel_matches_reference(text: str, splits) -> None:
    assert _kernel_records(text, ".vw", "vw", splits) == reference_vw(text, BITS)


@settings(max_examples=150, deadline=None)
@given(libsvm_text(), SPLITS)
def test_libsvm_kernel_matches_reference(text: str, splits) -> None:
    assert _kernel_records(text, ".svm", "libsvm", splits) == reference_libsvm(text, BITS)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([",", "\t"]).flatmap(delimited_text), SPLITS)
def test_delimited_kernel_matches_reference(case, splits) -> None:
    text, numeric, delim = case
    fmt, suffix = ("tsv", ".tsv") if delim == "\t" else ("csv", ".csv")
    got = _kernel_records(text, suffix, fmt, splits, numeric_columns=sorted(numeric))
    assert got == reference_delimited(text, delim, numeric, BITS)


def test_source_peek_keeps_bytes() -> None:
    src = source_module.Source("mem", io.BytesIO(b"abcdef"))
    assert src.peek(3) == b"abc"
    view = memoryview(bytearray(10))
    n = src.readinto(view)
    assert bytes(view[:n]) + src.read(10) == b"abcdef"
