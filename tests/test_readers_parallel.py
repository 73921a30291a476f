"""Parallel parsing (``read_batches(..., workers=2+)``) gives what the sequential reader gives.

Random valid inputs of every format are read both ways and compared bit for bit once the
batches are concatenated; errors must name the same (first) line; blocks are handed out in
order even when they finish out of order; the number of blocks in flight stays bounded; csv
with quoted line breaks falls back to one thread from the first quote on.
"""

from __future__ import annotations

import gzip
import io
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.readers import FeatureSpec, read_batches
from ftrl_cli.readers import parallel as par

BITS = 18
BLOCKS = (1, 7, 64, 1000, 1 << 20)


# ---------------------------------------------------------------- random inputs


def _number(rng: random.Random) -> str:
    return rng.choice(
        [
            str(rng.randint(-50, 50)),
            repr(rng.uniform(-1e3, 1e3)),
            f"{rng.uniform(0, 1):.3e}",
            "0.1000000000000000055511151231257827",  # more digits than exact: a fixup
            "-0",
        ]
    )


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("abcxyz019_") for _ in range(rng.randint(1, 6)))


def _vw_line(rng: random.Random) -> str:
    head = rng.choice(["1", "0", "-1", ""])
    if head and rng.random() < 0.3:
        head += " " + rng.choice(["2", "0.5", "1e-3", "0.30000000000000000001"])
    if rng.random() < 0.2:
        head += f" '{_word(rng)}"
    elif head and rng.random() < 0.1:
        head += " " + _word(rng)  # touching the '|': a tag too
        return head + "|" + " ".join(_word(rng) for _ in range(rng.randint(0, 4)))
    out = head + " "
    for _ in range(rng.randint(1, 3)):
        ns = _word(rng) + (f":{_number(rng)}" if rng.random() < 0.2 else "")
        feats = [_word(rng) + (f":{_number(rng)}" if rng.random() < 0.4 else "")
                 for _ in range(rng.randint(0, 5))]
        out += f"|{ns} {' '.join(feats)} "
    return out


def _libsvm_line(rng: random.Random) -> str:
    feats = [f"{rng.randint(0, 10**7)}" + (f":{_number(rng)}" if rng.random() < 0.7 else "")
             for _ in range(rng.randint(0, 6))]
    tail = f" # {_word(rng)}" if rng.random() < 0.1 else ""
    return " ".join([rng.choice(["1", "0", "-1"]), *feats]) + tail


def _criteo_line(rng: random.Random, label: bool = True) -> str:
    ints = [rng.choice(["", str(rng.randint(-3, 10**5)), str(rng.randint(0, 3))])
            for _ in range(13)]
    cats = [rng.choice(["", f"{rng.getrandbits(32):08x}"]) for _ in range(26)]
    return "\t".join(([rng.choice("01")] if label else []) + ints + cats)


def _csv_line(rng: random.Random, delim: str) -> str:
    label = rng.choice(["0", "1", "-1", "true", "FALSE", "", " 1 "])
    return delim.join([label, _word(rng), rng.choice(["", _word(rng)]), _number(rng)])


def _text(rng: random.Random, make, rows: int, *, header: str = "") -> str:
    """``rows`` lines from ``make`` with blank, whitespace and comment lines and CRLF mixed in."""
    lines = [header] if header else []
    for _ in range(rows):
        r = rng.random()
        if r < 0.05:
            lines.append("")
        elif r < 0.08:
            lines.append(" \r" if make is not _criteo_line else "")
        elif r < 0.11 and make in (_vw_line, _libsvm_line):
            lines.append(f"# {_word(rng)}")
        lines.append(make(rng) + ("\r" if rng.random() < 0.2 else ""))
    end = "" if rng.random() < 0.5 else "\n"
    return "\n".join(lines) + end


FORMATS = {
    "vw": (lambda rng, n: _text(rng, _vw_line, n), {}),
    "libsvm": (lambda rng, n: _text(rng, _libsvm_line, n), {}),
    "criteo": (lambda rng, n: _text(rng, _criteo_line, n), {}),
    "criteo-nolabel": (lambda rng, n: _text(rng, lambda r: _criteo_line(r, False), n), {}),
    "csv": (
        lambda rng, n: _text(rng, lambda r: _csv_line(r, ","), n, header="\nlabel,a,b,x"),
        {"numeric_columns": ("x",)},
    ),
    "tsv": (
        lambda rng, n: _text(rng, lambda r: _csv_line(r, "\t"), n, header="label\ta\tb\tx"),
        {"numeric_columns": ("x",)},
    ),
}


# ---------------------------------------------------------------- reading and comparing


def spec_of(name: str) -> FeatureSpec:
    fmt = name.split("-")[0]
    return FeatureSpec(fmt, hash_bits=BITS, **FORMATS[name][1])


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def flat(batches, batch_rows: int = 1 << 30) -> dict:
    """Everything the batches hold, concatenated, as bytes (so NaN and -0.0 compare exactly)."""
    parts: dict[str, list] = {k: [] for k in ("nnz", "indices", "data", "labels", "weights",
                                               "lines")}
    tags: list = []
    sources: list = []
    dtypes = set()
    for b in batches:
        assert 0 < len(b) <= batch_rows
        parts["nnz"].append(np.diff(b.X.indptr))
        parts["indices"].append(b.X.indices)
        parts["data"].append(b.X.data)
        for name in ("labels", "weights", "lines"):
            parts[name].append(getattr(b, name))
        tags += b.tags if b.tags is not None else [None] * len(b)
        sources += [b.source] * len(b)
        dtypes.add((b.X.indptr.dtype, b.X.indices.dtype, b.X.data.dtype, b.X.shape[1]))
    out = {k: np.concatenate(v).tobytes() if v else b"" for k, v in parts.items()}
    return {**out, "tags": tags, "sources": sources, "dtypes": dtypes}


def read(paths, spec, **kw) -> dict:
    return flat(read_batches(paths, spec, **kw), kw.get("batch_rows", 1 << 30))


def error_of(paths, spec, **kw) -> InputError:
    with pytest.raises(InputError) as info:
        read(paths, spec, **kw)
    return info.value


# ---------------------------------------------------------------- same records


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("seed", [1, 2])
def test_parallel_equals_sequential(tmp_path: Path, name: str, seed: int) -> None:
    rng = random.Random(f"{name}{seed}")
    path = write(tmp_path, "in." + name.split("-")[0], FORMATS[name][0](rng, 300))
    spec = spec_of(name)
    want = read([path], spec, batch_rows=37)
    assert np.frombuffer(want["lines"], np.int64).size > 250
    for block in BLOCKS:
        for workers in (2, 3):
            got = read([path], spec, batch_rows=37, chunk_bytes=block, workers=workers)
            assert got == want, (block, workers)


@pytest.mark.parametrize("name", ["vw", "criteo"])
def test_large_input_and_batch_sizes(tmp_path: Path, name: str) -> None:
    rng = random.Random(name)
    path = write(tmp_path, "in." + name, FORMATS[name][0](rng, 5000))
    spec = spec_of(name)
    for batch_rows in (1, 100, 65536):
        want = read([path], spec, batch_rows=batch_rows)
        for block in (50, 4096, 1 << 16):
            got = read([path], spec, batch_rows=batch_rows, chunk_bytes=block, workers=2)
            assert got == want, (batch_rows, block)


def test_edge_inputs(tmp_path: Path) -> None:
    spec = FeatureSpec("vw", hash_bits=BITS)
    texts = ["", "\n", "\n\n \r\n# c\n", "1 |a x", "1 |a x\n", "\r\n\r\n1 |a x\r\n", "1 |a " +
             "x" * 5000 + "\n0 |b y\n"]
    for i, text in enumerate(texts):
        path = write(tmp_path, f"e{i}.vw", text)
        want = read([path], spec)
        for block in (1, 3, 64):
            assert read([path], spec, chunk_bytes=block, workers=2) == want, (text, block)


def test_several_sources_gzip_and_stdin(tmp_path: Path, monkeypatch) -> None:
    rng = random.Random(5)
    texts = [FORMATS["libsvm"][0](rng, 200) for _ in range(3)]
    plain = [write(tmp_path, f"p{i}.libsvm", t) for i, t in enumerate(texts)]
    spec = FeatureSpec("libsvm", hash_bits=BITS)
    want = read(plain, spec, batch_rows=50)
    got = read(plain, spec, batch_rows=50, chunk_bytes=300, workers=2)
    assert got == want
    assert got["sources"][0] == plain[0] and got["sources"][-1] == plain[2]
    gz = write(tmp_path, "z.libsvm.gz", gzip.compress(texts[0].encode()))
    assert read([gz], spec, chunk_bytes=100, workers=2)["lines"] == read([plain[0]], spec)["lines"]
    stdin = io.TextIOWrapper(io.BytesIO(gzip.compress(texts[1].encode())))
    monkeypatch.setattr(sys, "stdin", stdin)
    got = read(["-"], spec, chunk_bytes=100, workers=2)
    assert got["sources"][0] == "<stdin>"
    assert {k: v for k, v in got.items() if k != "sources"} == {
        k: v for k, v in read([plain[1]], spec).items() if k != "sources"}


def test_score_runs_on_the_thread_that_parsed(tmp_path: Path, monkeypatch) -> None:
    """``score`` fills ``Batch.scores`` for its own batch, on the parse workers when there
    are some, and on the calling thread for one worker and for stdin."""
    rng = random.Random(9)
    text = FORMATS["vw"][0](rng, 400)
    path = write(tmp_path, "s.vw", text)
    spec = FeatureSpec("vw", hash_bits=BITS)
    threads: set[str] = set()

    def score(batch):
        threads.add(threading.current_thread().name)
        return batch.X.sum(axis=1).A1 + batch.labels

    for workers in (1, 2):
        threads.clear()
        batches = list(read_batches([path], spec, batch_rows=50, chunk_bytes=500,
                                    workers=workers, score=score))
        assert len(batches) > 3
        for b in batches:
            np.testing.assert_array_equal(b.scores, b.X.sum(axis=1).A1 + b.labels)
        main = threading.current_thread().name
        assert threads == ({main} if workers == 1 else {n for n in threads
                                                         if n.startswith("ftrl-parse")})
        assert workers == 1 or main not in threads
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    got = list(read_batches(["-"], spec, workers=2, score=lambda b: b.weights * 2))
    assert np.concatenate([b.scores for b in got]).tolist() == [
        2 * w for w in np.concatenate([b.weights for b in got]).tolist()]
    assert all(b.scores is None for b in read_batches([path], spec, workers=2))


# ---------------------------------------------------------------- order and errors


def _slow_early_blocks(monkeypatch) -> None:
    """Make every third block finish late, so that later blocks finish before earlier ones."""
    parse = par.ParallelParser._parse
    count = iter(range(1 << 30))
    lock = threading.Lock()

    def slow(self, *args):
        with lock:
            k = next(count)
        if k % 3 == 0:
            time.sleep(0.01)
        return parse(self, *args)

    monkeypatch.setattr(par.ParallelParser, "_parse", slow)


def test_order_kept_when_blocks_finish_out_of_order(tmp_path: Path, monkeypatch) -> None:
    rng = random.Random(9)
    path = write(tmp_path, "o.criteo", FORMATS["criteo"][0](rng, 600))
    spec = spec_of("criteo")
    want = read([path], spec, batch_rows=20)
    _slow_early_blocks(monkeypatch)
    got = read([path], spec, batch_rows=20, chunk_bytes=2000, workers=3)
    assert got == want
    lines = np.frombuffer(got["lines"], np.int64)
    assert (np.diff(lines) > 0).all()


def _vw_lines(n: int) -> list[str]:
    return [f"{i % 2} |a x{i} y:{i}" for i in range(n)]


BAD = {
    "bad label": "zz |a x",
    "no bar": "1 a x",
    "out of range": "1 |a x:1.7976931348623159e308",  # rejected by the Python fix-up
}


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("at", [1, 2, 57, 150, 299, 300])
def test_error_line_in_any_block(tmp_path: Path, kind: str, at: int) -> None:
    lines = _vw_lines(300)
    lines[at - 1] = BAD[kind]
    path = write(tmp_path, "bad.vw", "\n".join(lines))  # no newline after the last line
    spec = FeatureSpec("vw", hash_bits=BITS)
    want = error_of([path], spec, batch_rows=16)
    assert want.line == at
    for block in (1, 40, 400, 1 << 20):
        got = error_of([path], spec, batch_rows=16, chunk_bytes=block, workers=2)
        assert str(got) == str(want), block


def test_earlier_error_wins_and_nothing_after_it(tmp_path: Path, monkeypatch) -> None:
    lines = _vw_lines(400)
    lines[99] = "1 |a x:nope"
    lines[349] = "bad |a x"
    path = write(tmp_path, "two.vw", "\n".join(lines) + "\n")
    spec = FeatureSpec("vw", hash_bits=BITS)
    want = error_of([path], spec)
    assert want.line == 100
    _slow_early_blocks(monkeypatch)
    for block in (30, 200, 1000):
        seen = []
        with pytest.raises(InputError) as info:
            for batch in read_batches([path], spec, 8, chunk_bytes=block, workers=3):
                seen.extend(batch.lines.tolist())
        assert str(info.value) == str(want)
        assert seen == list(range(1, len(seen) + 1)) and len(seen) < 100


def test_read_error_comes_after_the_records_before_it(tmp_path: Path) -> None:
    text = "\n".join(_vw_lines(5000)).encode()
    path = write(tmp_path, "cut.vw.gz", gzip.compress(text)[:20000])
    spec = FeatureSpec("vw", hash_bits=BITS)
    with pytest.raises(FtrlError) as want:
        read([path], spec)
    seen = []
    with pytest.raises(FtrlError) as got:
        for batch in read_batches([path], spec, 100, chunk_bytes=4096, workers=2):
            seen.extend(batch.lines.tolist())
    assert str(got.value) == str(want.value)
    assert seen == list(range(1, len(seen) + 1)) and len(seen) > 1000


# ---------------------------------------------------------------- bounded memory


def test_blocks_in_flight_are_bounded(tmp_path: Path, monkeypatch) -> None:
    rng = random.Random(3)
    path = write(tmp_path, "m.vw", FORMATS["vw"][0](rng, 2000))
    spec = FeatureSpec("vw", hash_bits=BITS)
    counts: list[int] = []
    monkeypatch.setattr(par, "_on_submit", counts.append)
    for workers in (2, 3):
        counts.clear()
        read([path], spec, chunk_bytes=500, workers=workers)
        bound = par.INFLIGHT_PER_WORKER * workers
        assert len(counts) > 50
        assert max(counts) == bound
        # a consumer that stops after one batch caused at most ``bound`` blocks to be read
        counts.clear()
        batches = read_batches([path], spec, chunk_bytes=500, workers=workers)
        next(batches)
        assert len(counts) <= bound
        batches.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("ftrl-parse")]


# ---------------------------------------------------------------- csv with quotes


def test_csv_quoted_line_breaks_fall_back(tmp_path: Path, monkeypatch) -> None:
    rng = random.Random(4)
    body = [_csv_line(rng, ",") for _ in range(400)]
    body[250] = '1,"two\nlines",,"1.5"'
    body[300] = '0,"a ""quoted""\r\nvalue\n",b,2'
    path = write(tmp_path, "q.csv", "label,a,b,x\n" + "\n".join(body) + "\n")
    spec = FeatureSpec("csv", hash_bits=BITS, numeric_columns=("x",))
    counts: list[int] = []
    monkeypatch.setattr(par, "_on_submit", counts.append)
    want = read([path], spec, batch_rows=25)
    for block in (1, 64, 1000, 1 << 20):
        counts.clear()
        assert read([path], spec, batch_rows=25, chunk_bytes=block, workers=2) == want, block
        if block == 64:
            assert len(counts) > 10  # the blocks before the first quote ran in parallel
        # scores are filled on the sequential part after the first quote too
        scored = list(read_batches([path], spec, batch_rows=25, chunk_bytes=block, workers=2,
                                   score=lambda b: b.weights + 1))
        assert all(b.scores is not None and (b.scores == b.weights + 1).all() for b in scored)


def test_csv_quote_error_after_fallback(tmp_path: Path) -> None:
    body = [f"{i % 2},v{i}" for i in range(200)]
    body[150] = '1,"never closed'
    path = write(tmp_path, "u.csv", "label,a\n" + "\n".join(body) + "\n")
    spec = FeatureSpec("csv", hash_bits=BITS)
    want = error_of([path], spec)
    assert want.line == 152
    for block in (16, 500):
        assert str(error_of([path], spec, chunk_bytes=block, workers=2)) == str(want)
