"""Feature crosses: --interactions and Vowpal Wabbit's -q/--cubic, from parsing to scoring."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
from clirun import ftrl

from ftrl_cli import checkpoint
from ftrl_cli.hashing import hash_name, namespace_seed
from ftrl_cli.readers import CRITEO_COLUMNS, read_batches, resolve_spec

FNV = 16777619
BITS = 20
MASK = (1 << BITS) - 1


def cross(*hashes: int) -> int:
    """The documented hash of a cross: FNV-combined full hashes of its parts."""
    h = hashes[0]
    for x in hashes[1:]:
        h = ((h * FNV) & 0xFFFFFFFF) ^ x
    return h


def full(ns: str, name: str) -> int:
    return hash_name(name, namespace_seed(ns, "strings"), "strings")


def rows(path, fmt=None, **kw) -> list[list[tuple[int, float]]]:
    """Each record's (coordinate, value) pairs, sorted."""
    spec = resolve_spec([str(path)], format=fmt, hash_bits=BITS, **kw)
    out = []
    for b in read_batches([str(path)], spec):
        for r in range(len(b)):
            s, e = b.indptr[r], b.indptr[r + 1]
            out.append(sorted(zip(b.indices[s:e].tolist(), b.data[s:e].tolist())))
    return out


def products(path, fmt=None, **kw) -> list[list[tuple[int, float]]]:
    """Each record's crossed features alone: the multiset difference with the plain ones."""
    plain = rows(path, fmt, **{k: v for k, v in kw.items() if "interactions" not in k})
    crossed = rows(path, fmt, **kw)
    extra = []
    for p, c in zip(plain, crossed, strict=True):
        left = list(c)
        for f in p:
            left.remove(f)
        extra.append(sorted(left))
    return extra


# ---- the same records in three formats ------------------------------------------------

RECORDS = [  # label, I1..I13 (<= 2, where criteo's log bin is the value), C1..C26
    (1, [0, 1, 2, None, 1, 0, 2, 1, None, 0, 1, 2, 0],
     [f"{(7 * i + 3) % 97:08x}" if i % 5 else "" for i in range(26)]),
    (0, [2, None, 0, 1, 1, 1, 0, 2, 2, 1, 0, None, 1],
     [f"{(11 * i + 5) % 89:08x}" for i in range(26)]),
]


@pytest.fixture
def same_records(tmp_path):
    crit, csv, vw = tmp_path / "d.criteo", tmp_path / "d.csv", tmp_path / "d.vw"
    names = CRITEO_COLUMNS
    lines_c, lines_csv, lines_vw = [], [",".join(names)], []
    for label, ints, cats in RECORDS:
        vals = [str(label)] + ["" if v is None else str(v) for v in ints] + cats
        lines_c.append("\t".join(vals))
        lines_csv.append(",".join(vals))
        groups = [f"|{n} {v}" for n, v in zip(names[1:], vals[1:]) if v]
        lines_vw.append(f"{label} " + " ".join(groups))
    crit.write_text("\n".join(lines_c) + "\n")
    csv.write_text("\n".join(lines_csv) + "\n")
    vw.write_text("\n".join(lines_vw) + "\n")
    return crit, csv, vw


@pytest.mark.parametrize("spec", ["C*:C*", "I1:C2,C3:C4:C5", "I*:C1", "*:*"])
def test_coordinates_agree_across_formats(same_records, spec: str) -> None:
    crit, csv, vw = same_records
    a = rows(crit, "criteo", interactions=spec)
    assert a == rows(csv, "csv", interactions=spec) == rows(vw, "vw", interactions=spec)
    assert a != rows(crit, "criteo")  # crosses were made


def test_glob_pairs_every_distinct_column_once(same_records) -> None:
    crit, _, _ = same_records
    got = products(crit, "criteo", interactions="C*:C*")
    assert len(got[1]) == 325  # 26 * 25 / 2: all C columns present in the second record
    present = [c for c in RECORDS[0][2] if c]
    assert len(got[0]) == len(present) * (len(present) - 1) // 2
    # each unordered pair once, ordered by the columns' seeds
    cats = RECORDS[1][2]
    names = [f"C{i}" for i in range(1, 27)]
    hs = {n: full(n, v) for n, v in zip(names, cats)}
    expected = sorted(
        (cross(hs[a], hs[b]) & MASK, 1.0)
        for a, b in itertools.combinations(names, 2)
        for a, b in [sorted((a, b), key=lambda n: namespace_seed(n, "strings"))]
    )
    assert got[1] == expected


def test_explicit_self_cross_is_the_square(tmp_path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("label,C1,x\n1,ab,3\n0,,0.5\n")
    assert products(data, interactions="C1:C1", numeric_columns="x") == [
        [(cross(full("C1", "ab"), full("C1", "ab")) & MASK, 1.0)], []]
    x = hash_name("", namespace_seed("x", "strings"), "strings")
    assert products(data, interactions="x:x", numeric_columns="x") == [
        [(cross(x, x) & MASK, 9.0)], [(cross(x, x) & MASK, 0.25)]]
    # a glob never pairs a column with itself
    assert products(data, interactions="C*:C*") == [[], []]


# ---- Vowpal Wabbit's spellings on hand-checked records ---------------------------------

VW_TEXT = "1 |a x y:2 |b z\n0 |ab p |c q:3\n1 |a x:0.5 |aa y |b z w:-1 |c v\n"


@pytest.fixture
def vw_file(tmp_path):
    p = tmp_path / "q.vw"
    p.write_text(VW_TEXT)
    return p


def test_quadratic_products_and_values(vw_file) -> None:
    x, y, z = full("a", "x"), full("a", "y"), full("b", "z")
    got = products(vw_file, vw_interactions=("ab",))
    assert got[0] == sorted([(cross(x, z) & MASK, 1.0), (cross(y, z) & MASK, 2.0)])
    assert got[1] == []  # |ab starts with a, but no b namespace
    # -q aa: one feature space, i <= j as in Vowpal Wabbit 9
    got = products(vw_file, vw_interactions=("aa",))
    assert got[0] == sorted([(cross(x, x) & MASK, 1.0), (cross(x, y) & MASK, 2.0),
                             (cross(y, y) & MASK, 4.0)])
    p = full("ab", "p")
    assert got[1] == [(cross(p, p) & MASK, 1.0)]


def test_cubic_products_and_values(vw_file) -> None:
    x, y, z = full("a", "x"), full("a", "y"), full("b", "z")
    got = products(vw_file, vw_interactions=("aab",))
    assert got[0] == sorted([(cross(x, x, z) & MASK, 1.0), (cross(x, y, z) & MASK, 2.0),
                             (cross(y, y, z) & MASK, 4.0)])


def test_named_groups_use_whole_namespace_names(vw_file) -> None:
    # 'a' is the namespace a only (|aa and |ab are others), unlike -q's letter
    got = products(vw_file, interactions="a:b")
    x, y, z = full("a", "x"), full("a", "y"), full("b", "z")
    assert got[0] == sorted([(cross(x, z) & MASK, 1.0), (cross(y, z) & MASK, 2.0)])
    assert got[1] == []
    w = full("b", "w")
    x3 = full("a", "x")
    assert got[2] == sorted([(cross(x3, z) & MASK, 0.5), (cross(x3, w) & MASK, -0.5)])


def _vw_audit(args: str, path) -> list[list[float]]:
    """Values of Vowpal Wabbit's interaction products per record, from its audit."""
    code = (
        "import sys\nfrom vowpalwabbit import Workspace\n"
        "ws = Workspace('--audit --quiet -b 18 ' + sys.argv[1])\n"
        "for line in open(sys.argv[2]):\n"
        "    ex = ws.example(line); ws.predict(ex); sys.stdout.flush(); ws.finish_example(ex)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, args, str(path)], capture_output=True,
                         text=True, check=True).stdout
    records = []
    for line in out.splitlines():
        if "\t" not in line:  # the prediction line before each record's audit
            continue
        items = [f for f in line.strip().split("\t") if "*" in f.split(":")[0]]
        records.append(sorted(float(f.split(":")[2]) for f in items))
    return records


@pytest.mark.parametrize("args,q", [
    ("-q ab", ["ab"]), ("-q aa", ["aa"]), ("-q a:", ["a:"]), ("-q ::", ["::"]),
    ("--cubic aab", ["aab"]), ("--cubic aaa", ["aaa"]), ("-q ab -q ba", ["ab", "ba"]),
    ("-q ab --cubic abc", ["ab", "abc"]),
])
def test_products_match_vowpal_wabbit(vw_file, args: str, q: list[str]) -> None:
    pytest.importorskip("vowpalwabbit")
    theirs = _vw_audit(args, vw_file)
    ours = [sorted(v for _, v in r) for r in products(vw_file, vw_interactions=tuple(q))]
    assert len(theirs) == len(ours) == 3
    for a, b in zip(ours, theirs, strict=True):
        assert len(a) == len(b)
        np.testing.assert_allclose(a, b, rtol=1e-6)


# ---- the CLI: training, the checkpoint, scoring, warm starts, errors -------------------

def _train(tmp_path, name, data, *args):
    out = tmp_path / name
    r = ftrl("train", data, "-o", out, "--quiet", "-b", str(BITS), "--learning-rate", "0.3",
             *args)
    assert r.code == 0, r.err
    return out


def test_checkpoint_records_crosses_and_predict_applies_them(tmp_path, vw_file) -> None:
    crossed = _train(tmp_path, "x.parquet", vw_file, "-q", "ab", "--cubic", "aab")
    plain = _train(tmp_path, "p.parquet", vw_file)
    ckpt = checkpoint.load(str(crossed))
    assert ckpt.spec.vw_interactions == ("ab", "aab")
    assert ckpt.meta["hashing"]["vw_interactions"] == ["ab", "aab"]
    margins = [float(v) for v in ftrl("predict", "-m", crossed, vw_file, "--raw").out.split()]
    other = [float(v) for v in ftrl("predict", "-m", plain, vw_file, "--raw").out.split()]
    assert not np.allclose(margins, other)
    # w.x over the features and the expected products, computed here
    w, bias = ckpt.serving_weights()
    x, y, z = full("a", "x"), full("a", "y"), full("b", "z")
    feats0 = [(x, 1.0), (y, 2.0), (z, 1.0), (cross(x, z), 1.0), (cross(y, z), 2.0),
              (cross(x, x, z), 1.0), (cross(x, y, z), 2.0), (cross(y, y, z), 4.0)]
    expected = bias + sum(w[h & MASK] * v for h, v in feats0)
    assert margins[0] == pytest.approx(expected, rel=1e-8)  # printed with 9 decimals
    r = ftrl("evaluate", "-m", crossed, vw_file, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["count"] == 3


def test_csv_model_applies_its_crosses_to_reordered_columns(tmp_path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("label,u,v\n1,p,q\n0,r,q\n1,p,s\n")
    b = tmp_path / "b.csv"
    b.write_text("v,label,u\nq,1,p\nq,0,r\ns,1,p\n")
    model = _train(tmp_path, "m.parquet", a, "--interactions", "u:v")
    pa = ftrl("predict", "-m", model, a, "--raw").out
    pb = ftrl("predict", "-m", model, b, "--raw").out
    assert pa == pb
    plain = _train(tmp_path, "n.parquet", a)
    assert ftrl("predict", "-m", plain, a, "--raw").out != pa


def test_warm_start_keeps_or_refuses_crosses(tmp_path, vw_file) -> None:
    model = _train(tmp_path, "m.parquet", vw_file, "--interactions", "a:b")
    cont = _train(tmp_path, "c.parquet", vw_file, "--init-model", model)
    assert checkpoint.load(str(cont)).spec.interactions == ("a:b",)
    r = ftrl("train", vw_file, "-o", tmp_path / "d.parquet", "--init-model", model,
             "--interactions", "a:c")
    assert r.code == 2
    assert "interactions" in r.err and "'a:b'" in r.err and len(r.err.splitlines()) == 1
    assert not (tmp_path / "d.parquet").exists()
    r = ftrl("train", vw_file, "-o", tmp_path / "d.parquet", "--init-model", model, "-q", "ab")
    assert r.code == 2 and "incompatible" in r.err


@pytest.mark.parametrize("args,message", [
    (("--interactions", "C1"), "group 'C1' needs two or three names"),
    (("--interactions", "C1:"), "group 'C1:' has an empty name"),
    (("--interactions", "a:b:c:d"), "needs two or three names"),
    (("--interactions", "u:nope"), "names column 'nope', which the input does not have"),
    (("--interactions", "label:u"), "which is the label"),
    (("--interactions", "Z*:u"), "pattern 'Z*' matches no feature column"),
    (("-q", "uv"), "-q/--cubic apply to vw input"),
])
def test_bad_specs_are_one_line_errors(tmp_path, args, message) -> None:
    data = tmp_path / "d.csv"
    data.write_text("label,u,v\n1,p,q\n")
    out = tmp_path / "m.parquet"
    out.write_bytes(b"old")
    r = ftrl("train", data, "-o", out, "--quiet", *args)
    assert r.code == 2, r.err
    assert message in r.err and len(r.err.strip().splitlines()) == 1
    assert "Traceback" not in r.err
    assert out.read_bytes() == b"old"


@pytest.mark.parametrize("args,message", [
    (("-q", "abc"), "-q/--quadratic: 'abc' must be two namespace letters"),
    (("--cubic", "ab"), "--cubic: 'ab' must be three namespace letters"),
    (("-q", "ab", "--interactions", "a:b"), "cannot be mixed"),
])
def test_bad_vw_spellings(tmp_path, vw_file, args, message) -> None:
    r = ftrl("train", vw_file, "-o", tmp_path / "m.parquet", "--quiet", *args)
    assert r.code == 2 and message in r.err and len(r.err.strip().splitlines()) == 1


def test_criteo_columns_are_checked_before_reading(same_records, tmp_path) -> None:
    crit, _, _ = same_records
    r = ftrl("train", crit, "-o", tmp_path / "m.parquet", "--interactions", "C1:C27")
    assert r.code == 2 and "names column 'C27', which the input does not have" in r.err


def test_libsvm_has_nothing_to_cross(tmp_path) -> None:
    data = tmp_path / "d.libsvm"
    data.write_text("1 3:1 5:2\n")
    r = ftrl("train", data, "-o", tmp_path / "m.parquet", "--interactions", "a:b")
    assert r.code == 2 and "libsvm input has no namespaces" in r.err


def test_parallel_reader_gives_the_same_crosses(same_records) -> None:
    crit, _, _ = same_records
    spec = resolve_spec([str(crit)], hash_bits=BITS, interactions="C*:C*,I*:C1:C2")
    one = list(read_batches([str(crit)], spec))
    two = list(read_batches([str(crit)], spec, workers=2, chunk_bytes=300))
    cat = [np.concatenate([getattr(b, k) for b in bs]) for bs in (one, two)
           for k in ("indices", "data")]
    assert np.array_equal(cat[0], cat[2]) and np.array_equal(cat[1], cat[3])


def test_help_lists_the_cross_options() -> None:
    out = ftrl("train", "--help").out
    assert "--interactions" in out and "--quadratic" in out and "--cubic" in out
