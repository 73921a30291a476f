"""SIGTERM stops a run even where a library swallows its exception; pandas stays out."""

import os
import signal
import subprocess
import sys

import pytest
from clirun import REPO, sample

from ftrl_cli import termination
from ftrl_cli.errors import Terminated
from ftrl_cli.readers import FeatureSpec, read_batches


@pytest.fixture
def sigterm_handler():
    termination.reset()
    old = signal.signal(signal.SIGTERM, termination.handle)
    yield
    signal.signal(signal.SIGTERM, old)
    termination.reset()


def _swallowed_sigterm():
    try:
        signal.raise_signal(signal.SIGTERM)
    except BaseException:  # what a library's bare ``except:`` around an import does
        pass


@pytest.mark.parametrize("name,fmt", [("train.vw", "vw"), ("train.csv", "csv")])
def test_a_swallowed_sigterm_stops_the_next_batch(sigterm_handler, name, fmt):
    batches = read_batches([sample(name)], FeatureSpec(format=fmt), batch_rows=100)
    first = next(batches)
    assert len(first) == 100
    _swallowed_sigterm()
    with pytest.raises(Terminated):
        next(batches)


def test_a_swallowed_sigterm_stops_before_the_end_of_the_input(sigterm_handler):
    # after the last batch: the command must not go on to write its outputs
    batches = read_batches([sample("train.vw")], FeatureSpec(format="vw"), batch_rows=10**6)
    assert len(next(batches)) > 0
    _swallowed_sigterm()
    with pytest.raises(Terminated):
        next(batches)


def test_without_sigterm_reading_is_unchanged(sigterm_handler):
    rows = sum(len(b) for b in read_batches([sample("train.vw")], FeatureSpec(format="vw"),
                                           batch_rows=100))
    with open(sample("train.vw"), "rb") as fh:
        assert rows == sum(1 for line in fh if line.strip())


def test_commands_never_import_pandas(tmp_path):
    # A pandas that records being imported, found first on the path.
    fake = tmp_path / "site" / "pandas"
    fake.mkdir(parents=True)
    marker = tmp_path / "pandas-imported"
    (fake / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    env = dict(os.environ, PYTHONPATH=f"{tmp_path / 'site'}{os.pathsep}{REPO}")
    model = tmp_path / "m.parquet"

    def ftrl(*args):
        r = subprocess.run([sys.executable, "-m", "ftrl_cli", *map(str, args)], cwd=REPO,
                           env=env, capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
        return r.stdout

    ftrl("train", sample("train.csv"), "-o", model, "--quiet")
    out = ftrl("predict", "-m", model, sample("test.csv"))
    assert len(out.splitlines()) > 0
    ftrl("evaluate", "-m", model, sample("test.csv"))
    assert not marker.exists()
    # the same interpreter does import it outside the command line
    subprocess.run([sys.executable, "-c", "import pandas"], env=env, check=True)
    assert marker.exists()
