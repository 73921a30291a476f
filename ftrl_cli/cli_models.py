"""The ``ftrl`` commands on model files: ``export``, ``inspect`` and ``import-keras``."""

from __future__ import annotations

import click
from click.core import ParameterSource

from ftrl_cli.cli_options import cross_options, feature_options, input_options, verify_option


@click.command("export")
@click.argument("model_path", metavar="MODEL")
@click.option("--keras", "keras_output", required=True, type=click.Path(dir_okay=False),
              metavar="OUT.keras", help="Write a Keras 3 model file (needs keras).")
@verify_option
def export(model_path, keras_output, no_verify) -> None:
    """Write MODEL as a Keras 3 model: Dense(1) on the hashed features, compiled with its
    Ftrl optimizer and state, so Keras predicts and trains on as ftrl does.

    \b
    Example:
      ftrl export model.parquet --keras model.keras
    """
    from ftrl_cli.keras_export import export_keras

    done = export_keras(model_path, keras_output, verify=not no_verify)
    click.echo(f"wrote {keras_output}: Dense(1) on 2**{done['hash_bits']} hashed features, "
               f"loss {done['loss']}, Ftrl at iteration {done['iterations']}", err=True)


@click.command("inspect")
@click.argument("model_path", metavar="MODEL")
@click.option("--top", type=click.IntRange(min=1), default=None, metavar="K",
              help="Also list the K coordinates of largest |weight| with their names.")
@click.option("--feature", "features", multiple=True, metavar="NAME",
              help="Also show where feature NAME lands and what the model holds there "
                   "(column=value, vw ns=feature, crosses a=x^b=y; repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@verify_option
def inspect_model(model_path, top, features, as_json, no_verify) -> None:
    """Summarize MODEL: format and hashing, features, loss, optimizer, counters, touched
    coordinates, weights (and those L1 keeps at zero), bias, |weight| quantiles.

    \b
    Example:
      ftrl inspect model.parquet
      ftrl inspect model.parquet --top 20 --feature C1=68fd1e64 --json
    """
    from ftrl_cli.commands.inspect import run_inspect

    run_inspect(model_path, top, list(features), as_json, verify=not no_verify)


@click.command("import-keras")
@click.argument("keras_path", metavar="MODEL.keras")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The ftrl model (Parquet) to write.")
@click.option("--features-from", type=click.Path(dir_okay=False), default=None,
              metavar="MODEL",
              help="Take the feature spec from this ftrl model or ftrl export .keras file.")
@input_options
@feature_options
@cross_options
@click.pass_context
def import_keras(ctx: click.Context, keras_path, output, features_from, fmt, no_header,
                 columns, hash_bits, hash_mode, label_column, ignore_columns, numeric_columns,
                 interactions, quadratic, cubic) -> None:
    """Write a Keras Dense(1) trained with Ftrl as an ftrl model (for predict, evaluate and
    train --init-model).

    A file from 'ftrl export' knows its features; once Keras saved it again, name the
    export (or the ftrl model) with --features-from; for any other model give --format and
    the hashing options the records were hashed with (-b must match the model's input).

    \b
    Example:
      ftrl import-keras model.keras -o model.parquet
      ftrl import-keras trained.keras --features-from model.keras -o model.parquet
      ftrl import-keras clicks.keras -o clicks.parquet --format csv --hash all
    """
    from ftrl_cli.keras_import import import_keras_model
    from ftrl_cli.readers.crosses_spec import parse_vw_interactions
    from ftrl_cli.writelock import output_lock

    options = dict(format=fmt, header=not no_header, columns=columns or None,
                   hash_bits=hash_bits, hash_mode=hash_mode, label_column=label_column,
                   ignore_columns=ignore_columns, numeric_columns=numeric_columns,
                   interactions=interactions,
                   vw_interactions=parse_vw_interactions(quadratic, cubic))
    sources = {"header": "no_header", "vw_interactions": "quadratic"}
    given = {k: v for k, v in options.items()
             if ctx.get_parameter_source(sources.get(k, "fmt" if k == "format" else k))
             == ParameterSource.COMMANDLINE or (k == "vw_interactions" and cubic)}
    with output_lock(output, 0):  # as train: one writer of a model at a time
        done = import_keras_model(keras_path, output, given, features_from)
    click.echo(f"wrote {output}: {done['rows']} rows, 2**{done['hash_bits']} hashed features, "
               f"loss {done['loss']}, iteration {done['iterations']}", err=True)
