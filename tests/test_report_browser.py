"""The evaluation page in a real browser: headless Chromium opens it without a console error
or a network request, and its screenshot shows the figures.

Needs playwright and a Chromium (``make test-browser`` installs both); skipped otherwise.
``FTRL_CHROMIUM`` names the browser binary; else a system Chromium on PATH, else
playwright's own.
"""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest
from clirun import ftrl, sample

pytest.importorskip("matplotlib")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(make test-browser installs it)")

from matplotlib import image  # noqa: E402

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")


def _browser(p):
    named = os.environ.get("FTRL_CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)),
                                                    None)
    if named is None and not os.path.exists(p.chromium.executable_path):
        pytest.skip("no Chromium installed (make test-browser installs one)")
    return p.chromium.launch(executable_path=named)


def test_the_page_opens_cleanly_and_shows_its_figures(tmp_path):
    model, page_path = tmp_path / "m.parquet", tmp_path / "report.html"
    assert ftrl("train", sample("train.vw"), "-o", model, "--learning-rate", "0.1",
                "--quiet").code == 0
    assert ftrl("evaluate", "-m", model, sample("test.vw"), "--plot", page_path).code == 0
    problems, requests = [], []
    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")
            sizes = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
            cells = page.eval_on_selector_all("td.value", "tds => tds.map(t => t.textContent)")
            shot = page.screenshot(full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert sizes == [[True, 1000, 800]]
    assert len(cells) >= 7
    # the figure is drawn: the screenshot's lower part is far from a blank page
    pixels = image.imread(io.BytesIO(shot), format="png")[..., :3]
    lower = pixels[pixels.shape[0] // 3:]
    assert np.mean(lower.min(axis=2) < 0.9) > 0.02
    assert len(np.unique(lower.reshape(-1, 3).round(2), axis=0)) > 50
