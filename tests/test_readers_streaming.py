"""Readers on live streams and at bad records: format detection and the stdin compression
check read only as far as they must, empty stdin holds no records, and the records before a
bad one are handed out before its error (sequential and parallel parsing, files and stdin).
"""

from __future__ import annotations

import gzip
import io
import sys
import types
from pathlib import Path

import pytest
from readers_reference import BITS, read, records, write

from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.readers import detect_format, read_batches, resolve_spec
from ftrl_cli.readers.delimited import delimited_plan
from ftrl_cli.readers.source import open_source


class _PausedPipe:
    """stdin whose reads return ``chunks`` one at a time, as a pipe returns what it holds;
    a read past them is a read that would wait for a producer that has paused."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    def read(self, n: int) -> bytes:
        if not self.chunks:
            raise AssertionError("read blocked on a paused producer")
        chunk = self.chunks.pop(0)
        if len(chunk) > n:
            self.chunks.insert(0, chunk[n:])
        return chunk[:n]


def _stdin(monkeypatch: pytest.MonkeyPatch, stream) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=stream))


CRITEO = "1\t" + "\t".join(["3"] * 13 + ["a1b2"] * 26) + "\n"


@pytest.mark.parametrize("chunks,fmt", [
    ([b"1 |a x\n"], "vw"),
    ([b"1 |a", b" x\n"], "vw"),
    ([b"# note\n", b"\n", b"1 3:1 7:0.5\n"], "libsvm"),
    ([b"a,b,label\n"], "csv"),
    ([b"label\ta\n"], "tsv"),
    ([CRITEO.encode()], "criteo"),
])
def test_detection_waits_only_for_the_first_line(monkeypatch, chunks, fmt) -> None:
    _stdin(monkeypatch, _PausedPipe(*chunks))
    assert detect_format("-") == fmt
    # the bytes looked at stay readable
    buf = bytearray(1000)
    assert buf[: open_source("-").readinto(memoryview(buf))] == b"".join(chunks)


@pytest.mark.parametrize("chunks,fmt,start", [
    ([b"a,b,", b"label\n"], "csv", 2),
    ([CRITEO[:9].encode(), CRITEO[9:].encode()], "criteo", 1),
])
def test_header_of_a_paused_stream(monkeypatch, chunks, fmt, start) -> None:
    # the plan reads the header (csv) or looks at the first line (criteo) and no further
    _stdin(monkeypatch, _PausedPipe(*chunks))
    spec = resolve_spec(["-"], hash_bits=BITS)
    plan = delimited_plan(open_source("-"), spec)
    assert spec.format == fmt and plan is not None and plan.start_line == start


def test_stdin_compression_check_needs_only_the_first_byte(monkeypatch) -> None:
    _stdin(monkeypatch, _PausedPipe(b"1"))
    assert open_source("-").read(1) == b"1"


def test_stdin_magic_number_split_over_reads(monkeypatch) -> None:
    packed = gzip.compress(b"1 |a x\n")
    _stdin(monkeypatch, _PausedPipe(packed[:1], packed[1:], b""))
    assert open_source("-").read(100) == b"1 |a x\n"


@pytest.mark.parametrize("data", [b"", b"\n# only a comment\n\n"])
def test_empty_stdin_has_no_records(monkeypatch, data: bytes) -> None:
    _stdin(monkeypatch, io.BytesIO(data))
    assert detect_format("-") is None
    spec = resolve_spec(["-"], hash_bits=BITS)
    assert list(read_batches(["-"], spec)) == []


def test_empty_stdin_takes_the_format_its_options_name(monkeypatch) -> None:
    _stdin(monkeypatch, io.BytesIO(b""))
    assert resolve_spec(["-"], hash_bits=BITS, label_column="y").format == "csv"


def test_unknown_stdin_and_empty_files_still_need_a_format(monkeypatch, tmp_path) -> None:
    _stdin(monkeypatch, io.BytesIO(b"hello\n"))
    with pytest.raises(FtrlError, match="cannot tell the format of stdin"):
        detect_format("-")
    with pytest.raises(FtrlError, match="cannot tell the format"):
        detect_format(write(tmp_path, "empty.txt", ""))


# ---------------------------------------------------------------- records before a bad one

def _fixup(i: int) -> str:
    # more significant digits than the kernels convert exactly: Python converts it
    return f"0.{i:04d}12345678901234567891"


# (format, good line i, bad line); the bad line's error comes from the kernel or, for a
# value out of range, from the Python conversion
CASES = {
    "vw label": ("vw", lambda i: f"{i % 2} |a x{i} y:{_fixup(i)}", "zz |a x"),
    "vw range": ("vw", lambda i: f"{i % 2} 'r{i} |a x{i} y:{_fixup(i)}",
                 "1 |a x:1e-400 y:1.7976931348623159e308"),
    "libsvm index": ("libsvm", lambda i: f"{i % 2} {i}:{_fixup(i)}", "1 x:1"),
    "csv label": ("csv", lambda i: f"{i % 2},x{i},{_fixup(i)}", "maybe,x,1"),
}


def _text(case: str, good: int) -> tuple[str, str]:
    """(the good lines alone, the same followed by a bad line and more good ones)."""
    fmt, line, bad = CASES[case]
    head = "label,a,v\n" if fmt == "csv" else ""
    lines = [line(i) for i in range(good)]
    return head + "\n".join(lines) + "\n", head + "\n".join([*lines, bad, line(0)]) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("stdin", [False, True])
def test_records_before_a_bad_one_come_out_first(monkeypatch, tmp_path: Path, case: str,
                                                 workers: int, stdin: bool) -> None:
    fmt = CASES[case][0]
    good, text = _text(case, 300)
    opts = {"numeric_columns": "v"} if fmt == "csv" else {}
    want = read([write(tmp_path, f"good.{fmt}", good)], fmt, **opts)
    if stdin:
        _stdin(monkeypatch, io.BytesIO(text.encode()))
        path, name = "-", "<stdin>"
    else:
        path = name = write(tmp_path, f"bad.{fmt}", text)
    spec = resolve_spec([path], format=fmt, hash_bits=BITS, hash_mode="all", **opts)
    seen = []
    with pytest.raises(InputError) as info:
        for batch in read_batches([path], spec, workers=workers):
            seen.append(batch)
    bad_line = 302 if fmt == "csv" else 301
    assert str(info.value).startswith(f"{name}:{bad_line}:")
    assert [r[1:] for r in records(seen)] == [r[1:] for r in want]
