"""Fuzzing the readers: any bytes give finite records or one-line errors, never a crash.

Valid sample lines are mutated (bytes flipped, inserted, deleted) or replaced by random bytes
and read in every format, with one parse thread and with two on tiny blocks, failing on and
skipping bad records.  ``make fuzz`` runs many more examples (``HYPOTHESIS_PROFILE=fuzz``).
"""

import os
import tempfile

import numpy as np
from clirun import ftrl_process, sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.readers import ErrorPolicy, FeatureSpec, read_batches

FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
EXAMPLES = 3000 if FUZZ else 150
CLI_EXAMPLES = 100 if FUZZ else 3
FORMATS = ["vw", "libsvm", "csv", "tsv", "criteo"]
# records never span lines in these: a skipped record is exactly its line
LINE_FORMATS = {"vw", "libsvm", "criteo"}
TOKENS = [b"\n", b"\r", b"\t", b" ", b",", b'"', b'""', b":", b"|", b"'", b"#", b"-", b".",
          b"e", b"nan", b"inf", b"1e999", b"1e-400", b"0x1", b"\xff", b"\xc3", b"\x00",
          b"9" * 30, b"|a", b":1:2"]
WORK = tempfile.mkdtemp(prefix="ftrl-fuzz-")


def _samples(fmt):
    lines = open(sample(f"train.{fmt}"), "rb").read().split(b"\n")
    head = lines[:1] if fmt in ("csv", "tsv") else []
    body = lines[len(head):len(head) + 12]
    if fmt == "vw":  # the rarer parts of the grammar
        body += [b"1 2.5 -0.3 'tag|a x:1.5 y |b:2 z", b"-1 |a f: w", b"# note", b"0 'ad7",
                 b"1 |a :3 7:0.25", b""]
    if fmt == "libsvm":
        body += [b"1 3:1.5 7 # note", b"-1 1:1e-3"]
    return head, body


SAMPLES = {fmt: _samples(fmt) for fmt in FORMATS}


@st.composite
def inputs(draw, fmt):
    """Bytes of a file in ``fmt``: sample lines mutated a little, or random bytes."""
    head, body = SAMPLES[fmt]
    if draw(st.integers(0, 9)) == 0:
        return b"\n".join(head + [draw(st.binary(max_size=200))])
    lines = draw(st.lists(st.sampled_from(body), min_size=1, max_size=8))
    data = bytearray(b"\n".join(head + lines) + draw(st.sampled_from([b"\n", b"", b"\r\n"])))
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "flip" and i < len(data):
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=3))
        else:
            del data[i:i + draw(st.integers(1, 4))]
    return bytes(data)


def _read(path, spec, workers, limit, skip):
    """Records (lines, labels, weights, rows), skipped (line, reason, raw) and the error (its
    message and whether it is a record's) if the reading stopped."""
    policy = ErrorPolicy(skip=skip, max_errors="100%")
    records, skipped = [], []
    try:
        for b in read_batches([path], spec, batch_rows=3, chunk_bytes=64, workers=workers,
                              errors=policy, max_line_bytes=limit):
            assert np.isfinite(b.data).all() and np.isfinite(b.weights).all()
            assert not np.isinf(b.labels).any()
            assert b.base is None or np.isfinite(b.base).all()
            skipped += [(r.line, r.reason, r.raw) for _, r in b.skipped or ()]
            for i in range(len(b)):
                lo, hi = b.indptr[i], b.indptr[i + 1]
                records.append((int(b.lines[i]), b.labels[i], b.weights[i],
                                sorted(zip(b.indices[lo:hi].tolist(), b.data[lo:hi].tolist()))))
    except FtrlError as e:
        message = str(e)
        assert "\n" not in message and message
        return records, skipped, (message, isinstance(e, InputError))
    assert policy.skipped == len(skipped)
    return records, skipped, None


def _same(a, b):
    # NaN labels (records without one) compare equal
    return repr(a) == repr(b)


def check(fmt, data, limit, numeric):
    path = os.path.join(WORK, f"in.{fmt}")
    with open(path, "wb") as fh:
        fh.write(data)
    spec = FeatureSpec(fmt, hash_bits=12, hash_mode="strings", numeric_labels=numeric)
    fail1 = _read(path, spec, 1, limit, False)
    assert _same(fail1, _read(path, spec, 2, limit, False))
    skip1 = _read(path, spec, 1, limit, True)
    assert _same(skip1, _read(path, spec, 2, limit, True))
    records, skipped, error = skip1
    if fail1[2] is None:
        assert _same(skip1, fail1)  # nothing to skip
    if error is not None:  # only what is not a record (a header, the file) still stops it
        assert fail1[2] == error and not error[1]
    if fmt in LINE_FORMATS:
        lines = data.split(b"\n")
        bad = {line for line, _, _ in skipped}
        for line, _, raw in skipped:
            assert raw == lines[line - 1][:limit]
        # what is left once the rejected lines are gone reads without an error
        kept = b"\n".join(b"" if i + 1 in bad else ln for i, ln in enumerate(lines))
        with open(path, "wb") as fh:
            fh.write(kept)
        assert _same(_read(path, spec, 1, limit, False), (records, [], error))


def _fuzz(fmt):
    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=inputs(fmt), limit=st.sampled_from([40, 120, 1 << 20]), numeric=st.booleans())
    def test(data, limit, numeric):
        check(fmt, data, limit, numeric)

    return test


test_fuzz_vw = _fuzz("vw")
test_fuzz_libsvm = _fuzz("libsvm")
test_fuzz_csv = _fuzz("csv")
test_fuzz_tsv = _fuzz("tsv")
test_fuzz_criteo = _fuzz("criteo")


@settings(max_examples=CLI_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=inputs("vw"), skip=st.booleans())
def test_fuzz_cli_exits_0_or_2_without_a_traceback(data, skip):
    model = os.path.join(WORK, "m.parquet")
    if os.path.exists(model):
        os.unlink(model)
    args = ["--on-error", "skip"] if skip else []
    r = ftrl_process("train", "-", "-o", model, "--format", "vw", "--quiet", *args, stdin=data)
    assert r.code in (0, 2) and "Traceback" not in r.err, r.err
    if r.code == 2:
        assert r.err.count("\n") == 1 and r.err.startswith("ftrl: error: ")
        return
    r = ftrl_process("predict", "-m", model, *args, stdin=data)
    assert r.code in (0, 2) and "Traceback" not in r.err, r.err
