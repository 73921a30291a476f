"""Where a long ``ftrl train`` stands, and the checks before it goes on from there.

A resumable checkpoint records the run's position (pass, input, byte offset and line of the
next record, records read in the pass), the options that decide the result and a digest of
every file the run reads; ``--resume`` goes on only when all of them still hold.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass

from ftrl_cli.errors import FtrlError
from ftrl_cli.readers.base import ReadPosition

SUFFIX = ".ckpt.parquet"
META_KEY = "resume"
FORMAT_VERSION = 1
_TIME_UNITS = {"s": 1, "m": 60, "h": 3600}


def default_checkpoint(output: str) -> str:
    """``--checkpoint``'s default: ``-o`` with ``.ckpt.parquet`` in place of ``.parquet``.

    >>> default_checkpoint("models/m.parquet"), default_checkpoint("model")
    ('models/m.ckpt.parquet', 'model.ckpt.parquet')
    """
    stem = output[: -len(".parquet")] if output.endswith(".parquet") else output
    return stem + SUFFIX


@dataclass(frozen=True)
class Every:
    """How often to checkpoint: every ``records`` records read, or every ``seconds``.

    >>> Every.parse("500"), Every.parse("10m").seconds
    (Every(records=500, seconds=None), 600.0)
    >>> Every.parse("90s").due(0, 89.0), Every.parse("90s").due(0, 90.0)
    (False, True)
    """

    records: int | None = None
    seconds: float | None = None

    @classmethod
    def parse(cls, text: str) -> Every:
        m = re.fullmatch(r"\s*(\d+)\s*([smh]?)\s*", text)
        if m is None or int(m.group(1)) == 0:
            raise FtrlError(f"--checkpoint-every: expected a record count or a time such as "
                            f"90s, 10m or 1h, got {text!r}")
        if m.group(2):
            return cls(seconds=float(int(m.group(1)) * _TIME_UNITS[m.group(2)]))
        return cls(records=int(m.group(1)))

    def due(self, records: int, seconds: float) -> bool:
        """Whether a checkpoint is due, ``records`` read and ``seconds`` gone since the last."""
        if self.records is not None:
            return records >= self.records
        return seconds >= (self.seconds or 0.0)


def checkpoint_options(every: str | None, resume: bool, path: str | None,
                       inputs: list[str]) -> Every | None:
    """``--checkpoint-every`` parsed, once the checkpoint options are known to fit together.

    >>> checkpoint_options(None, True, None, ["-"])
    Traceback (most recent call last):
    ftrl_cli.errors.FtrlError: stdin cannot be resumed: --checkpoint-every and --resume need files
    """
    parsed = Every.parse(every) if every is not None else None
    if (parsed is not None or resume) and "-" in inputs:
        raise FtrlError("stdin cannot be resumed: --checkpoint-every and --resume need files")
    if path is not None and parsed is None and not resume:
        raise FtrlError("--checkpoint needs --checkpoint-every or --resume")
    return parsed


@dataclass
class RunState:
    """Where the run stands between two batches.

    ``position`` is where the next record starts (None: at the pass's start); ``records``
    counts the records of the pass read so far, which place the holdout and the negative
    sample; ``skipped`` the bad records skipped so far (none: every bad record stops a run).

    >>> RunState.from_dict(RunState(1, ReadPosition(0, 120, 9), 8).to_dict()).position.line
    9
    """

    pass_index: int = 0
    position: ReadPosition | None = None
    records: int = 0
    skipped: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["position"] = None if self.position is None else self.position._asdict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RunState:
        pos = d.get("position")
        return cls(int(d["pass_index"]), None if pos is None else ReadPosition(**pos),
                   int(d["records"]), int(d.get("skipped", 0)))


def file_digests(paths: list[str]) -> list[dict]:
    """Size and modification time of each file: what tells a changed input.

    >>> import tempfile
    >>> p = tempfile.mktemp(); _ = open(p, "w").write("1 |a x\\n")
    >>> file_digests([p])[0]["size"]
    7
    """
    out = []
    for p in paths:
        st = os.stat(p)
        out.append({"path": p, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def check_resumable(meta: dict, path: str, inputs: list[str], files: list[str],
                    options: dict) -> None:
    """Refuse, with a one-line error that says why, to resume from checkpoint ``path`` (its
    ``resume`` metadata ``meta``) a run of other ``inputs``, other ``options`` or whose
    ``files`` (the inputs and the files the options name) changed since.

    >>> meta = {"format_version": 1, "inputs": ["a.vw"], "files": [], "options": {"--l1": 0}}
    >>> check_resumable(meta, "m.ckpt.parquet", ["a.vw"], [], {"--l1": 1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ftrl_cli.errors.FtrlError: m.ckpt.parquet: option --l1 differs ... run's (0, now 1); ...
    """
    if int(meta.get("format_version", 0)) != FORMAT_VERSION:
        raise FtrlError(f"{path}: written by another version of ftrl; it cannot be resumed")
    if meta["inputs"] != list(inputs):
        raise FtrlError(f"{path}: the interrupted run read {' '.join(meta['inputs'])}, this "
                        f"one reads {' '.join(inputs)}; resume with the same inputs")
    theirs, ours = meta["options"], json.loads(json.dumps(options))
    for name in [*theirs, *(k for k in ours if k not in theirs)]:
        if theirs.get(name) != ours.get(name):
            raise FtrlError(f"{path}: option {name} differs from the interrupted run's "
                            f"({_shown(theirs.get(name))}, now {_shown(ours.get(name))}); "
                            "resume with the same command line")
    before = {d["path"]: d for d in meta["files"]}
    for now in file_digests(files):
        was = before.get(now["path"])
        if was is None or (was["size"], was["mtime_ns"]) != (now["size"], now["mtime_ns"]):
            raise FtrlError(f"{path}: {now['path']} changed since the checkpoint (size or "
                            "modification time); it cannot be resumed")


def _shown(value: object) -> str:
    return "not given" if value is None else json.dumps(value)
