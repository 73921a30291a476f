"""The options the ``ftrl`` commands share, as click decorators (see ``ftrl_cli.cli``).

Kept apart from the commands so that each command's definition reads as its own options;
importing this module imports click only, so ``ftrl --help`` stays fast.
"""

from __future__ import annotations

import click

FORMATS = click.Choice(["vw", "libsvm", "csv", "tsv", "criteo", "parquet"])


def _csv_list(_ctx, _param, value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


def input_options(f):
    """Options that say how to read the input records."""
    opts = [
        click.option("--format", "fmt", type=FORMATS, default=None,
                     help="Input format (default: from the extension or the first line)."),
        click.option("--no-header", is_flag=True,
                     help="csv/tsv: the first line is data; name the columns with --columns."),
        click.option("--columns", callback=_csv_list, default=None,
                     help="csv/tsv without header: comma-separated column names."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def feature_options(f):
    """Options that decide how features are hashed (fixed at training time)."""
    opts = [
        click.option("-b", "--hash-bits", type=click.IntRange(1, 30), default=22,
                     show_default=True, help="Kernel size is 2**hash_bits."),
        click.option("--hash", "hash_mode", type=click.Choice(["strings", "all"]),
                     default="strings", show_default=True,
                     help="As Vowpal Wabbit: 'strings' puts all-digit names at their value "
                          "plus the namespace's hash; 'all' hashes every name as text."),
        click.option("--label-column", default="label", show_default=True,
                     help="csv/tsv: the label column."),
        click.option("--ignore-columns", callback=_csv_list, default=None,
                     help="csv/tsv: comma-separated columns to skip."),
        click.option("--numeric-columns", callback=_csv_list, default=None,
                     help="csv/tsv: comma-separated columns used as numeric values."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def cross_options(f):
    """Feature crosses (fixed at training time; predict and evaluate take them from the model)."""
    opts = [
        click.option("--interactions", default=None, metavar="SPEC",
                     help="Cross features: comma-separated groups of 2-3 namespaces (vw) or "
                          "columns joined by ':', globs allowed (C1:C2,C*:C*)."),
        click.option("-q", "--quadratic", multiple=True, metavar="AB",
                     help="vw: as Vowpal Wabbit, cross the namespaces starting with A and B "
                          "(':' any); repeatable."),
        click.option("--cubic", multiple=True, metavar="ABC",
                     help="vw: as Vowpal Wabbit, cross three namespace letters; repeatable."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def error_options(f):
    """What to do with malformed records (see ftrl_cli.readers.rejects)."""
    opts = [
        click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail",
                     show_default=True,
                     help="A malformed record stops the run (fail) or is skipped and counted "
                          "(skip)."),
        click.option("--max-errors", default=None, metavar="N|P%",
                     help="With skip: stop (exit 2) after more than N bad records, or more "
                          "than P% of the records read.  [default: 100]"),
        click.option("--rejects", type=click.Path(dir_okay=False), default=None,
                     help="With skip: write each skipped record here as 'file:line: reason', "
                          "a tab, the record."),
        click.option("--max-line-bytes", type=click.IntRange(min=1), default=16 << 20,
                     show_default=True, help="A longer line is a malformed record."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def errors_option_values(on_error: str, max_errors: str | None, rejects: str | None) -> dict:
    """The ``errors`` argument of the commands, from ``error_options``' values."""
    return dict(on_error=on_error, max_errors=max_errors, rejects=rejects)


OPTIMIZER_OPTIONS = [
    # (flags, keras name, type, help)
    (("--learning-rate",), "learning_rate", str,
     "Float, or a Keras schedule as JSON. Keras default 0.001."),
    (("--learning-rate-power",), "learning_rate_power", float, "<= 0. Default -0.5."),
    (("--initial-accumulator-value",), "initial_accumulator_value", float, ">= 0. Default 0.1."),
    (("--l1-regularization-strength", "--l1"), "l1_regularization_strength", float,
     ">= 0. Default 0."),
    (("--l2-regularization-strength", "--l2"), "l2_regularization_strength", float,
     ">= 0 (stabilization L2). Default 0."),
    (("--l2-shrinkage-regularization-strength", "--l2-shrinkage"),
     "l2_shrinkage_regularization_strength", float, ">= 0 (magnitude L2). Default 0."),
    (("--beta",), "beta", float, "Default 0."),
    (("--weight-decay",), "weight_decay", float, "Decoupled weight decay. Default off."),
    (("--clipnorm",), "clipnorm", float, "Clip each variable's gradient norm."),
    (("--clipvalue",), "clipvalue", float, "Clip each gradient value."),
    (("--global-clipnorm",), "global_clipnorm", float, "Clip the global gradient norm."),
    (("--ema-momentum",), "ema_momentum", float, "EMA momentum in [0, 1]. Default 0.99."),
    (("--ema-overwrite-frequency",), "ema_overwrite_frequency", int,
     "Overwrite weights by their EMA every N iterations."),
    (("--loss-scale-factor",), "loss_scale_factor", float, "Loss scale factor."),
    (("--gradient-accumulation-steps",), "gradient_accumulation_steps", int,
     "Update every N steps with the mean gradient (N >= 2)."),
    (("--name",), "name", str, "Optimizer name (stored in the model). Default 'ftrl'."),
]


def optimizer_options(f):
    """Every argument of keras.optimizers.Ftrl, under its Keras name."""
    f = click.option("--use-ema/--no-ema", "use_ema", default=None,
                     help="Keep an exponential moving average of the weights.")(f)
    for flags, dest, typ, text in reversed(OPTIMIZER_OPTIONS):
        f = click.option(*flags, dest, type=typ, default=None, help=text)(f)
    f = click.option("--optimizer-config", type=click.Path(dir_okay=False), default=None,
                     help="JSON written by Keras: optimizer.get_config() or "
                          "keras.optimizers.serialize(optimizer). Flags override it.")(f)
    return f


def feature_name_options(f):
    """``--feature-names`` and ``--max-names N`` of ``ftrl train``."""
    f = click.option("--max-names", type=click.IntRange(min=1), default=1_000_000,
                     show_default=True, metavar="N",
                     help="With --feature-names: keep at most N distinct names; later ones "
                          "are not recorded (their coordinates stay unnamed).")(f)
    return click.option("--feature-names", is_flag=True,
                        help="Record each coordinate's first feature name and how many "
                             "distinct names collided there (the model's 'feature' column, "
                             "for ftrl inspect).")(f)


def metrics_out_option(f):
    """``--metrics-out FILE.json``: the run's metrics as JSON, written atomically."""
    return click.option("--metrics-out", type=click.Path(dir_okay=False), default=None,
                        metavar="FILE.json",
                        help="Also write the run's metrics as JSON to FILE (atomically).")(f)


def verify_option(f):
    """``--no-verify``: load a model whose checksum does not match."""
    return click.option("--no-verify", is_flag=True,
                        help="Load the model even if its checksum does not match.")(f)


def dask_option(f):
    """``--dask ADDRESS|local:N``: run on a Dask cluster (``ftrl_cli.distributed``)."""
    return click.option("--dask", "dask", default=None, metavar="ADDRESS|local:N",
                        help="Run on Dask: a scheduler's address (tcp://host:8786), or "
                             "local:N for N local worker processes. Inputs and model on "
                             "storage every worker reads.")(f)
