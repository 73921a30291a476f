"""One self-contained HTML page: figures embedded as base64 PNG and tables of numbers, with
no scripts and no external URL, so it opens anywhere, offline, and can be mailed as is.

A number in a table is written as JSON writes it (``json.dumps``), so the page shows the
same digits as ``ftrl evaluate --json``.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
caption { text-align: left; font-weight: bold; padding-bottom: .3em; }
th, td { border-bottom: 1px solid #ccc; padding: .2em 1em .2em 0; text-align: left; }
td.value { font-family: monospace; text-align: right; }
img { max-width: 100%; height: auto; }
"""


def _cell(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return html.escape(text)


def html_table(caption: str, rows: dict) -> str:
    """A two-column table of ``rows`` (name: value).

    >>> print(html_table("Metrics", {"count": 2, "auc": 0.75}))
    <table class="metrics"><caption>Metrics</caption>
    <tr><th>count</th><td class="value">2</td></tr>
    <tr><th>auc</th><td class="value">0.75</td></tr>
    </table>
    """
    body = "".join(f'<tr><th>{html.escape(str(k))}</th><td class="value">{_cell(v)}</td></tr>\n'
                   for k, v in rows.items())
    return f'<table class="metrics"><caption>{html.escape(caption)}</caption>\n{body}</table>'


def html_page(title: str, images: Sequence[bytes],
              tables: Sequence[tuple[str, dict]] = ()) -> str:
    """A page with ``title``, the ``tables`` (caption, rows) and the PNG ``images``.

    >>> page = html_page("Evaluation", [b"\\x89PNG..."], [("Metrics", {"count": 1})])
    >>> "http" in page, page.count("<img"), '<td class="value">1</td>' in page
    (False, 1, True)
    """
    figures = "\n".join(
        f'<img alt="figure {i}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode("ascii")}">'
        for i, png in enumerate(images, 1))
    parts = "\n".join(html_table(caption, rows) for caption, rows in tables)
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n{parts}\n{figures}\n</body>\n</html>\n")
