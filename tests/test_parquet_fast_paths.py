"""The fast ways through Parquet input give the csv reader's features: dictionary-encoded
columns (hashed once per dictionary), files written with and without dictionaries, row
groups larger than a decoded chunk, Batches cut from a chunk, errors inside a chunk, and a
file read without importing ``pyarrow.dataset`` or ``pyarrow.compute``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from clirun import REPO, ftrl

from ftrl_cli.errors import InputError
from ftrl_cli.readers import FeatureSpec, read_batches
from ftrl_cli.readers.arrow_columns import DictionaryMemo, category_elements
from ftrl_cli.readers.parquet import DECODE_ROWS, parquet_batches

BITS = 18


def rows(path: Path, spec: FeatureSpec, batch_rows: int = 1 << 20) -> tuple[list, list]:
    """Each record's (index, value) pairs and its label, in order."""
    feats, labels = [], []
    for b in read_batches([str(path)], spec, batch_rows=batch_rows):
        labels += b.labels.tolist()
        for r in range(len(b)):
            s, e = b.indptr[r], b.indptr[r + 1]
            feats.append(list(zip(b.indices[s:e].tolist(), b.data[s:e].tolist())))
    return feats, labels


def click_table(n: int, seed: int = 3) -> pa.Table:
    """Criteo-like columns: counts with nulls, strings from small and large vocabularies
    with nulls and empty strings, a numeric column."""
    rng = np.random.default_rng(seed)
    null = rng.random(n) < 0.3
    big = rng.integers(0, 5000, n)
    small = rng.integers(0, 7, n)
    return pa.table({
        "label": rng.integers(0, 2, n),
        "count": pa.array(rng.integers(0, 300, n), mask=null),
        "site": pa.array([f"s{v:05x}" for v in big], mask=rng.random(n) < 0.1),
        "dev": pa.array(["" if v == 0 else f"d{v}" for v in small]),
        "price": pa.array(rng.random(n) * 2, mask=rng.random(n) < 0.2),
        "tags": pa.array([f"t{v % 3}" for v in small]),
    })


@pytest.mark.parametrize("mode", ["strings", "all"])
@pytest.mark.parametrize("layout", [
    {"row_group_size": 700},  # dictionary pages (pyarrow's default), many row groups
    {"row_group_size": 700, "use_dictionary": False},  # plain strings
    {"row_group_size": 5000, "dictionary_pagesize_limit": 256},  # dictionaries that spill
    {"row_group_size": 1000, "use_dictionary": ["site"], "compression": "zstd"},
])
def test_every_file_layout_gives_the_csv_features(tmp_path: Path, mode: str,
                                                  layout: dict) -> None:
    table = click_table(5000)
    pq.write_table(table, tmp_path / "t.parquet", **layout)
    pacsv.write_csv(table, tmp_path / "t.csv")
    kw = {"hash_bits": BITS, "hash_mode": mode, "numeric_columns": ("price",),
          "interactions": ("site:dev",)}
    got = rows(tmp_path / "t.parquet", FeatureSpec("parquet", **kw), batch_rows=999)
    want = rows(tmp_path / "t.csv", FeatureSpec("csv", **kw))
    assert got == want
    assert sum(map(len, got[0])) > 4 * 5000  # the columns made features


def test_a_row_group_larger_than_a_decoded_chunk(tmp_path: Path) -> None:
    n = DECODE_ROWS + 3000
    table = click_table(n).select(["label", "site", "dev"])
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=n)
    pacsv.write_csv(table, tmp_path / "t.csv")
    spec = FeatureSpec("parquet", hash_bits=BITS, hash_mode="strings")
    batches = list(parquet_batches(str(tmp_path / "t.parquet"), spec, 10000))
    assert [len(b) for b in batches] == [10000] * 6 + [DECODE_ROWS - 60000, 3000]
    assert np.concatenate([b.lines for b in batches]).tolist() == list(range(1, n + 1))
    want = rows(tmp_path / "t.csv", FeatureSpec("csv", hash_bits=BITS, hash_mode="strings"))
    assert rows(tmp_path / "t.parquet", spec, batch_rows=10000) == want


def test_records_before_a_bad_one_come_first(tmp_path: Path) -> None:
    labels = np.ones(30000, np.int64)
    labels[20000] = 7
    pq.write_table(pa.table({"label": labels, "x": ["a"] * 30000}), tmp_path / "t.parquet")
    seen = []
    with pytest.raises(InputError) as err:
        for b in parquet_batches(str(tmp_path / "t.parquet"), FeatureSpec("parquet"), 4096):
            seen.append(len(b))
    assert err.value.line == 20001
    assert sum(seen) == 20000 and max(seen) == 4096


def test_a_dictionary_is_hashed_once_while_it_lasts() -> None:
    memo = DictionaryMemo()
    words = pa.array(["a", "bb", "", "c"])
    first, _ = memo.hashes(words, 11, True)
    again, values = memo.hashes(pa.array(["a", "bb", "", "c"]), 11, True)  # a copy
    assert memo.hashed == 4 and again.tolist() == first.tolist()
    assert values.tolist() == [1.0, 1.0, 0.0, 1.0]  # the empty string is missing
    grown, _ = memo.hashes(pa.array(["a", "bb", "", "c", "d"]), 11, True)
    assert memo.hashed == 5 and grown[:4].tolist() == first.tolist()
    other, _ = memo.hashes(pa.array(["bb", "a"]), 11, True)  # another row group's
    assert memo.hashed == 7
    assert other.tolist() == category_elements(pa.array(["bb", "a"]), 11, True)[0].tolist()
    with_null, v = memo.hashes(pa.array(["a", None]), 11, True)
    assert v.tolist() == [1.0, 0.0] and with_null[0] == first[0]


def test_a_key_column_that_is_also_a_feature_keeps_its_type(tmp_path: Path) -> None:
    table = click_table(3000)
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=1000)
    model, out = tmp_path / "m.parquet", tmp_path / "scores.parquet"
    assert ftrl("train", path, "-o", model, "--quiet", "--numeric-columns", "price").code == 0
    r = ftrl("predict", "-m", model, path, "-o", out, "--key-column", "site")
    assert r.code == 0, r.err
    scores = pq.read_table(out)
    assert scores["site"].type == pa.string()
    assert scores["site"].to_pylist() == table["site"].to_pylist()


def test_a_file_is_read_without_the_dataset_and_compute_modules(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(click_table(2000), path, row_group_size=500)
    code = (
        "import sys\n"
        "from ftrl_cli.readers import FeatureSpec, read_batches\n"
        "spec = FeatureSpec('parquet', numeric_columns=('price',))\n"
        f"n = sum(len(b) for b in read_batches([{str(path)!r}], spec))\n"
        "print(n, 'pyarrow.dataset' in sys.modules, 'pyarrow.compute' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2000", "False", "False"]


def test_a_folder_reads_each_file_alone_with_its_partition_values(tmp_path: Path) -> None:
    import pyarrow.dataset as pds

    table = click_table(3000)
    rng = np.random.default_rng(5)
    days = [None, "2024-01-01", "2024-01-02"]
    table = table.append_column("day", pa.array([days[v] for v in rng.integers(0, 3, 3000)]))
    table = table.append_column("hour", pa.array(rng.integers(8, 11, 3000)))
    folder = tmp_path / "logs"
    pq.write_to_dataset(table, folder, partition_cols=["day", "hour"],
                        row_group_size=400)
    # one more file whose columns differ from the dataset's: Arrow's scanner fills them
    odd = folder / "day=2024-01-09" / "hour=12"
    odd.mkdir(parents=True)
    pq.write_table(table.slice(0, 50).select(["label", "site", "dev", "price"]),
                   odd / "part-0.parquet")
    dataset = pds.dataset(folder, format="parquet", partitioning="hive")
    # the reference: Arrow's own scan of every file, in the order of their paths
    files = sorted(dataset.get_fragments(), key=lambda f: f.path)
    whole = pa.concat_tables(f.to_table(schema=dataset.schema) for f in files)
    assert whole["day"].null_count > 0 and whole["count"].null_count > 0
    pacsv.write_csv(whole, tmp_path / "all.csv")
    kw = {"hash_bits": BITS, "hash_mode": "strings", "numeric_columns": ("price",),
          "interactions": ("day:site", "hour:dev")}
    got = rows(folder, FeatureSpec("parquet", **kw), batch_rows=500)
    assert got == rows(tmp_path / "all.csv", FeatureSpec("csv", **kw))
    # a partition column as the key of scored rows keeps the dataset's type
    model, out = tmp_path / "m.parquet", tmp_path / "scores.parquet"
    assert ftrl("train", folder, "-o", model, "--quiet", "--numeric-columns", "price").code == 0
    r = ftrl("predict", "-m", model, folder, "-o", out, "--key-column", "hour")
    assert r.code == 0, r.err
    scores = pq.read_table(out)
    assert scores["hour"].type == dataset.schema.field("hour").type
    assert scores["hour"].to_pylist() == whole["hour"].to_pylist()
