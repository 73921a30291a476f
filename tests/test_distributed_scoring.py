"""predict and evaluate on a Dask LocalCluster of two worker processes: the bytes and the
metrics of the single-process commands, pieces of files and byte ranges, the model loaded
once per worker, errors named by file and line, a worker lost mid-run."""

from __future__ import annotations

import json
import os

import pytest
from clirun import SAMPLES, ftrl
from dask_helpers import DieOnce, local_client

pytest.importorskip("distributed")

from ftrl_cli.distributed import worker_cache  # noqa: E402
from ftrl_cli.distributed.scoring import evaluate, predict  # noqa: E402

TRAIN = os.path.join(SAMPLES, "train.vw")
TEST = os.path.join(SAMPLES, "test.vw")


@pytest.fixture(scope="module")
def client():
    with local_client(2) as c:
        yield c


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.parquet"
    r = ftrl("train", TRAIN, "-o", path, "--learning-rate", "0.1", "--l1", "1", "--quiet")
    assert r.code == 0, r.err
    return str(path)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Several files: a copy of the test set, gzipped, and the training set."""
    import gzip

    folder = tmp_path_factory.mktemp("inputs")
    gz = folder / "test.vw.gz"
    gz.write_bytes(gzip.compress(open(TEST, "rb").read()))
    return [TEST, str(gz), TRAIN]


def single(model: str, inputs: list[str], tmp_path) -> bytes:
    out = tmp_path / "single.txt"
    r = ftrl("predict", "-m", model, *inputs, "-o", out)
    assert r.code == 0, r.err
    return out.read_bytes()


def test_predict_file_has_the_single_process_bytes(client, model, inputs, tmp_path):
    out = tmp_path / "dask.txt"
    # small ranges: the plain files are cut into many pieces each
    pieces = predict(client, inputs, model, str(out), piece_size=5000)
    assert pieces > len(inputs) + 10
    expected = single(model, inputs, tmp_path)
    assert out.read_bytes() == expected
    assert len(expected.splitlines()) == 2500


def test_predict_folder_parts_sort_into_input_order(client, model, inputs, tmp_path):
    folder = tmp_path / "parts"
    n = predict(client, inputs, model, str(folder) + os.sep, piece_size=7000)
    names = sorted(os.listdir(folder))
    assert len(names) == n and names[0] == "part-00000.txt"
    joined = b"".join((folder / name).read_bytes() for name in names)
    assert joined == single(model, inputs, tmp_path)


def test_each_worker_loads_the_model_once(client, model, tmp_path):
    predict(client, [TEST], model, str(tmp_path / "a.txt"), piece_size=3000)
    predict(client, [TEST], model, str(tmp_path / "b.txt"), piece_size=3000)
    loads = client.run(worker_cache.load_count)
    assert all(n <= 1 for n in loads.values()), loads


def test_evaluate_merges_exactly(client, model, inputs, tmp_path):
    report = evaluate(client, inputs, model, piece_size=4000)
    r = ftrl("evaluate", "-m", model, *inputs, "--json")
    assert r.code == 0, r.err
    expected = json.loads(r.out)
    assert report["count"] == expected["count"] == 2500
    for key in expected:
        assert report[key] == pytest.approx(expected[key], abs=1e-12, rel=0), key


def test_evaluate_a_squared_loss_model_merges_exactly(client, tmp_path):
    model = tmp_path / "reg.parquet"
    r = ftrl("train", TRAIN, "-o", model, "--loss", "squared", "--learning-rate", "0.05",
             "--quiet")
    assert r.code == 0, r.err
    report = evaluate(client, [TRAIN, TEST], str(model), piece_size=6000)
    r = ftrl("evaluate", "-m", model, TRAIN, TEST, "--json")
    expected = json.loads(r.out)
    assert set(report) == set(expected) and report["count"] == 2000
    for key in expected:
        assert report[key] == pytest.approx(expected[key], abs=1e-12, rel=0), key


def test_a_bad_line_in_a_byte_range_is_named_by_its_line_in_the_file(client, model, tmp_path):
    bad = tmp_path / "bad.vw"
    lines = open(TEST, "rb").read().splitlines(keepends=True)
    lines[400] = b"x |c C1_ab\n"
    bad.write_bytes(b"".join(lines))
    with pytest.raises(Exception) as err:
        predict(client, [str(bad)], model, str(tmp_path / "p.txt"), piece_size=3000)
    r = ftrl("predict", "-m", model, bad, "-o", tmp_path / "q.txt")
    assert r.code == 2
    assert str(err.value) == r.err.removeprefix("ftrl: error: ").strip()
    assert f"{bad}:401:" in str(err.value)
    assert not (tmp_path / "p.txt").exists()


def test_cli_refuses_what_does_not_apply(model, tmp_path):
    r = ftrl("predict", "-m", model, TEST, "--dask", "local:2", "--key-column", "id",
             "-o", tmp_path / "p.parquet")
    assert r.code == 2 and r.err.count("\n") == 1 and "--key-column" in r.err
    r = ftrl("evaluate", "-m", model, TEST, "--dask", "local:2", "--plot", tmp_path / "x.png")
    assert r.code == 2 and "--plot is not available with --dask" in r.err
    r = ftrl("predict", "-m", model, TEST, "--dask", "local:0")
    assert r.code == 2 and "N >= 1" in r.err


def test_a_worker_lost_while_scoring_still_gives_the_whole_output(client, model, inputs,
                                                                  tmp_path):
    marker = tmp_path / "die"
    marker.write_text("once")
    client.register_plugin(DieOnce(str(marker), "ftrl-score"))
    try:
        out = tmp_path / "dask.txt"
        predict(client, inputs, model, str(out), piece_size=5000)
    finally:
        client.unregister_worker_plugin(DieOnce.name)
    assert not marker.exists()  # a worker did die
    assert out.read_bytes() == single(model, inputs, tmp_path)
    client.wait_for_workers(2, timeout=60)


def test_stdin_and_unmatched_patterns_are_refused_before_a_cluster_starts(model, tmp_path):
    r = ftrl("predict", "-m", model, "--dask", "local:2", stdin=b"1 |c C1_ab\n")
    assert r.code == 2 and "--dask reads files" in r.err
    r = ftrl("evaluate", "-m", model, str(tmp_path / "*.vw"), "--dask", "local:2")
    assert r.code == 2 and r.err == f"ftrl: error: {tmp_path / '*.vw'}: no file matches\n"


def test_criteo_pieces_smaller_than_what_the_reader_peeks(client, tmp_path):
    model = tmp_path / "criteo.parquet"
    train = os.path.join(SAMPLES, "train.criteo")
    assert ftrl("train", train, "-o", model, "--learning-rate", "0.1", "--quiet").code == 0
    out = tmp_path / "dask.txt"
    assert predict(client, [train], str(model), str(out), piece_size=2000) > 20
    assert out.read_bytes() == single(str(model), [train], tmp_path)
