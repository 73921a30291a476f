"""``ftrl inspect MODEL``: the summary against the checkpoint's own arrays, ``--top K``,
``--feature NAME`` for every format's spelling, ``--json``, and the errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
from clirun import ftrl, sample

from ftrl_cli.hashing import feature_index, numeric_column_index


def _train(tmp_path, *args, out="m.parquet"):
    path = tmp_path / out
    r = ftrl("train", *args, "-o", path, "--quiet")
    assert r.code == 0, r.err
    return path


def _inspect(*args) -> dict:
    r = ftrl("inspect", *map(str, args), "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_the_summary_is_what_the_checkpoint_holds(tmp_path):
    model = _train(tmp_path, sample("train.csv"), "-b", 14, "--learning-rate", "0.1",
                   "--l1", "2", "--numeric-columns", "I1", "--interactions", "C1:C2",
                   "--feature-names")
    s = _inspect(model)
    t = pq.read_table(model)
    meta = json.loads(t.schema.metadata[b"ftrl"])
    kernel = np.array(t.column("variable").to_pylist()) == "kernel"
    w = t.column("weight").to_numpy()[kernel]
    nz = np.abs(w[w != 0])
    assert s["file_bytes"] == os.path.getsize(model)
    assert s["format"] == "csv" and s["coordinates"] == 2**14
    assert s["hashing"]["hash_bits"] == 14 and s["hashing"]["hash_mode"] == "strings"
    assert s["features"]["numeric_columns"] == ["I1"]
    assert s["features"]["interactions"] == ["C1:C2"]
    assert s["loss"]["name"] == "logistic"
    assert s["optimizer"] == meta["optimizer"]
    assert s["optimizer"]["config"]["l1_regularization_strength"] == 2.0
    assert s["counters"] == {"iterations": 1500, "examples": 1500}
    assert s["touched"] == kernel.sum()
    assert s["nonzero_weights"] == np.count_nonzero(w)
    assert s["zero_weights"] == kernel.sum() - np.count_nonzero(w) > 0  # L1 at work
    assert s["l1_zero_share"] == pytest.approx(np.mean(w == 0))
    assert s["bias"] == t.column("weight").to_numpy()[~kernel][0]
    q = s["abs_weight_quantiles"]
    assert q["max"] == nz.max()
    assert q["p50"] == pytest.approx(np.percentile(nz, 50))
    assert q["p99.9"] == pytest.approx(np.percentile(nz, 99.9))
    names = s["feature_names"]
    f = t.column("feature").to_pylist()
    assert names["recorded"] == sum(v is not None for v in f)
    assert names["colliding_coordinates"] == sum(
        n > 1 for n in t.column("feature_collisions").to_pylist())
    assert not names["full"]


def test_the_text_summary_says_the_same(tmp_path):
    model = _train(tmp_path, sample("train.vw"), "-b", 16, "--learning-rate", "0.1",
                   "--l1", "1", "-q", "ic", "--feature-names")
    s = _inspect(model)
    r = ftrl("inspect", model)
    assert r.code == 0, r.err
    lines = dict(line.split(None, 1) for line in r.out.splitlines() if line and
                 not line.startswith(("feature ", " ")) and "  " in line)
    assert lines["format"].startswith("vw, murmurhash3_x86_32 (strings), 2^16 = 65,536")
    assert lines["touched"].startswith(f"{s['touched']:,} coordinates")
    assert lines["weights"].startswith(f"{s['nonzero_weights']:,} non-zero, "
                                       f"{s['zero_weights']:,} at zero")
    assert lines["features"] == "crosses -q ic"
    assert f"max {s['abs_weight_quantiles']['max']:.4g}" in lines["|weight|"]
    assert f"feature names  {s['feature_names']['recorded']:,} coordinates named" in r.out


def test_top_k_are_the_largest_weights_with_their_names(tmp_path):
    model = _train(tmp_path, sample("train.criteo"), "-b", 12, "--learning-rate", "0.1",
                   "--feature-names")
    top = _inspect(model, "--top", 15)["top"]
    t = pq.read_table(model).to_pydict()
    rows = [(abs(w), i, w, f, n) for v, i, w, f, n in zip(
        t["variable"], t["index"], t["weight"], t["feature"], t["feature_collisions"])
        if v == "kernel"]
    want = sorted(rows, key=lambda r: (-r[0], r[1]))[:15]
    assert [(r["index"], r["weight"], r["feature"], r["collisions"]) for r in top] == \
        [(i, w, f, n) for _, i, w, f, n in want]
    assert all(a["weight"] ** 2 >= b["weight"] ** 2 for a, b in zip(top, top[1:]))
    assert all(r["feature"].split("=")[0] in {f"C{k}" for k in range(1, 27)} |
               {f"I{k}" for k in range(1, 14)} for r in top)
    text = ftrl("inspect", model, "--top", 3).out.splitlines()
    assert text[-4].split() == ["rank", "index", "weight", "collisions", "feature"]
    assert text[-3].split()[:2] == ["1", str(top[0]["index"])]
    assert text[-3].split()[-1] == top[0]["feature"]


def _signal_data(tmp_path):
    rng = np.random.default_rng(11)
    lines = ["label,site,ad,price"]
    for _ in range(600):
        y = int(rng.integers(2))
        site = "good" if y else "bad"
        lines.append(f"{y},{site},ad{rng.integers(30)},{rng.random() * 3:.3f}")
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    vw = [f"{line.split(',')[0]} |site {line.split(',')[1]} |ad {line.split(',')[2]} | x y=1"
          for line in lines[1:]]
    (tmp_path / "s.vw").write_text("\n".join(vw) + "\n")
    return tmp_path / "s.csv", tmp_path / "s.vw"


def test_feature_finds_the_coordinate_the_model_trained(tmp_path):
    csv_path, vw_path = _signal_data(tmp_path)
    model = _train(tmp_path, csv_path, "-b", 18, "--learning-rate", "0.2",
                   "--numeric-columns", "price", "--interactions", "site:ad",
                   "--feature-names")
    got = {r["name"]: r for r in _inspect(
        model, "--feature", "site=good", "--feature", "site=bad", "--feature", "price",
        "--feature", "site=good^ad=ad3", "--feature", "site=nowhere")["lookups"]}
    assert got["site=good"]["index"] == feature_index("site", "good", 18, "strings")
    assert got["site=good"]["weight"] > 0.5 and got["site=bad"]["weight"] < -0.5
    assert got["site=good"]["recorded"] == "site=good"
    assert got["site=good"]["collisions"] == 1
    assert got["price"]["index"] == numeric_column_index("price", 18, "strings")
    assert got["price"]["recorded"] == "price"
    h = (feature_index("site", "good", 32, "strings") * 16777619) & 0xFFFFFFFF
    cross = (h ^ feature_index("ad", "ad3", 32, "strings")) & (2**18 - 1)
    assert got["site=good^ad=ad3"]["index"] == cross
    assert got["site=good^ad=ad3"]["recorded"] == "site=good^ad=ad3"
    assert got["site=good^ad=ad3"]["weight"] > 0
    assert got["site=nowhere"]["touched"] is False
    assert got["site=nowhere"]["weight"] == 0.0

    vw_model = _train(tmp_path, vw_path, "-b", 18, "--learning-rate", "0.2",
                      "--feature-names", out="v.parquet")
    got = {r["name"]: r for r in _inspect(vw_model, "--feature", "site=good", "--feature",
                                          "x", "--feature", "=y=1")["lookups"]}
    assert got["site=good"]["weight"] > 0.5
    assert got["x"]["index"] == feature_index("", "x", 18, "strings")
    assert got["x"]["recorded"] == "x" and got["=y=1"]["recorded"] == "=y=1"
    text = ftrl("inspect", vw_model, "--feature", "site=good").out
    assert "feature site=good\n  index        " in text
    assert "recorded     site=good\n  collisions   1 distinct name(s) seen here" in text


def test_a_collision_shows_the_name_recorded_first(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("label,a\n" + "".join(f"{i % 2},v{i}\n" for i in range(40)))
    model = _train(tmp_path, p, "-b", 2, "--learning-rate", "0.1", "--feature-names")
    r = _inspect(model, "--feature", "a=v39")["lookups"][0]
    coords = [feature_index("a", f"v{i}", 2, "strings") for i in range(40)]
    first = next(i for i in range(40) if coords[i] == coords[39])
    assert r["recorded"] == f"a=v{first}" != "a=v39"
    assert r["collisions"] == coords.count(coords[39])
    text = ftrl("inspect", model, "--feature", "a=v39").out
    assert f"recorded     a=v{first}  (another feature, first)" in text


def test_libsvm_features_are_their_index(tmp_path):
    model = _train(tmp_path, sample("train.libsvm"), "-b", 10, "--feature-names")
    top = _inspect(model, "--top", 1)["top"][0]
    got = _inspect(model, "--feature", top["feature"])["lookups"][0]
    assert got["index"] == top["index"] == int(top["feature"]) % 1024
    assert got["weight"] == top["weight"]


def test_models_without_names_and_bad_requests(tmp_path):
    model = _train(tmp_path, sample("train.vw"), "-b", 16)
    s = _inspect(model, "--top", 2)
    assert s["feature_names"] is None
    assert [r["feature"] for r in s["top"]] == [None, None]
    assert "feature names  none recorded (ftrl train --feature-names)" in \
        ftrl("inspect", model).out
    csv_model = _train(tmp_path, sample("train.csv"), "-b", 16, out="c.parquet")
    r = ftrl("inspect", csv_model, "--feature", "C1")
    assert (r.code, r.err) == (2, "ftrl: error: feature 'C1': expected column=value (or a "
                                  "numeric column of the model)\n")
    r = ftrl("inspect", tmp_path / "none.parquet")
    assert (r.code, r.err) == (2, f"ftrl: error: {tmp_path / 'none.parquet'}: no such model "
                                  "file\n")
    (tmp_path / "x.parquet").write_text("not parquet")
    r = ftrl("inspect", tmp_path / "x.parquet")
    assert r.code == 2 and r.err.count("\n") == 1 and "not a readable Parquet model" in r.err
