"""Figures of an evaluation and of a training run's loss, drawn with matplotlib (the ``plot``
extra, imported only here and only when a figure is drawn, on the Agg canvas).

``write_figure`` writes a figure as ``.png``, ``.svg`` or a self-contained ``.html`` page
(see ``ftrl_cli.report``); the points come from ``ftrl_cli.curves``, so a figure's size does
not grow with the record count.
"""

from __future__ import annotations

import importlib.util
import io
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ftrl_cli import curves
from ftrl_cli.errors import FtrlError
from ftrl_cli.outputs import check_writable, open_output

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = (".png", ".svg", ".html")
DPI = 100
EVALUATION_SIZE = (10.0, 8.0)
REGRESSION_SIZE = (10.0, 4.5)
LOSS_SIZE = (8.0, 5.0)
"""Figure sizes in inches; at ``DPI`` a PNG is 1000x800, 1000x450 and 800x500 pixels."""

INSTALL_HINT = "pip install 'ftrl-cli[plot]'"


def check_plot_path(path: str, option: str) -> str:
    """The format of plot file ``path`` (``".png"``, ``".svg"`` or ``".html"``), checked
    with matplotlib's presence and the folder before any work is done.

    >>> check_plot_path("curves.txt", "--plot")
    Traceback (most recent call last):
    ...
    ftrl_cli.errors.FtrlError: --plot curves.txt: the file name must end in .png, .svg or .html
    """
    fmt = os.path.splitext(path)[1].lower()
    if fmt not in FORMATS:
        raise FtrlError(f"{option} {path}: the file name must end in .png, .svg or .html")
    if importlib.util.find_spec("matplotlib") is None:
        raise FtrlError(f"{option} needs matplotlib: {INSTALL_HINT}")
    check_writable(path)
    return fmt


def _figure(size: tuple[float, float]) -> Figure:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise FtrlError(f"plots need matplotlib: {INSTALL_HINT}") from None
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def evaluation_figure(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> Figure:
    """Four panels of a probabilistic model's predictions: the reliability diagram with its
    bin counts, the ROC and precision-recall curves with their areas, and the score
    histogram of each label.

    >>> fig = evaluation_figure(np.array([0, 1, 1, 0]), np.array([0.2, 0.7, 0.4, 0.3]))
    >>> [ax.get_title() for ax in fig.axes[:4]]
    ['Reliability', 'ROC curve', 'Precision-recall', 'Scores by label']
    """
    fig = _figure(EVALUATION_SIZE)
    (rel, roc), (pr, hist) = fig.subplots(2, 2)
    _reliability(rel, curves.reliability_bins(y, p, w))
    classes = np.any(y >= 0.5) and np.any(y < 0.5)
    if classes:
        c = curves.roc_curve(y, p, w)
        roc.plot(c.x, c.y, color="C0", label=f"AUC = {c.area:.4f}")
        c = curves.pr_curve(y, p, w)
        pr.plot(c.x, c.y, color="C0", label=f"average precision = {c.area:.4f}")
        base = float(np.average(y, weights=w))
        pr.axhline(base, color="grey", linestyle=":", label=f"base rate = {base:.4f}")
    roc.plot([0, 1], [0, 1], color="grey", linestyle=":")
    _square(roc, "ROC curve", "false positive rate", "true positive rate")
    _square(pr, "Precision-recall", "recall", "precision")
    for ax in (roc, pr):
        if classes:
            ax.legend(loc="lower right" if ax is roc else "upper right")
        else:
            ax.text(0.5, 0.5, "one class only", ha="center", transform=ax.transAxes)
    edges, neg, pos = curves.score_histograms(y, p)
    hist.stairs(neg, edges, label=f"label 0 ({neg.sum():,})", color="C0")
    hist.stairs(pos, edges, label=f"label 1 ({pos.sum():,})", color="C1")
    hist.set(title="Scores by label", xlabel="predicted probability", ylabel="records",
             xlim=(0, 1))
    hist.legend()
    return fig


def _square(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(0, 1), ylim=(0, 1.02))
    ax.grid(alpha=0.3)


def _reliability(ax, bins: curves.Bins) -> None:
    counts = ax.twinx()
    width = np.diff(bins.edges)
    counts.bar(bins.edges[:-1], bins.count, width=width, align="edge", color="C7", alpha=0.25)
    for left, wid, n in zip(bins.edges[:-1], width, bins.count):
        if n:
            counts.text(left + wid / 2, n, f"{n:,}", ha="center", va="bottom", fontsize=7,
                        color="dimgrey")
    counts.set_ylabel("records per bin (bars)")
    counts.set_ylim(0, max(1, int(bins.count.max())) * 2.2)  # the top half for the legend
    ax.set_zorder(counts.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    seen = bins.count > 0
    ax.plot(bins.mean_prediction[seen], bins.mean_label[seen], "o-", color="C3",
            label="mean label per bin")
    _square(ax, "Reliability", "mean predicted probability", "mean label")
    ax.legend(loc="upper left")


def regression_figure(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> Figure:
    """A squared-loss model's predictions against the actual values (a 2-D histogram, the
    line y = x and the mean actual value per prediction bin), and its residuals.

    >>> fig = regression_figure(np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0]))
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['Predicted vs actual', 'Residuals (actual - predicted)']
    """
    fig = _figure(REGRESSION_SIZE)
    scatter, resid = fig.subplots(1, 2)
    lo = float(min(y.min(), p.min()))
    hi = float(max(y.max(), p.max()))
    hi = hi if hi > lo else lo + 1.0
    grid, xe, ye = np.histogram2d(p, y, bins=60, range=[[lo, hi], [lo, hi]])
    mesh = scatter.pcolormesh(xe, ye, np.ma.masked_equal(grid.T, 0), cmap="viridis",
                              norm="log")
    bar = fig.colorbar(mesh, ax=scatter, label="records", format="{x:,.0f}")
    bar.ax.yaxis.set_minor_formatter(bar.formatter)
    scatter.plot([lo, hi], [lo, hi], color="grey", linestyle=":", label="y = x")
    bins = curves.prediction_bins(y, p, w)
    seen = bins.count > 0
    scatter.plot(bins.mean_prediction[seen], bins.mean_label[seen], "o-", color="C3",
                 markersize=3, label="mean actual per bin")
    scatter.set(title="Predicted vs actual", xlabel="predicted", ylabel="actual",
                xlim=(lo, hi), ylim=(lo, hi))
    scatter.legend(loc="upper left")
    weighted = w is not None and bool(np.any(w != 1.0))
    resid.hist(y - p, bins=60, weights=w if weighted else None, color="C0")
    resid.set(title="Residuals (actual - predicted)", xlabel="residual",
              ylabel="importance weight" if weighted else "records")
    return fig


def loss_figure(points: Sequence[tuple[int, float, float, float]], loss_name: str) -> Figure:
    """The progressive average loss, the loss since the previous row and the holdout loss
    over the examples seen, from ``Progress.points``.

    >>> fig = loss_figure([(1, 0.69, 0.69, float("nan")), (2, 0.6, 0.5, 0.55)], "logistic")
    >>> fig.axes[0].get_xscale()
    'log'
    """
    fig = _figure(LOSS_SIZE)
    ax = fig.subplots()
    pts = np.array(points, dtype=np.float64).reshape(-1, 4)
    n, average, since, holdout = pts.T
    ax.plot(n, average, "o-", color="C0", label="progressive average loss")
    ax.plot(n, since, ".--", color="C0", alpha=0.5, label="since the previous row")
    if np.any(np.isfinite(holdout)):
        ax.plot(n, holdout, "s-", color="C1", label="holdout loss")
    ax.set_xscale("log", base=2)
    ax.set(title=f"Training loss ({loss_name})", xlabel="examples", ylabel="loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure as ``png`` or ``svg`` file contents.

    >>> figure_bytes(loss_figure([(1, 0.7, 0.7, float("nan"))], "logistic"), "png")[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=_metadata(fmt))
    return buf.getvalue()


def _metadata(fmt: str) -> dict:
    # no creation date: the same data give the same bytes
    return {"Date": None} if fmt == "svg" else {}


def write_figure(fig: Figure, path: str, title: str,
                 tables: Sequence[tuple[str, dict]] = ()) -> None:
    """Write ``fig`` to ``path`` (through ``open_output``) in the format its name ends
    with; an ``.html`` page has ``title`` and ``tables`` (caption, {name: value}) too."""
    fmt = os.path.splitext(path)[1].lower()
    if fmt == ".html":
        from ftrl_cli.report import html_page

        data = html_page(title, [figure_bytes(fig, "png")], tables).encode("utf-8")
    else:
        data = figure_bytes(fig, fmt[1:])
    with open_output(path) as fh:
        fh.write(data)
