"""Seeded data sets from ``ftrl_cli.datagen``, generated once and cached under bench/data/."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.settings import Settings

FORMATS = ("criteo", "vw", "libsvm")


@dataclass(frozen=True)
class DataSet:
    """Train and test files in every format, plus the generator's summaries."""

    folder: Path
    train_rows: int
    test_rows: int
    train_summary: dict
    test_summary: dict

    def train(self, fmt: str) -> Path:
        return self.folder / f"train.{fmt}"

    def test(self, fmt: str) -> Path:
        return self.folder / f"test.{fmt}"

    @property
    def truth_logloss(self) -> float:
        """Log loss of the true click probabilities on the test rows."""
        return float(self.test_summary["truth_logloss"])


@dataclass(frozen=True)
class ScalePair:
    """Two criteo training files of N/2 and 2N rows (same seed) for the memory-scaling check."""

    small: Path
    small_rows: int
    large: Path
    large_rows: int


def _generate(
    rows: int,
    seed: int,
    start: int,
    interactions: int,
    outputs: list[Path],
    truth: Path | None = None,
) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "ftrl_cli.datagen",
        "generate",
        "--rows",
        str(rows),
        "--seed",
        str(seed),
        "--start",
        str(start),
        "--interactions",
        str(interactions),
    ]
    for out in outputs:
        cmd += ["-o", str(out)]
    if truth is not None:
        cmd += ["--truth-out", str(truth)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: data generation failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout)


def _build(final: Path, make) -> None:
    """Run ``make(tmp_folder)`` and move the folder into place only once it is complete."""
    tmp = final.with_name(final.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    make(tmp)
    tmp.rename(final)


def ensure_dataset(s: Settings, log=print) -> DataSet:
    """The cached train/test set for ``s.rows`` and ``s.seed``, generating it if missing."""
    folder = s.data_dir / f"rows{s.rows}-seed{s.seed}-inter{s.interactions}"
    if not (folder / "meta.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        log(f"generating {s.rows:,} train + {s.test_rows:,} test rows into {folder} ...")
        start = time.perf_counter()

        def make(tmp: Path) -> None:
            train = _generate(
                s.rows, s.seed, 0, s.interactions, [tmp / f"train.{f}" for f in FORMATS]
            )
            test = _generate(
                s.test_rows,
                s.seed,
                s.rows,
                s.interactions,
                [tmp / f"test.{f}" for f in FORMATS],
                truth=tmp / "test.truth",
            )
            meta = {"train": train, "test": test}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))

        _build(folder, make)
        log(f"  done in {time.perf_counter() - start:.1f} s")
    meta = json.loads((folder / "meta.json").read_text())
    return DataSet(folder, s.rows, s.test_rows, meta["train"], meta["test"])


def ensure_scale_pair(s: Settings, log=print) -> ScalePair:
    """Criteo files of N/2 and 2N training rows; the small one is the head of the large one."""
    small_rows, large_rows = s.scale_rows
    folder = s.data_dir / f"scale{large_rows}-seed{s.seed}-inter{s.interactions}"
    if not (folder / "done").exists():
        shutil.rmtree(folder, ignore_errors=True)
        log(f"generating {large_rows:,} rows for the memory-scaling check ...")

        def make(tmp: Path) -> None:
            _generate(large_rows, s.seed, 0, s.interactions, [tmp / "large.criteo"])
            with open(tmp / "large.criteo", "rb") as src, open(tmp / "small.criteo", "wb") as dst:
                for _ in range(small_rows):
                    dst.write(src.readline())
            (tmp / "done").write_text("ok\n")

        _build(folder, make)
    return ScalePair(folder / "small.criteo", small_rows, folder / "large.criteo", large_rows)


def criteo_labels(path: Path) -> np.ndarray:
    """The 0/1 labels (first field) of a criteo file, in order."""
    with open(path, "rb") as fh:
        return np.array([line[:1] == b"1" for line in fh], dtype=np.float64)


def read_predictions(path: Path) -> np.ndarray:
    """One probability per line (the last field, so a leading tag is allowed)."""
    with open(path, "rb") as fh:
        return np.array([float(line.rsplit(None, 1)[-1]) for line in fh if line.strip()])
