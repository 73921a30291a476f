"""Shared pieces of the readers tests: records as tuples, reference parsers, random inputs.

* reading through the package: ``read`` gives one ``(source, line, label or None, weight, tag,
  [(index, value), ...])`` tuple per record, ``error_of`` the one-line ``InputError`` message;
* small pure-Python parsers of vw, libsvm and csv/tsv text giving the same tuples (without the
  source), to compare the Numba kernels with;
* Hypothesis strategies drawing texts of each format (comments, blank lines, CRLF, quoting,
  numbers needing exact conversion) and chunk/batch sizes to read them with.
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import strategies as st

from ftrl_cli.errors import InputError
from ftrl_cli.hashing import feature_index, murmurhash3_32, numeric_column_index
from ftrl_cli.readers import read_batches, resolve_spec

# ---------------------------------------------------------------- reading through the package

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
    # the references hash every name as text, which is --hash all
    opts.setdefault("hash_mode", "all")
    spec = resolve_spec(paths, format=fmt, hash_bits=BITS, **opts)
    return records(read_batches(paths, spec, **kw))


def error_of(paths, fmt: str, **kw) -> str:
    with pytest.raises(InputError) as info:
        read(paths, fmt, **kw)
    return str(info.value)


def criteo_line(label: str | None, ints: list[str], cats: list[str]) -> str:
    return "\t".join(([label] if label is not None else []) + ints + cats)


# ---------------------------------------------------------------- reference parsers

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


# ---------------------------------------------------------------- random inputs

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


def kernel_records(text: str, suffix: str, fmt: str, splits, **opts) -> list[tuple]:
    """``read`` of ``text`` (a file ending in ``suffix``), ``splits`` = (chunk bytes, batch rows),
    without the source: the reference parsers' tuples."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), "in" + suffix, text)
        got = read([path], fmt, chunk_bytes=splits[0], batch_rows=splits[1], **opts)
    return [r[1:] for r in got]
