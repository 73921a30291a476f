"""``ftrl evaluate --plot`` and ``ftrl train --plot-loss``: real image files of the right size,
self-contained HTML pages with the numbers of ``--json``, and one-line errors."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest
from clirun import REPO, ftrl, sample

from ftrl_cli.progress import Progress

pytest.importorskip("matplotlib")
from matplotlib import image  # noqa: E402

from ftrl_cli import plots  # noqa: E402


def pixels(png: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, read by matplotlib (which checks the file)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    h, w = image.imread(io.BytesIO(png), format="png").shape[:2]
    return w, h


def size_px(inches):
    return round(inches[0] * plots.DPI), round(inches[1] * plots.DPI)


class Page(HTMLParser):
    """The tables (name: cell text) and image sources of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows, self.sources, self._cell, self._row = {}, [], None, []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        if tag in ("th", "td"):
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self._row.append(self._cell)
            self._cell = None
        if tag == "tr":
            self.rows[self._row[0]] = self._row[1]
            self._row = []


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "model.parquet"
    r = ftrl("train", sample("train.vw"), "-o", path, "--learning-rate", "0.1", "--quiet")
    assert r.code == 0, r.err
    return path


@pytest.fixture(scope="module")
def squared_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sq")
    rng = np.random.default_rng(0)
    lines = [f"{2 + 3 * a - b + rng.normal(0, 0.3):.3f} |x a:{a:.3f} b:{b:.3f}"
             for a, b in rng.uniform(0, 1, size=(400, 2))]
    data = folder / "reg.vw"
    data.write_text("\n".join(lines) + "\n")
    path = folder / "reg.parquet"
    r = ftrl("train", data, "-o", path, "--loss", "squared", "--learning-rate", "0.5",
             "--passes", "3", "--quiet")
    assert r.code == 0, r.err
    return path, data


def test_png_plot_is_an_image_and_the_metrics_are_unchanged(model, tmp_path):
    out = tmp_path / "eval.png"
    plain = ftrl("evaluate", "-m", model, sample("test.vw"))
    r = ftrl("evaluate", "-m", model, sample("test.vw"), "--plot", out)
    assert r.code == 0 and (r.out, r.err) == (plain.out, plain.err)
    assert pixels(out.read_bytes()) == size_px(plots.EVALUATION_SIZE)


def test_svg_plot_is_an_svg_of_the_figure_size(model, tmp_path):
    out = tmp_path / "eval.svg"
    assert ftrl("evaluate", "-m", model, sample("test.vw"), "--plot", out).code == 0
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    w, h = plots.EVALUATION_SIZE
    assert (root.get("width"), root.get("height")) == (f"{w * 72:g}pt", f"{h * 72:g}pt")
    assert "ROC curve" in out.read_text() and "Reliability" in out.read_text()


def test_html_page_is_self_contained_with_the_json_numbers(model, tmp_path):
    out = tmp_path / "report.html"
    r = ftrl("evaluate", "-m", model, sample("test.vw"), "--plot", out, "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    text = out.read_text()
    assert not re.search(r"https?://|<script|<link", text)
    page = Page(text)
    assert [page.rows[k] for k in report] == [json.dumps(v) for v in report.values()]
    assert len(page.sources) == 1 and page.sources[0].startswith("data:image/png;base64,")
    png = base64.b64decode(page.sources[0].split(",", 1)[1])
    assert pixels(png) == size_px(plots.EVALUATION_SIZE)


def test_a_prediction_file_can_be_plotted(model, tmp_path):
    preds = tmp_path / "p.txt"
    assert ftrl("predict", "-m", model, sample("test.vw"), "-o", preds).code == 0
    out = tmp_path / "p.html"
    r = ftrl("evaluate", "--predictions", preds, sample("test.vw"), "--plot", out, "--json")
    assert r.code == 0, r.err
    assert Page(out.read_text()).rows["auc"] == json.dumps(json.loads(r.out)["auc"])


def test_a_squared_loss_model_plots_predicted_against_actual(squared_model, tmp_path):
    model, data = squared_model
    out = tmp_path / "reg.html"
    r = ftrl("evaluate", "-m", model, data, "--plot", out, "--json")
    assert r.code == 0, r.err
    page = Page(out.read_text())
    assert page.rows["r2"] == json.dumps(json.loads(r.out)["r2"])
    png = base64.b64decode(page.sources[0].split(",", 1)[1])
    assert pixels(png) == size_px(plots.REGRESSION_SIZE)


def test_train_plots_the_loss_curve_with_the_holdout(tmp_path):
    out = tmp_path / "loss.png"
    r = ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", "--passes", "3",
             "--learning-rate", "0.1", "--quiet", "--plot-loss", out)
    assert r.code == 0 and r.err == ""
    assert pixels(out.read_bytes()) == size_px(plots.LOSS_SIZE)
    page = tmp_path / "loss.html"
    assert ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", "--quiet",
                "--plot-loss", page).code == 0
    rows = Page(page.read_text()).rows
    assert rows["examples"] == "1500" and rows["passes"] == "1"


def test_the_loss_points_are_the_table_rows_printed_or_not():
    shown, quiet = Progress(io.StringIO()), Progress(None, record=True)
    for progress in (shown, quiet):
        r = np.random.default_rng(0)
        for n in (7, 100, 300, 5):
            y = (r.random(n) < 0.3).astype(float)
            progress.update(y, r.random(n), np.ones(n), np.ones(n))
    np.testing.assert_array_equal(shown.points, quiet.points)  # NaN holdouts equal too
    rows = [line.split() for line in shown.stream.getvalue().splitlines()[2:]]
    assert [int(row[2]) for row in rows] == [n for n, *_ in shown.points] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert [row[0] for row in rows] == [f"{avg:.6f}" for _, avg, _, _ in shown.points]
    assert [row[1] for row in rows] == [f"{since:.6f}" for _, _, since, _ in shown.points]
    assert quiet.loss_points()[-1][0] == 412 and Progress(None).points == []


@pytest.mark.parametrize("args, message", [
    (["--plot", "x.jpg"], "--plot x.jpg: the file name must end in .png, .svg or .html"),
    (["--plot", "/no/such/folder/x.png"], "folder /no/such/folder does not exist"),
])
def test_bad_plot_files_are_one_line_errors(model, args, message):
    r = ftrl("evaluate", "-m", model, sample("test.vw"), *args)
    assert r.code == 2 and r.out == "" and r.err.strip().endswith(message)
    assert len(r.err.splitlines()) == 1


def test_without_matplotlib_the_error_says_how_to_install_it(model, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    r = ftrl("train", sample("train.vw"), "-o", tmp_path / "m.parquet", "--plot-loss",
             tmp_path / "l.png")
    assert r.code == 2 and not (tmp_path / "m.parquet").exists()
    assert r.err == "ftrl: error: --plot-loss needs matplotlib: pip install 'ftrl-cli[plot]'\n"


def test_commands_do_not_import_matplotlib_until_they_plot():
    code = ("import sys\nfrom ftrl_cli.cli import main\n"
            "import ftrl_cli.commands.evaluate, ftrl_cli.commands.train\n"
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out == "False\n"
