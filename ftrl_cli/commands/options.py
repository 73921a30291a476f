"""Turn CLI option values into the objects the jobs use."""

from __future__ import annotations

import json
import os

from ftrl_cli.config import OptimizerConfig
from ftrl_cli.errors import FtrlError
from ftrl_cli.outputs import check_writable as check_writable  # where an output really goes
from ftrl_cli.readers.detect import PARQUET_SUFFIXES
from ftrl_cli.schedules import parse_schedule


def parse_learning_rate(text: str):
    """``--learning-rate``: a float, or a Keras schedule's JSON (inline or ``@file.json``)."""
    text = text.strip()
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as fh:
                text = fh.read()
        except OSError as e:
            raise FtrlError(f"--learning-rate: cannot read {text[1:]}: {e.strerror}") from None
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise FtrlError(f"--learning-rate: not valid JSON: {e.msg}") from None
        return parse_schedule(obj)
    try:
        return float(text)
    except ValueError:
        raise FtrlError(f"--learning-rate: expected a number or a schedule's JSON, "
                        f"got {text!r}") from None


def build_optimizer_config(base: OptimizerConfig, config_file: str | None,
                     flags: dict) -> OptimizerConfig:
    """``base`` < ``--optimizer-config`` file < flags given on the command line."""
    cfg = OptimizerConfig.from_json_file(config_file) if config_file else base
    changes = dict(flags)
    if "learning_rate" in changes:
        changes["learning_rate"] = parse_learning_rate(changes["learning_rate"])
    return cfg.override(**changes).validate_training()


def _holds_parquet(folder: str) -> bool:
    """Whether ``folder`` (or a folder in it) holds a ``.parquet`` or ``.pq`` file."""
    for _, _, files in os.walk(folder):
        if any(f.lower().endswith(PARQUET_SUFFIXES) for f in files):
            return True
    return False


def check_inputs(paths: list[str]) -> None:
    """Fail early, before any work, on inputs that cannot be read."""
    if paths.count("-") > 1:
        raise FtrlError("stdin ('-') can be given only once")
    for p in paths:
        if p == "-":
            continue
        if not os.path.exists(p):
            raise FtrlError(f"{p}: no such file")
        if os.path.isdir(p) and not _holds_parquet(p):
            raise FtrlError(f"{p}: is a folder, not a file (nor a folder of Parquet files)")
        if not os.access(p, os.R_OK):
            raise FtrlError(f"{p}: permission denied")
