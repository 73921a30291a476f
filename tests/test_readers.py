"""Readers, whatever the format: compression, stdin, several files, chunking and batching,
the batch matrix, format detection and option checks.

Each format's records and errors are in ``test_readers_vw.py``, ``test_readers_libsvm.py`` and
``test_readers_delimited.py``; shared helpers and the reference parsers in
``readers_reference.py``."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from readers_reference import BITS, M, criteo_line, fi, read, records, write

from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.hashing import feature_index
from ftrl_cli.readers import FeatureSpec, detect_format, read_batches, resolve_spec
from ftrl_cli.readers import source as source_module

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


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zst"])
@pytest.mark.parametrize("name", ["day.vw", "logs.txt"])
def test_compressed_files_are_known_by_their_first_bytes(tmp_path: Path, suffix: str,
                                                         name: str) -> None:
    plain = write(tmp_path, "a.vw", SAMPLE_VW)
    packed = str(tmp_path / name)
    _compress(SAMPLE_VW.encode(), suffix, packed)
    assert detect_format(packed) == "vw"
    want = [r[1:] for r in read([plain], "vw")]
    assert [r[1:] for r in read([packed], "vw", chunk_bytes=100)] == want


def test_compressed_pipe_is_known_by_its_first_bytes(tmp_path: Path) -> None:
    import os
    import threading

    fifo = str(tmp_path / "live")
    os.mkfifo(fifo)
    data = gzip.compress(SAMPLE_VW.encode())
    writer = threading.Thread(target=lambda: Path(fifo).write_bytes(data))
    writer.start()
    try:
        got = [r[1:] for r in read([fifo], "vw")]
    finally:
        writer.join()
    assert got == [r[1:] for r in read([write(tmp_path, "a.vw", SAMPLE_VW)], "vw")]


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


@pytest.mark.parametrize("bits", [31, 32])
def test_wide_hash_spaces(tmp_path: Path, bits: int) -> None:
    p = write(tmp_path, "w.vw", "1 |u a b\n")
    [batch] = read_batches([p], FeatureSpec("vw", hash_bits=bits))
    assert batch.X.shape == (1, 2**bits) and batch.X.indices.dtype == np.int64
    assert batch.X.indices.tolist() == [feature_index("u", n, bits) for n in "ab"]


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


def test_source_peek_keeps_bytes() -> None:
    src = source_module.Source("mem", io.BytesIO(b"abcdef"))
    assert src.peek(3) == b"abc"
    view = memoryview(bytearray(10))
    n = src.readinto(view)
    assert bytes(view[:n]) + src.read(10) == b"abcdef"
