"""The ``ftrl`` command: train, predict, evaluate (the model-file commands: ``cli_models``).

Heavy modules (numpy, numba, pyarrow) are imported inside the commands, so ``ftrl --help``
stays fast.
"""

from __future__ import annotations

import os
import sys

import click
from click.core import ParameterSource

from ftrl_cli._version import __version__
from ftrl_cli.cli_models import export, import_keras, inspect_model
from ftrl_cli.cli_options import (
    cross_options,
    dask_option,
    error_options,
    errors_option_values,
    feature_name_options,
    feature_options,
    input_options,
    metrics_out_option,
    optimizer_options,
    verify_option,
)

# ftrl does no linear algebra, but numpy's and scipy's OpenBLAS each start worker threads
# on import that spin for a while (about 0.25 s of CPU in all), taken from the parser and
# the learner on a small machine. Set before numpy is imported; a user's setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ftrl")
def cli() -> None:
    """Train and serve CTR models on hashed sparse features with Keras's FTRL optimizer.

    \b
    Example:
      ftrl train data/samples/train.vw -o model.parquet --learning-rate 0.1
      ftrl predict -m model.parquet data/samples/test.vw -o preds.txt
      ftrl evaluate -m model.parquet data/samples/test.vw

    \b
    Exit codes:
      0    ok
      1    system error: a write failed (disk full, file too large, read-only folder)
      2    bad input, options or model file
      75   locked: another ftrl train is writing the same -o (see --wait-lock)
      130  interrupted (SIGINT); 143 terminated (SIGTERM)
    """


for _command in (export, import_keras, inspect_model):
    cli.add_command(_command)


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Model file to write (Parquet); replaced atomically.")
@click.option("--init-model", type=click.Path(dir_okay=False), default=None,
              help="Continue training from this model.")
@click.option("--wait-lock", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
              help="Wait up to SECONDS for another run writing the same -o (default: fail "
                   "at once, exit 75).")
@click.option("--passes", type=click.IntRange(min=1), default=1, show_default=True,
              help="Passes over the input (files only, not stdin).")
@click.option("--holdout-period", type=click.IntRange(min=2), default=None,
              help="With --passes > 1: hold out every K-th record of each pass.  [default: 10]")
@click.option("--holdout-after", type=click.IntRange(min=1), default=None,
              help="With --passes > 1: hold out every record after the N-th of each pass.")
@click.option("--holdout-off", is_flag=True, help="With --passes > 1: train on every record.")
@click.option("--early-terminate", type=click.IntRange(min=1), default=None,
              help="Stop after K passes without a better holdout loss; the best pass's model "
                   "is written.  [default: 3]")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Records per optimizer step (mean gradient), as a Keras batch.")
@click.option("--no-bias", is_flag=True, help="No bias term (Dense(1, use_bias=False)).")
@click.option("--state-dtype", type=click.Choice(["float64", "float32"]), default="float64",
              show_default=True, help="Precision of the model state; float32 halves memory.")
@click.option("--quiet", is_flag=True, help="No progress table.")
@click.option("--plot-loss", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Draw the progressive and holdout loss over the examples to FILE: .png, "
                   ".svg or .html. Needs matplotlib.")
@click.option("--reader-thread/--no-reader-thread", default=True, show_default=True,
              help="Parse in a second thread while training (same results either way).")
@click.option("--negative-sampling", type=float, default=None, metavar="RATE",
              help="Keep each negative record with probability RATE (0 < RATE <= 1), drawn "
                   "afresh each pass; scores are recalibrated for it.")
@click.option("--input-negative-rate", type=float, default=None, metavar="RATE",
              help="The input's negatives were already kept at RATE upstream: record it.")
@click.option("--seed", type=click.IntRange(0, 2**64 - 1), default=0, show_default=True,
              help="Seed of --negative-sampling.")
@click.option("--loss", type=click.Choice(["logistic", "squared"]), default=None,
              help="logistic: Dense(1, sigmoid) on binary cross-entropy (default); squared: "
                   "Dense(1) on mean squared error, numeric labels. --init-model: the "
                   "model's.")
@verify_option
@metrics_out_option
@click.option("--checkpoint-every", default=None, metavar="N|TIME",
              help="Write a resumable checkpoint every N records, or every TIME (90s, 10m, "
                   "1h); SIGTERM/SIGINT then stop at a checkpoint.")
@click.option("--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False), default=None,
              help="The checkpoint file.  [default: OUTPUT with .ckpt.parquet for .parquet]")
@click.option("--resume", is_flag=True,
              help="Go on from the checkpoint of the same command, interrupted.")
@feature_name_options
@dask_option
@click.option("--sync-every", type=click.IntRange(min=1), default=None, metavar="ROWS",
              help="With --dask: records each worker trains on between merges.  "
                   "[default: 1000]")
@input_options
@error_options
@feature_options
@cross_options
@optimizer_options
@click.pass_context
def train(ctx: click.Context, inputs, output, init_model, wait_lock, no_verify, passes,
          holdout_period, holdout_after, holdout_off, early_terminate, batch_size, no_bias,
          state_dtype, quiet, plot_loss, reader_thread, negative_sampling, input_negative_rate,
          seed, loss, metrics_out, checkpoint_every, checkpoint_path, resume, feature_names,
          max_names, dask, sync_every, fmt, no_header,
          columns, on_error, max_errors, rejects, max_line_bytes, hash_bits, hash_mode,
          label_column, ignore_columns, numeric_columns, interactions, quadratic, cubic,
          optimizer_config,
          **optimizer_flags) -> None:
    """Train a model on INPUT files ('-' for stdin) and write it to -o.

    \b
    Example:
      ftrl train logs/day1.vw.gz logs/day2.vw.gz -o model.parquet \\
          --learning-rate 0.05 --l1 1.0 --beta 1.0 -b 24
      zcat today.tsv.gz | ftrl train - --format criteo -o new.parquet --init-model old.parquet
    """
    from ftrl_cli.commands.train import run_train
    from ftrl_cli.errors import FtrlError
    from ftrl_cli.readers.crosses_spec import parse_vw_interactions
    from ftrl_cli.sampling import Sampling
    from ftrl_cli.writelock import output_lock

    if sync_every is not None and dask is None:
        raise FtrlError("--sync-every applies to training on Dask (--dask)")
    sampling = Sampling(negative_sampling, input_negative_rate, seed)
    given = {k: v for k, v in optimizer_flags.items()
             if ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE}
    hashing_given = any(ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE
                        for k in ("hash_bits", "hash_mode", "label_column", "ignore_columns",
                                  "numeric_columns"))
    with output_lock(output, wait_lock):
        run_train(
            inputs=list(inputs), output=output, init_model=init_model, passes=passes,
            batch_size=batch_size, use_bias=not no_bias, state_dtype=state_dtype,
            quiet=quiet, reader=dict(format=fmt, header=not no_header, columns=columns or None,
                                     hash_bits=hash_bits, hash_mode=hash_mode,
                                     label_column=label_column, ignore_columns=ignore_columns,
                                     numeric_columns=numeric_columns),
            hashing_given=hashing_given, optimizer_config=optimizer_config,
            optimizer_flags=given, reader_thread=reader_thread, sampling=sampling, loss=loss,
            holdout=dict(period=holdout_period, after=holdout_after, off=holdout_off,
                         early_terminate=early_terminate),
            crosses=(None if interactions is None and not quadratic and not cubic else
                     dict(interactions=interactions,
                          vw_interactions=parse_vw_interactions(quadratic, cubic))),
            verify=not no_verify,
            checkpoint_every=checkpoint_every, checkpoint_path=checkpoint_path, resume=resume,
            options=_deciding_options(ctx), metrics_out=metrics_out,
            errors=errors_option_values(on_error, max_errors, rejects),
            max_line_bytes=max_line_bytes,
            plot_loss=plot_loss, feature_names=feature_names, max_names=max_names,
            dask=dask, sync_every=sync_every,
        )


# Options that change neither the model nor the summary: a resumed run may change them.
_NOT_DECIDING = {"output", "quiet", "reader_thread", "checkpoint_every", "checkpoint_path",
                 "resume", "metrics_out", "wait_lock", "no_verify", "plot_loss", "rejects"}


def _deciding_options(ctx: click.Context) -> dict:
    """The options given that decide the result, under their long names."""
    return {max(p.opts, key=len): ctx.params[p.name] for p in ctx.command.params
            if isinstance(p, click.Option) and p.name not in _NOT_DECIDING
            and ctx.get_parameter_source(p.name) != ParameterSource.DEFAULT}


@cli.command()
@click.argument("inputs", nargs=-1)
@click.option("-m", "--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="Model written by ftrl train.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write predictions here (default, or '-': stdout).")
@click.option("--raw", is_flag=True, help="Print margins (logits) instead of probabilities "
                                          "(a --loss squared model prints margins anyway).")
@click.option("--recalibrate/--no-recalibrate", default=True, show_default=True,
              help="Undo the model's negative down-sampling in its scores.")
@click.option("--key-column", default=None, metavar="NAME",
              help="Parquet input: copy this column beside the predictions "
                   "(needs -o FILE.parquet).")
@verify_option
@dask_option
@input_options
@error_options
def predict(inputs, model_path, output, raw, recalibrate, key_column, no_verify, dask, fmt,
            no_header, columns, on_error, max_errors, rejects, max_line_bytes) -> None:
    """Score INPUT records: one prediction per line, in input order.

    Without INPUT (or with '-') the records come from stdin, scored as they arrive. A
    record with a tag gets 'tag prediction'. With --on-error skip a skipped record gets an
    empty line, so that line N of the output still answers record N. '-o FILE.parquet'
    writes a table instead: a 'prediction' column, after the --key-column or the vw tags.

    \b
    Example:
      ftrl predict -m model.parquet test.vw > predictions.txt
      tail -f live.vw | ftrl predict -m model.parquet
    """
    from ftrl_cli.commands.predict import run_predict

    run_predict(list(inputs) or ["-"], model_path, output, raw,
                dict(format=fmt, header=not no_header, columns=columns or None), recalibrate,
                verify=not no_verify, key_column=key_column,
                errors=errors_option_values(on_error, max_errors, rejects),
                max_line_bytes=max_line_bytes, dask=dask)


@cli.command()
@click.argument("inputs", nargs=-1)
@click.option("-m", "--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="Model to score INPUT with.")
@click.option("--predictions", type=click.Path(dir_okay=False), default=None,
              help="Score an existing prediction file (one probability per line) instead.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Also draw reliability, ROC, precision-recall and score histograms (a "
                   "--loss squared model: predicted vs actual) to FILE: .png, .svg or .html "
                   "(a page with the metrics). Needs matplotlib.")
@click.option("--recalibrate/--no-recalibrate", default=True, show_default=True,
              help="Undo the model's negative down-sampling in its scores.")
@metrics_out_option
@verify_option
@dask_option
@input_options
@error_options
def evaluate(inputs, model_path, predictions, as_json, plot, recalibrate, metrics_out, no_verify,
             dask, fmt, no_header, columns, on_error, max_errors, rejects,
             max_line_bytes) -> None:
    """Logloss, AUC, normalized entropy and calibration of a model on labelled INPUT
    (RMSE, MAE and R² for a --loss squared model).

    Without INPUT (or with '-') the records come from stdin.

    \b
    Example:
      ftrl evaluate -m model.parquet test.vw
      ftrl evaluate --predictions predictions.txt test.vw --json
      zcat test.vw.gz | ftrl evaluate -m model.parquet
    """
    from ftrl_cli.commands.evaluate import run_evaluate

    run_evaluate(list(inputs) or ["-"], model_path, predictions, as_json,
                 dict(format=fmt, header=not no_header, columns=columns or None), recalibrate,
                 metrics_out=metrics_out, verify=not no_verify,
                 errors=errors_option_values(on_error, max_errors, rejects),
                 max_line_bytes=max_line_bytes, plot=plot, dask=dask)


def _drop_stdout() -> None:
    # What stdout still buffers would fail again at exit, with a traceback of its own.
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (in-process runs)
        pass


def main(argv: list[str] | None = None) -> None:
    """Entry point: errors become one line on stderr and their exit code, never a traceback
    (see the exit codes in ``ftrl --help``)."""
    import signal
    import threading

    from ftrl_cli import termination
    from ftrl_cli.errors import FtrlError, Terminated
    from ftrl_cli.signals import Interrupted

    # SIGTERM unwinds as an exception, so temporary files go and the old model stays.
    previous = None
    termination.reset()
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, termination.handle)
    try:
        with termination.pandas_kept_out():
            cli.main(args=argv, prog_name="ftrl", standalone_mode=False)
    except Terminated:
        click.echo("ftrl: terminated", err=True)
        sys.exit(143)
    except Interrupted as e:
        click.echo(f"ftrl: {e}", err=True)
        sys.exit(e.exit_code)
    except FtrlError as e:
        click.echo(f"ftrl: error: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else str(e))
        sys.exit(2)
    except click.UsageError as e:
        where = f"ftrl {e.ctx.info_name}" if e.ctx and e.ctx.info_name != "ftrl" else "ftrl"
        click.echo(f"{where}: error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        click.echo(f"ftrl: error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("ftrl: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("ftrl: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # The reader of our stdout went away (e.g. `| head`): not an error of ours.
        _drop_stdout()
        sys.exit(0)
    except OSError as e:
        # Writing stdout into a full disk (-o files say so themselves, with their name).
        from ftrl_cli.outputs import refused_reason

        reason = refused_reason(e)
        if reason is None:
            raise
        where = f"{e.filename}: " if e.filename else ""
        click.echo(f"ftrl: error: {where}{reason}", err=True)
        _drop_stdout()
        sys.exit(1)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
