"""``ftrl train --feature-names``: each coordinate's first name and its collisions, for every
input format and crosses, bounded by ``--max-names``, through resume and warm starts."""

from __future__ import annotations

import csv

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from clirun import ftrl, sample

from ftrl_cli import run_checkpoint
from ftrl_cli.feature_names import NameBook, naming_of
from ftrl_cli.feature_names_read import NameRecorder
from ftrl_cli.hashing import feature_index
from ftrl_cli.readers import read_batches, resolve_spec


def _names(path) -> dict[int, tuple[str, int]]:
    """``index -> (feature, collisions)`` of the named kernel rows of a model file."""
    t = pq.read_table(path).to_pydict()
    return {i: (f, n) for v, i, f, n in zip(t["variable"], t["index"], t["feature"],
                                            t["feature_collisions"])
            if v == "kernel" and f is not None}


def _train(tmp_path, name, *args, out="m.parquet"):
    path = tmp_path / out
    r = ftrl("train", *args, "-o", path, "--learning-rate", "0.1", "--quiet")
    assert r.code == 0, r.err
    return path


@pytest.mark.parametrize("name, options", [
    ("train.vw", {}),
    ("train.vw", {"hash_mode": "all"}),
    ("train.csv", {"numeric_columns": "I1,I2"}),
    ("train.csv", {"hash_mode": "all"}),
    ("train.tsv", {}),
    ("train.criteo", {}),
    ("train.libsvm", {}),
    ("train.csv", {"interactions": "C1:C2,C*:C*"}),
    ("train.criteo", {"interactions": "C1:C2:C3,I1:C1"}),
    ("train.vw", {"vw_interactions": ("ic", "cc")}),
    ("train.vw", {"vw_interactions": ("iii", "i:")}),
    ("train.vw", {"interactions": "c:i,c:c"}),
])
def test_every_coordinate_read_is_named_and_no_other(tmp_path, name, options):
    path = tmp_path / name  # the first 400 records: crosses of three make many names
    path.write_text("".join(open(sample(name)).readlines()[:401]))
    spec = resolve_spec([str(path)], hash_bits=20, **options)
    book = NameBook(naming_of(spec), 10**7)
    recorder = NameRecorder(book, spec)
    coords = set()
    for b in read_batches([str(path)], spec, on_open=recorder.on_open, workers=2,
                          chunk_bytes=1 << 14):
        coords.update(b.indices.tolist())
    assert set(book.first) == coords
    assert sum(book.count.values()) == len(book)  # each distinct name counted once


def _first_names_by_hand(path, hash_bits):
    """The first ``column=value`` at each coordinate of a headed csv, in record order."""
    first, names = {}, {}
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        for col, v in zip(rows[0], row):
            if col == "label" or not v:
                continue
            coord = feature_index(col, v, hash_bits, "strings")
            first.setdefault(coord, f"{col}={v}")
            names.setdefault(coord, set()).add(f"{col}={v}")
    return first, {c: len(s) for c, s in names.items()}


@pytest.mark.parametrize("bits", [18, 6])
def test_csv_names_are_the_first_in_record_order_with_their_collisions(tmp_path, bits):
    model = _train(tmp_path, "csv", sample("train.csv"), "-b", bits, "--feature-names")
    first, counts = _first_names_by_hand(sample("train.csv"), bits)
    got = _names(model)
    assert {i: f for i, (f, _) in got.items()} == first
    assert {i: n for i, (_, n) in got.items()} == counts
    if bits == 6:
        assert max(counts.values()) > 5  # a tiny model: many names on each coordinate


def _same_records(tmp_path):
    """The same records as csv, criteo and vw: categorical C1 and C2, the rest empty."""
    rng = np.random.default_rng(3)
    recs = [(int(rng.integers(2)), f"a{rng.integers(40)}", f"b{rng.integers(60)}")
            for _ in range(300)]
    header = ["label", *(f"I{i}" for i in range(1, 14)), *(f"C{i}" for i in range(1, 27))]
    rows = [[str(y), *[""] * 13, c1, c2, *[""] * 24] for y, c1, c2 in recs]
    (tmp_path / "r.csv").write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    (tmp_path / "r.criteo").write_text("\n".join("\t".join(r) for r in rows) + "\n")
    (tmp_path / "r.vw").write_text("".join(f"{y} |C1 {c1} |C2 {c2}\n" for y, c1, c2 in recs))
    return [tmp_path / f"r.{x}" for x in ("csv", "criteo", "vw")]


def test_names_are_the_same_from_csv_criteo_vw_and_parquet(tmp_path):
    paths = _same_records(tmp_path)
    pq.write_table(pacsv.read_csv(paths[0], convert_options=pacsv.ConvertOptions(
        column_types={f"C{i}": pa.string() for i in range(1, 27)})), tmp_path / "r.parquet")
    paths.append(tmp_path / "r.parquet")
    got = [_names(_train(tmp_path, str(p), p, "-b", 16, "--feature-names",
                         out=f"{p.suffix[1:]}.parquet")) for p in paths]
    assert got[0] and all(g == got[0] for g in got[1:])
    assert {f.split("=")[0] for f, _ in got[0].values()} == {"C1", "C2"}
    crossed = [_names(_train(tmp_path, str(p), p, "-b", 16, "--feature-names",
                             "--interactions", "C1:C2", out=f"x{p.suffix[1:]}.parquet"))
               for p in paths]
    assert all(g == crossed[0] for g in crossed[1:])
    assert any("^" in f for f, _ in crossed[0].values())
    some = next(f for f, _ in crossed[0].values() if "^" in f)
    assert some.startswith("C1=a") and "^C2=b" in some


def test_max_names_bounds_the_names_and_says_so(tmp_path):
    out = tmp_path / "m.parquet"
    r = ftrl("train", sample("train.vw"), "-o", out, "--feature-names", "--max-names", "25")
    assert r.code == 0, r.err
    assert ("feature names = 25 coordinates named, 25 distinct names (--max-names 25 reached: "
            "later names not recorded, collision counts are lower bounds)") in r.err
    named = _names(out)
    assert len(named) == 25
    # the first 25 distinct names of the file, in order
    words = []
    for line in open(sample("train.vw")):
        for seg in line.split("|")[1:]:
            ns, *feats = seg.split()
            words += [f"{ns}={f}" for f in feats if f"{ns}={f}" not in words]
        if len(words) >= 25:
            break
    assert sorted(f for f, _ in named.values()) == sorted(words[:25])
    s = ftrl("inspect", out, "--json")
    assert '"full": true' in s.out and '"max_names": 25' in s.out


def test_names_from_stdin_and_a_warm_start_carries_them(tmp_path):
    data = open(sample("train.vw"), "rb").read()
    first = tmp_path / "a.parquet"
    r = ftrl("train", "-", "--format", "vw", "-o", first, "--feature-names", "-b", 18,
             stdin=data[: len(data) // 2])
    assert r.code == 0, r.err
    a = _names(first)
    assert a
    # continued without the flag: old coordinates keep their names, new ones have none
    plain = tmp_path / "b.parquet"
    r = ftrl("train", sample("test.vw"), "--init-model", first, "-o", plain)
    assert r.code == 0, r.err
    b = _names(plain)
    assert b == a
    assert len(pq.read_table(plain)) > len(a) + 1
    # continued with it: the same names plus the new ones
    more = tmp_path / "c.parquet"
    r = ftrl("train", sample("test.vw"), "--init-model", first, "-o", more, "--feature-names")
    assert r.code == 0, r.err
    c = _names(more)
    assert {i: f for i, (f, _) in c.items() if i in a} == {i: f for i, (f, _) in a.items()}
    assert len(c) == len(pq.read_table(more)) - 1


def test_models_without_names_still_load_everywhere(tmp_path):
    old = _train(tmp_path, "vw", sample("train.vw"), "-b", 18)
    assert "feature" not in pq.read_table(old).column_names
    r = ftrl("train", sample("test.vw"), "--init-model", old, "-o", tmp_path / "n.parquet",
             "--feature-names")
    assert r.code == 0, r.err
    assert _names(tmp_path / "n.parquet")
    named = _train(tmp_path, "vw", sample("train.vw"), "-b", 18, "--feature-names",
                   out="named.parquet")
    for model in (old, named):
        p = ftrl("predict", "-m", model, sample("test.vw"))
        e = ftrl("evaluate", "-m", model, sample("test.vw"), "--json")
        assert p.code == 0 and e.code == 0, p.err + e.err
    assert ftrl("predict", "-m", old, sample("test.vw")).out == \
        ftrl("predict", "-m", named, sample("test.vw")).out
    # the names are covered by the checksum
    t = pq.read_table(named)
    meta = t.schema.metadata
    f = t.column("feature").to_pylist()
    k = next(i for i, v in enumerate(f) if v is not None)
    f[k] = f[k] + "x"
    changed = t.set_column(t.column_names.index("feature"), "feature", pa.array(f, pa.string()))
    pq.write_table(changed.replace_schema_metadata(meta), tmp_path / "bad.parquet")
    r = ftrl("inspect", tmp_path / "bad.parquet")
    assert r.code == 2 and "checksum mismatch" in r.err


def test_a_resumed_run_records_the_names_of_one_never_stopped(tmp_path, monkeypatch):
    import signal

    common = [sample("train.csv"), "-b", "12", "--learning-rate", "0.1",
              "--checkpoint-every", "250", "--feature-names", "--holdout-after", "1000",
              "--passes", "2"]
    ref = ftrl("train", *common, "-o", tmp_path / "ref.parquet")
    assert ref.code == 0, ref.err
    orig = run_checkpoint.RunCheckpoints.write
    count = [0]

    def write(self, state):
        orig(self, state)
        count[0] += 1
        if count[0] == 2:
            signal.raise_signal(signal.SIGTERM)

    out = tmp_path / "m.parquet"
    with monkeypatch.context() as m:
        m.setattr(run_checkpoint.RunCheckpoints, "write", write)
        assert ftrl("train", *common, "-o", out).code == 143
    resumed = ftrl("train", *common, "-o", out, "--resume")
    assert resumed.code == 0, resumed.err
    assert out.read_bytes() == (tmp_path / "ref.parquet").read_bytes()


def test_quoted_csv_fields_are_named_by_their_text(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('label,a,b\n1,"x,y","line\nbreak"\n0,plain, padded \n')
    model = _train(tmp_path, "csv", p, "-b", 20, "--feature-names")
    assert sorted(f for f, _ in _names(model).values()) == \
        ["a=plain", "a=x,y", "b=line\nbreak", "b=padded"]


def test_recording_reads_the_records_once_per_source(tmp_path):
    # the tap sees each byte once, whatever the reader's chunk size
    spec = resolve_spec([sample("train.vw")], hash_bits=20)
    books = []
    for chunk in (1 << 20, 97):
        book = NameBook(naming_of(spec), 10**7)
        recorder = NameRecorder(book, spec)
        for _ in read_batches([sample("train.vw")], spec, chunk_bytes=chunk,
                              on_open=recorder.on_open):
            pass
        books.append((book.first, book.count, len(book)))
    assert books[0] == books[1]


@pytest.mark.parametrize("groups, letters", [
    (["a:b", "a:a", "b:a"], ()), (["*:*"], ()), (["a:b:c", "?:?:?"], ()),
    ((), ("ab", "aa", "::")), ((), ("a:b", "::a")),
])
def test_cross_members_are_the_parts_of_each_product_of_cross_rows(groups, letters):
    from ftrl_cli.readers._cross_members import cross_members
    from ftrl_cli.readers.crosses_spec import build
    from ftrl_cli.readers.crossing import add_crosses

    c = build(groups, letters)
    rng = np.random.default_rng(5)
    sizes = rng.integers(0, 7, 120)
    indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(indptr[-1])
    names = np.array([ord(x) for x in "abc"], np.uint32)
    ns = rng.integers(0, 3, n)
    keys = names[ns]
    hashes = rng.integers(0, 2**32, n, dtype=np.uint32)
    terms = np.zeros(n, np.uint64)
    for t, (_, pat) in enumerate(c.terms):
        hit = np.ones(n, bool) if pat in ("*", "?", ":") else (ns == "abc".index(pat))
        terms[hit] |= np.uint64(1 << t)
    mask = (1 << 32) - 1
    ptr, idx, _ = add_crosses(c, indptr, hashes.astype(np.int64), np.ones(n), hashes, keys,
                              terms, mask)
    at = cross_members(indptr, keys.astype(np.int64), terms, c.groups, c.rules, len(c.terms))
    fnv = 16777619
    mine = []
    for a, b, d in at.tolist():
        h = ((int(hashes[a]) * fnv) & mask) ^ int(hashes[b])
        mine.append(h if d < 0 else ((h * fnv) & mask) ^ int(hashes[d]))
    products = [idx[ptr[r] + sizes[r]:ptr[r + 1]].tolist() for r in range(len(sizes))]
    assert mine == [h for row in products for h in row]
    assert len(mine) > 100


def test_several_inputs_each_to_its_last_line(tmp_path):
    (tmp_path / "a.csv").write_text("label,a,b\n1,x,y\n0,z,w\n")
    (tmp_path / "b.csv").write_text("label,a,b\n1,last-a,last-b")  # no newline at the end
    model = _train(tmp_path, "csv", tmp_path / "a.csv", tmp_path / "b.csv", "-b", 20,
                   "--feature-names")
    assert sorted(f for f, _ in _names(model).values()) == \
        ["a=last-a", "a=x", "a=z", "b=last-b", "b=w", "b=y"]
