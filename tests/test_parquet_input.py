"""Parquet input: types hashed as their csv text, the same model as from csv, folders,
bags, errors, scoring to a Parquet table, and memory while streaming."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from clirun import ftrl

from ftrl_cli.errors import FtrlError, InputError
from ftrl_cli.hashing import feature_index, numeric_column_index
from ftrl_cli.readers import FeatureSpec, detect_format, read_batches, resolve_spec
from ftrl_cli.readers.parquet import open_dataset, parquet_batches, parquet_plan

BITS = 20
N = 2000


def features(path: Path, spec: FeatureSpec) -> list[list[tuple[int, float]]]:
    """Each record's (index, value) pairs in order."""
    rows = []
    for b in read_batches([str(path)], spec):
        for r in range(len(b)):
            s, e = b.indptr[r], b.indptr[r + 1]
            rows.append(list(zip(b.indices[s:e].tolist(), b.data[s:e].tolist())))
    return rows


def write(table: pa.Table, path: Path, **kw) -> Path:
    pq.write_table(table, path, **kw)
    return path


def mixed_table(n: int = N, seed: int = 0) -> pa.Table:
    """Every scalar type csv can hold, with nulls, and a label that depends on them."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 12, n)
    null = rng.random(n) < 0.1
    day0 = datetime.date(2024, 1, 1)
    t0 = datetime.datetime(2024, 1, 1, 3, 4, 5, 123000)
    sites = [f" site {v} " if v % 5 else f"{v}" for v in k]  # spaces, all-digit names
    label = (rng.random(n) < 1 / (1 + np.exp(-(k - 6) / 3))).astype(np.int64)
    return pa.table({
        "site": pa.array([None if z else s for s, z in zip(sites, null)], pa.string()),
        "app": pa.array([f"app_{v % 4}" for v in k], pa.large_string()),
        "label": pa.array(label),
        "i8": pa.array((k - 6).astype(np.int8)),
        "u32": pa.array(k.astype(np.uint32) * 1000003, mask=null),
        "i64": pa.array(k.astype(np.int64) * -(10**17)),
        "flag": pa.array(k % 3 == 0, mask=rng.random(n) < 0.2),
        "day": pa.array([day0 + datetime.timedelta(days=int(v)) for v in k]),
        "ts_ms": pa.array([t0 + datetime.timedelta(seconds=int(v)) for v in k],
                          pa.timestamp("ms")),
        "ts_us_utc": pa.array([t0 + datetime.timedelta(microseconds=int(v)) for v in k],
                              pa.timestamp("us", tz="UTC")),
        "ratio": pa.array(np.where(k == 11, 1e20, k / 8 + 0.1)),  # a float as a category
        "dev": pa.array([f"d{v % 3}" for v in k]).dictionary_encode(),
        "price": pa.array(rng.random(n) * 3, mask=null),  # numeric float64
        "score": pa.array((rng.random(n) * 2).astype(np.float32)),  # numeric float32
        "cents": pa.array([Decimal(int(v)) / 100 for v in k], pa.decimal128(9, 2)),
    })


def as_csv(table: pa.Table, path: Path) -> Path:
    pacsv.write_csv(table, path)
    return path


def model_columns(path: Path) -> tuple[pa.Table, dict]:
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"ftrl"])
    return table.replace_schema_metadata(None), meta


@pytest.mark.parametrize("mode", ["strings", "all"])
@pytest.mark.parametrize("crosses", [None, "site:app,dev:*,price:flag"])
def test_csv_and_parquet_train_the_same_model(tmp_path: Path, mode: str, crosses) -> None:
    table = mixed_table()
    pq_path = write(table, tmp_path / "day.parquet", row_group_size=300)
    csv_path = as_csv(table, tmp_path / "day.csv")
    args = ["--learning-rate", "0.2", "--numeric-columns", "price,score,cents", "--hash", mode,
            "--quiet", "-b", str(BITS)] + (["--interactions", crosses] if crosses else [])
    assert ftrl("train", pq_path, "-o", tmp_path / "p.parquet", *args).code == 0
    assert ftrl("train", csv_path, "-o", tmp_path / "c.parquet", *args).code == 0
    p_cols, p_meta = model_columns(tmp_path / "p.parquet")
    c_cols, c_meta = model_columns(tmp_path / "c.parquet")
    assert p_cols.num_rows > 100  # every column made features
    assert p_cols.equals(c_cols)  # every column, value for value
    assert p_meta["checksum"] == c_meta["checksum"]
    assert (p_meta["features"]["format"], c_meta["features"]["format"]) == ("parquet", "csv")
    for meta in (p_meta, c_meta):
        del meta["features"]["format"]
    assert p_meta == c_meta
    # and a parquet model scores the csv records as the csv model does
    p_pred = ftrl("predict", "-m", tmp_path / "p.parquet", csv_path, "--format", "csv")
    c_pred = ftrl("predict", "-m", tmp_path / "c.parquet", csv_path)
    assert p_pred.code == 0 and p_pred.out == c_pred.out


@pytest.mark.parametrize("mode", ["strings", "all"])
def test_each_type_hashes_as_its_csv_text(tmp_path: Path, mode: str) -> None:
    t = pa.table({
        "label": pa.array([1, 0]),
        "i": pa.array([42, -7], pa.int16()),
        "u": pa.array([2**64 - 1, 0], pa.uint64()),
        "b": pa.array([True, False]),
        "d": pa.array([datetime.date(2024, 1, 2), datetime.date(1999, 12, 31)]),
        "ts": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5, 123000)] * 2, pa.timestamp("ms")),
        "f": pa.array([0.1, 1e20]),
        "dic": pa.array(["x", "y"]).dictionary_encode(),
        "dic_int": pa.array([5, 6]).dictionary_encode(),
        "s": pa.array(["a b", "é"], pa.large_string()),
    })
    texts = [["42", "18446744073709551615", "true", "2024-01-02", "2024-01-02 03:04:05.123",
              "0.1", "x", "5", "a b"],
             ["-7", "0", "false", "1999-12-31", "2024-01-02 03:04:05.123", "1e+20", "y", "6",
              "é"]]
    cols = ["i", "u", "b", "d", "ts", "f", "dic", "dic_int", "s"]
    spec = FeatureSpec("parquet", hash_bits=BITS, hash_mode=mode)
    got = features(write(t, tmp_path / "t.parquet"), spec)
    want = [[(feature_index(c, v, BITS, mode), 1.0) for c, v in zip(cols, row)]
            for row in texts]
    assert got == want


def test_nulls_and_empty_text_are_missing(tmp_path: Path) -> None:
    t = pa.table({"label": pa.array([1, None, 0]), "s": pa.array(["a", None, ""]),
                  "n": pa.array([None, 2.5, 0.0]), "i": pa.array([None, None, 3])})
    spec = FeatureSpec("parquet", hash_bits=BITS, numeric_columns=("n",))
    path = write(t, tmp_path / "t.parquet")
    assert features(path, spec) == [
        [(feature_index("s", "a", BITS), 1.0)],
        [(numeric_column_index("n", BITS), 2.5)],
        [(feature_index("i", "3", BITS), 1.0)],
    ]
    labels = np.concatenate([b.labels for b in read_batches([str(path)], spec)])
    assert labels[0] == 1 and np.isnan(labels[1]) and labels[2] == 0


def test_a_list_of_strings_is_a_bag_of_categories(tmp_path: Path) -> None:
    t = pa.table({"label": [1, 0, 1, 0],
                  "tags": pa.array([["a", "b"], None, [], ["b", None, "", "a"]]),
                  "ids": pa.array([[1], [2, 3], None, []], pa.large_list(pa.int64()))})
    spec = FeatureSpec("parquet", hash_bits=BITS, interactions=("tags:tags",))
    got = features(write(t, tmp_path / "t.parquet"), spec)
    a, b = feature_index("tags", "a", BITS), feature_index("tags", "b", BITS)
    one, two, three = (feature_index("ids", v, BITS) for v in "123")
    assert [sorted(r) for r in got] == [
        sorted([(a, 1.0), (b, 1.0), (one, 1.0)]
               + [(x, 1.0) for x in cross_indices("tags", ["a", "b"])]),
        sorted([(two, 1.0), (three, 1.0)]),
        [],
        sorted([(b, 1.0), (a, 1.0)] + [(x, 1.0) for x in cross_indices("tags", ["b", "a"])]),
    ]


def cross_indices(col: str, values: list[str]) -> list[int]:
    """A column crossed with itself: pairs i <= j in record order (see README)."""
    from ftrl_cli.hashing import hash_name

    seed = hash_name(col, 0, "strings")
    h = [hash_name(v, seed, "strings") for v in values]
    return [((h[i] * 16777619) ^ h[j]) % 2**32 & (2**BITS - 1)
            for i in range(len(h)) for j in range(i, len(h))]


@pytest.mark.parametrize("labels, want", [
    (pa.array([True, False]), [1.0, 0.0]),
    (pa.array([1, -1], pa.int8()), [1.0, 0.0]),
    (pa.array([1.0, 0.0], pa.float32()), [1.0, 0.0]),
    (pa.array([" TRUE", "false "]), [1.0, 0.0]),
    (pa.array(["1", "-1"]).dictionary_encode(), [1.0, 0.0]),
])
def test_labels_as_csv_reads_them(tmp_path: Path, labels, want) -> None:
    path = write(pa.table({"label": labels, "x": ["a", "b"]}), tmp_path / "t.parquet")
    got = [b.labels.tolist() for b in read_batches([str(path)], FeatureSpec("parquet"))]
    assert got == [want]


def test_numeric_labels_for_squared_loss(tmp_path: Path) -> None:
    table = pa.table({"y": pa.array([2.5, -3.0, 1e-3]), "x": ["a", "b", "a"]})
    pq_path = write(table, tmp_path / "r.parquet")
    csv_path = as_csv(table, tmp_path / "r.csv")
    args = ["--loss", "squared", "--label-column", "y", "--learning-rate", "0.5", "--quiet"]
    assert ftrl("train", pq_path, "-o", tmp_path / "p.parquet", *args).code == 0
    assert ftrl("train", csv_path, "-o", tmp_path / "c.parquet", *args).code == 0
    assert model_columns(tmp_path / "p.parquet")[0].equals(
        model_columns(tmp_path / "c.parquet")[0])


def test_a_hive_partitioned_folder_is_one_input(tmp_path: Path) -> None:
    table = mixed_table(600).select(["label", "site", "app", "price"])
    table = table.append_column("day", pa.array([f"2024-01-0{1 + i % 3}" for i in range(600)]))
    folder = tmp_path / "logs"
    pq.write_to_dataset(table, folder, partition_cols=["day"])
    # the same records, in the folder's order: partition by partition
    ordered = pa.concat_tables(table.filter(pa.compute.equal(table["day"], d))
                               for d in ["2024-01-01", "2024-01-02", "2024-01-03"])
    single = as_csv(ordered.select(["label", "site", "app", "price", "day"]),
                    tmp_path / "all.csv")
    args = ["--numeric-columns", "price", "--interactions", "day:site", "--quiet",
            "--learning-rate", "0.1"]
    assert detect_format(str(folder)) == "parquet"
    r = ftrl("train", folder, "-o", tmp_path / "f.parquet", *args)
    assert r.code == 0, r.err
    assert ftrl("train", single, "-o", tmp_path / "c.parquet", *args).code == 0
    assert model_columns(tmp_path / "f.parquet")[0].equals(
        model_columns(tmp_path / "c.parquet")[0])
    # folder errors name the file and its row
    bad = table.slice(0, 5).set_column(0, "label", pa.array([1, 0, 1, 7, 0]))
    pq.write_to_dataset(bad, tmp_path / "bad", partition_cols=["day"])
    r = ftrl("train", tmp_path / "bad", "-o", tmp_path / "b.parquet", "--quiet")
    assert r.code == 2
    assert "day=2024-01-01" in r.err and ": row 2: column 'label': bad label '7'" in r.err


def test_ignored_columns_are_not_read(tmp_path: Path) -> None:
    t = pa.table({"label": [1, 0], "x": ["a", "b"],
                  "blob": pa.array([{"k": 1}, {"k": 2}])})  # a struct has no csv text
    path = write(t, tmp_path / "t.parquet")
    r = ftrl("train", path, "-o", tmp_path / "m.parquet", "--quiet")
    assert r.code == 2 and r.err.count("\n") == 1
    assert r.err == (f"ftrl: error: {path}: column 'blob' cannot be read as categorical: "
                     "struct<k: int64> has no csv text (--ignore-columns skips it)\n")
    r = ftrl("train", path, "-o", tmp_path / "m.parquet", "--quiet", "--ignore-columns", "blob")
    assert r.code == 0, r.err
    spec = resolve_spec([str(path)], ignore_columns="blob")
    assert parquet_plan(open_dataset(str(path)), spec, str(path)).read == ("label", "x")


def test_bad_records_name_the_file_and_row(tmp_path: Path) -> None:
    labels = np.ones(1000, np.int64)
    labels[733] = 2
    path = write(pa.table({"label": labels, "x": ["a"] * 1000}), tmp_path / "t.parquet",
                 row_group_size=100)
    r = ftrl("train", path, "-o", tmp_path / "m.parquet", "--quiet")
    assert (r.code, r.err) == (2, f"ftrl: error: {path}: row 734: column 'label': bad label "
                                  "'2' (expected 0/1, -1/1 or true/false)\n")
    nan = write(pa.table({"label": [1, 0, 1], "v": [1.0, float("nan"), 2.0]}),
                tmp_path / "n.parquet")
    r = ftrl("train", nan, "-o", tmp_path / "m.parquet", "--quiet", "--numeric-columns", "v")
    assert (r.code, r.err) == (2, f"ftrl: error: {nan}: row 2: column 'v': bad number 'nan'\n")
    no_label = write(pa.table({"label": [1, None], "x": ["a", "b"]}), tmp_path / "l.parquet")
    r = ftrl("train", no_label, "-o", tmp_path / "m.parquet", "--quiet")
    assert r.code == 2 and r.err.startswith(f"ftrl: error: {no_label}: row 2: record has no")


def test_missing_label_column_is_named_as_for_csv(tmp_path: Path) -> None:
    path = write(pa.table({"id": [1], "click": [1]}), tmp_path / "t.parquet")
    r = ftrl("train", path, "-o", tmp_path / "m.parquet")
    assert (r.code, r.err) == (2, f"ftrl: error: {path}: no column 'label' in the columns "
                                  "(id, click); use --label-column\n")
    r = ftrl("train", path, "-o", tmp_path / "m.parquet", "--numeric-columns", "id,nope",
             "--label-column", "click")
    assert r.code == 2 and "numeric column(s) nope not in the columns" in r.err


def test_input_problems_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    r = ftrl("train", tmp_path / "junk.parquet", "-o", tmp_path / "m.parquet")
    assert r.code == 2 and r.err.count("\n") == 1 and "cannot read as Parquet" in r.err
    (tmp_path / "empty").mkdir()
    r = ftrl("train", tmp_path / "empty", "-o", tmp_path / "m.parquet")
    assert (r.code, r.err.count("\n")) == (2, 1) and "is a folder" in r.err
    r = ftrl("train", "-", "--format", "parquet", "-o", tmp_path / "m.parquet", stdin=b"")
    assert r.code == 2 and "not from stdin" in r.err


def test_detected_by_extension_or_magic_bytes(tmp_path: Path) -> None:
    t = pa.table({"label": [1], "x": ["a"]})
    assert detect_format(str(write(t, tmp_path / "a.pq"))) == "parquet"
    assert detect_format(str(write(t, tmp_path / "noext"))) == "parquet"


def test_predict_and_evaluate_parquet_input(tmp_path: Path) -> None:
    table = mixed_table(1500).append_column("id", pa.array(np.arange(1500) * 3))
    path = write(table, tmp_path / "day.parquet", row_group_size=256)
    csv_path = as_csv(table, tmp_path / "day.csv")
    model = tmp_path / "m.parquet"
    args = ["--quiet", "--ignore-columns", "id", "--numeric-columns", "price",
            "--learning-rate", "0.1"]
    assert ftrl("train", path, "-o", model, *args).code == 0
    text = ftrl("predict", "-m", model, path)
    assert text.code == 0 and len(text.out.splitlines()) == 1500
    assert text.out == ftrl("predict", "-m", model, csv_path, "--format", "csv").out
    ev = ftrl("evaluate", "-m", model, path, "--json")
    assert ev.code == 0
    assert ev.out == ftrl("evaluate", "-m", model, csv_path, "--format", "csv", "--json").out
    assert json.loads(ev.out)["count"] == 1500
    out = tmp_path / "scores.parquet"
    r = ftrl("predict", "-m", model, path, "-o", out, "--key-column", "id")
    assert r.code == 0, r.err
    scores = pq.read_table(out)
    assert scores.schema.names == ["id", "prediction"]
    assert scores["id"].type == pa.int64()
    assert scores["id"].to_pylist() == (np.arange(1500) * 3).tolist()
    want = [float(v) for v in text.out.split()]
    assert np.abs(np.array(scores["prediction"].to_pylist()) - want).max() < 1e-9
    r = ftrl("predict", "-m", model, path, "--key-column", "id")
    assert r.code == 2 and "--key-column needs -o FILE.parquet" in r.err
    r = ftrl("predict", "-m", model, path, "-o", out, "--key-column", "nope")
    assert r.code == 2 and "no key column 'nope'" in r.err


def test_vw_tags_become_a_tag_column(tmp_path: Path) -> None:
    vw = tmp_path / "a.vw"
    vw.write_text("1 'ad1 |u a\n0 |u b\n1 'ad3 |u a b\n")
    model = tmp_path / "m.parquet"
    assert ftrl("train", vw, "-o", model, "--quiet").code == 0
    out = tmp_path / "s.parquet"
    assert ftrl("predict", "-m", model, vw, "-o", out).code == 0
    got = pq.read_table(out)
    assert got["tag"].to_pylist() == ["ad1", None, "ad3"]
    text = ftrl("predict", "-m", model, vw).out.split("\n")
    assert [f"{p:.9f}" for p in got["prediction"].to_pylist()] == [
        line.split()[-1] for line in text if line]


def test_memory_stays_bounded_while_streaming(tmp_path: Path) -> None:
    n = 400_000
    rng = np.random.default_rng(1)
    table = pa.table({"label": rng.integers(0, 2, n),
                      "site": pa.array([f"site-{v:08d}" for v in rng.integers(0, 10**6, n)]),
                      "n": rng.integers(0, 100_000, n)})
    whole = table.nbytes
    path = write(table, tmp_path / "big.parquet", row_group_size=5000)
    del table
    base = pa.total_allocated_bytes()
    peak, rows = 0, 0
    for batch in parquet_batches(str(path), FeatureSpec("parquet", hash_bits=BITS), 4096):
        rows += len(batch)
        peak = max(peak, pa.total_allocated_bytes() - base)
    assert rows == n
    # a few row groups' worth (read ahead or pre-buffered, the whole file was held)
    assert peak < whole / 3, (peak, whole)


def test_read_batches_row_numbers_and_sources(tmp_path: Path) -> None:
    path = write(pa.table({"label": [1] * 10, "x": ["a"] * 10}), tmp_path / "t.parquet",
                 row_group_size=3)
    batches = list(parquet_batches(str(path), FeatureSpec("parquet"), 4))
    assert [b.lines.tolist() for b in batches][0][0] == 1
    assert np.concatenate([b.lines for b in batches]).tolist() == list(range(1, 11))
    err = InputError(batches[0].source, 5, "x")
    assert str(err) == f"{path}: row 5: x"
    with pytest.raises(FtrlError, match="a folder is read as a Parquet dataset only"):
        resolve_spec([str(tmp_path)], format="csv")


def test_warm_start_continues_across_csv_and_parquet(tmp_path: Path) -> None:
    table = mixed_table(800).select(["label", "site", "app", "day", "price"])
    first, second = table.slice(0, 500), table.slice(500)
    args = ["--quiet", "--learning-rate", "0.1", "--numeric-columns", "price"]
    assert ftrl("train", as_csv(first, tmp_path / "a.csv"), "-o", tmp_path / "a.parquet",
                *args).code == 0
    r = ftrl("train", write(second, tmp_path / "b.parquet"), "--init-model",
             tmp_path / "a.parquet", "-o", tmp_path / "ab.parquet", "--quiet")
    assert r.code == 0, r.err
    assert ftrl("train", as_csv(table, tmp_path / "all.csv"), "-o", tmp_path / "all.parquet",
                *args).code == 0
    assert model_columns(tmp_path / "ab.parquet")[0].equals(
        model_columns(tmp_path / "all.parquet")[0])


def test_a_resumable_run_on_parquet_is_refused_in_one_line(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from clirun import ftrl

    data = tmp_path / "d.parquet"
    pq.write_table(pa.table({"label": [0, 1, 0], "a": ["x", "y", "z"]}), data)
    out = tmp_path / "m.parquet"
    r = ftrl("train", data, "-o", out, "--checkpoint-every", "2", "--quiet")
    assert r.code == 2 and "parquet input cannot be resumed" in r.err
    assert len(r.err.strip().splitlines()) == 1 and not out.exists()
