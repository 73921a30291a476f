"""Command line of the generator: ``python -m ftrl_cli.datagen samples|generate``.

``samples DIR`` rewrites the small shipped data sets byte for byte; ``generate`` writes any
number of rows in one or more formats for benchmarks, with optional per-row truth.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ftrl_cli.datagen import DataConfig, TruthModel, iter_blocks, spread_vocab_sizes

SAMPLE_SEED = 20240607
SAMPLE_CONFIG = DataConfig(vocab_sizes=spread_vocab_sizes(3, 50))
SAMPLE_TRAIN_ROWS = 1500
SAMPLE_TEST_ROWS = 500
SAMPLE_SUFFIXES = {
    "vw": ".vw",
    "libsvm": ".libsvm",
    "csv": ".csv",
    "tsv": ".tsv",
    "criteo": ".criteo",
}


def write_samples(directory: str | os.PathLike) -> dict:
    """Write ``train.*``/``test.*`` in every format plus ``truth.json``; returns the latter.

    The test rows follow the training rows under the same truth, so a model trained on
    ``train`` can approach ``truth_test_logloss`` on ``test``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_samples(d)["test"]["rows"]
    500
    """
    from ftrl_cli.datagen_writers import RowWriter

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model = TruthModel(SAMPLE_SEED, SAMPLE_CONFIG)
    splits = {"train": (0, SAMPLE_TRAIN_ROWS), "test": (SAMPLE_TRAIN_ROWS, SAMPLE_TEST_ROWS)}
    summaries = {}
    for split, (start, rows) in splits.items():
        outputs = {out / f"{split}{suffix}": fmt for fmt, suffix in SAMPLE_SUFFIXES.items()}
        with RowWriter(outputs) as writer:
            for block in iter_blocks(model, rows, start):
                writer.write(block)
        summaries[split] = writer.summary()
    truth = {
        "seed": SAMPLE_SEED,
        "config": SAMPLE_CONFIG.to_dict(),
        "train": {"start": 0, "rows": SAMPLE_TRAIN_ROWS},
        "test": {"start": SAMPLE_TRAIN_ROWS, "rows": SAMPLE_TEST_ROWS},
        "generate": _generate_command(SAMPLE_SEED, SAMPLE_CONFIG),
    }
    # Rounded so last-digit differences between platforms' log/exp never show in the file.
    for split in splits:
        s = summaries[split]
        truth[split]["positives"] = s["positives"]
        truth[split]["truth_logloss"] = round(s["truth_logloss"], 6)
    truth["truth_test_logloss"] = truth["test"]["truth_logloss"]
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return truth


def _generate_command(seed: int, config: DataConfig) -> str:
    sizes = ",".join(map(str, config.vocab_sizes))
    return (
        f"python -m ftrl_cli.datagen generate --seed {seed} --vocab-sizes {sizes} "
        f"--base-rate {config.base_rate} --logit-std {config.logit_std} "
        f"--interactions {config.interactions} --start START --rows ROWS -o FILE"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ftrl_cli.datagen",
        description="Generate Criteo-shaped click logs with a known logistic truth.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    samples = sub.add_parser("samples", help="rewrite the small shipped samples")
    samples.add_argument("directory")

    gen = sub.add_parser(
        "generate",
        help="write rows in one or more formats",
        description="Write rows START..START+ROWS-1; the same --seed and shape options give "
        "the same truth, so a test set is a later --start. Prints a JSON summary.",
    )
    gen.add_argument("--rows", type=int, required=True)
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--start", type=int, default=0, help="index of the first row (default 0)")
    gen.add_argument(
        "-o",
        "--output",
        action="append",
        required=True,
        help="output file; repeat for several formats at once (.gz/.zst compress)",
    )
    gen.add_argument(
        "--format",
        action="append",
        choices=["criteo", "tsv", "csv", "vw", "libsvm"],
        help="format of each -o in order (default: from the file name)",
    )
    gen.add_argument("--interactions", type=int, default=0, help="pairwise effects (default 0)")
    gen.add_argument(
        "--vocab-range",
        type=int,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=(10, 10**6),
        help="smallest and largest vocabulary (default 10 1000000)",
    )
    gen.add_argument("--vocab-scale", type=float, default=1.0, help="multiply every vocabulary")
    gen.add_argument("--vocab-sizes", help="26 comma-separated sizes (overrides the range)")
    gen.add_argument("--base-rate", type=float, default=0.25)
    gen.add_argument("--logit-std", type=float, default=1.5)
    gen.add_argument("--truth-out", help="file for each row's true click probability")
    return parser


def _config(args: argparse.Namespace) -> DataConfig:
    if args.vocab_sizes:
        sizes = tuple(int(round(int(s) * args.vocab_scale)) for s in args.vocab_sizes.split(","))
    else:
        sizes = spread_vocab_sizes(*args.vocab_range, scale=args.vocab_scale)
    return DataConfig(
        vocab_sizes=tuple(max(s, 1) for s in sizes),
        interactions=args.interactions,
        base_rate=args.base_rate,
        logit_std=args.logit_std,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator CLI; returns the exit code.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     main(["generate", "--rows", "5", "--seed", "1", "--vocab-range", "3", "9",
    ...           "-o", os.path.join(d, "a.vw")])  # doctest: +ELLIPSIS
    {"rows": 5, ...}
    0
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "samples":
            truth = write_samples(args.directory)
            print(json.dumps({"directory": args.directory, **truth}))
            return 0
        from ftrl_cli.datagen_writers import RowWriter

        formats = args.format or [None] * len(args.output)
        if len(formats) != len(args.output):
            raise ValueError("give one --format per -o, or none at all")
        config = _config(args)
        model = TruthModel(args.seed, config)
        with RowWriter(dict(zip(args.output, formats, strict=True)), args.truth_out) as writer:
            for block in iter_blocks(model, args.rows, args.start):
                writer.write(block)
        summary = {**writer.summary(), "seed": args.seed, "start": args.start}
        print(json.dumps({**summary, "config": config.to_dict()}))
        return 0
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
