"""``ftrl inspect``: a model's summary, its largest weights and where features land."""

from __future__ import annotations

import json
from typing import Any

import click

from ftrl_cli import checkpoint
from ftrl_cli.inspect_summary import look_up, summarize, top_weights


def run_inspect(model_path: str, top: int | None, features: list[str], as_json: bool,
                verify: bool = True) -> None:
    """Print the summary of ``model_path`` (as JSON with ``as_json``), the ``top`` largest
    weights and the coordinate of each of ``features``."""
    ckpt = checkpoint.load(model_path, verify=verify)
    summary = summarize(ckpt)
    if top is not None:
        summary["top"] = top_weights(ckpt, top)
    if features:
        summary["lookups"] = [look_up(ckpt, name) for name in features]
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(render(summary))


def _num(v: float | None, digits: int = 6) -> str:
    return "-" if v is None else f"{v:.{digits}g}"


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)


def _features_line(f: dict) -> str:
    parts = []
    if f["columns"]:
        parts.append(f"{len(f['columns'])} columns, label '{f['label_column']}'")
    if f["numeric_columns"]:
        parts.append("numeric " + ",".join(f["numeric_columns"]))
    if f["ignore_columns"]:
        parts.append("ignored " + ",".join(f["ignore_columns"]))
    if f["interactions"]:
        parts.append("crosses --interactions " + ",".join(f["interactions"]))
    if f["vw_interactions"]:
        parts.append("crosses " + " ".join(f"-q {g}" if len(g) == 2 else f"--cubic {g}"
                                           for g in f["vw_interactions"]))
    return "; ".join(parts) or "no crosses"


def render(s: dict[str, Any]) -> str:
    """The summary as the readable text ``ftrl inspect`` prints; its features line, e.g.:

    >>> print(_features_line({"columns": ["label", "a"], "label_column": "label",
    ...                       "numeric_columns": [], "ignore_columns": [],
    ...                       "interactions": [], "vw_interactions": ["ab"]}))
    2 columns, label 'label'; crosses -q ab
    """
    h = s["hashing"]
    lines = [
        ("model", f"{s['model']} ({_size(s['file_bytes'])}, {s['created_by']})"),
        ("format", f"{s['format']}, {h['hash']} ({h['hash_mode']}), 2^{h['hash_bits']} = "
                   f"{s['coordinates']:,} coordinates"),
        ("features", _features_line(s["features"])),
        ("loss", f"{s['loss']['name']} (Keras {s['loss']['keras_layer']}, "
                 f"{s['loss']['keras_loss']})"),
        ("optimizer", json.dumps(s["optimizer"]["config"] if s["optimizer"] else None)),
        ("counters", f"{s['counters'].get('examples', 0):,} examples, "
                     f"{s['counters'].get('iterations', 0):,} iterations"),
        ("touched", f"{s['touched']:,} coordinates ({100 * s['touched_share']:.3g}% of all)"),
        ("weights", f"{s['nonzero_weights']:,} non-zero, {s['zero_weights']:,} at zero"
                    + (f" ({100 * s['l1_zero_share']:.3g}% of the touched, kept there by L1)"
                       if s["l1_zero_share"] is not None else "")),
        ("bias", _num(s["bias"]) if s["use_bias"] else "none (--no-bias)"),
        ("|weight|", "  ".join(f"{k} {_num(v, 4)}"
                               for k, v in s["abs_weight_quantiles"].items())
                     + "  (of the non-zero weights)"),
    ]
    if s["sampling"]:
        lines.append(("sampling", json.dumps(s["sampling"])))
    n = s["feature_names"]
    if n is None:
        lines.append(("feature names", "none recorded (ftrl train --feature-names)"))
    else:
        text = (f"{n['recorded']:,} coordinates named, {n['distinct']:,} distinct names, "
                f"{n['colliding_coordinates']:,} coordinates with collisions")
        if n["full"]:
            text += (f"; --max-names {n['max_names']:,} reached: later names not recorded, "
                     "collision counts are lower bounds")
        lines.append(("feature names", text))
    width = max(len(k) for k, _ in lines)
    out = [f"{k:<{width}}  {v}" for k, v in lines]
    if "top" in s:
        out += ["", f"top {len(s['top'])} by |weight|",
                f"{'rank':>4}  {'index':>10}  {'weight':>12}  {'collisions':>10}  feature"]
        for i, r in enumerate(s["top"], 1):
            out.append(f"{i:>4}  {r['index']:>10}  {r['weight']:>12.6g}  "
                       f"{'' if r['collisions'] is None else r['collisions']:>10}  "
                       f"{r['feature'] or ''}")
    for r in s.get("lookups", []):
        out.append("")
        out.append(f"feature {r['name']}")
        out.append(f"  index        {r['index']}"
                   + ("" if r["touched"] else "  (never touched in training: weight 0)"))
        if r["touched"]:
            out.append(f"  weight       {_num(r['weight'], 9)}")
            out.append(f"  linear       {_num(r['linear'], 9)}")
            out.append(f"  accumulator  {_num(r['accumulator'], 9)}")
            if r["recorded"] is not None:
                other = "" if r["recorded"] == r["name"] else "  (another feature, first)"
                out.append(f"  recorded     {r['recorded']}{other}")
                out.append(f"  collisions   {r['collisions']} distinct name(s) seen here")
    return "\n".join(out)
