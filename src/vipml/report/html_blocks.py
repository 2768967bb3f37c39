"""Building blocks of the HTML page: tables with formatted cells, and embedded figures.

Examples
--------
>>> html_table(pd.DataFrame({"customer_id": [1001], "clv": [1234.5]}), "€")
'<table><thead><tr><th>customer_id</th><th>clv</th></tr></thead><tbody><tr><td>1001</td>\
<td class="num">€1,234.50</td></tr></tbody></table>'
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vipml.plots import figure_to_data_uri
from vipml.report.names import MONEY_COLUMNS, PERCENT_COLUMNS

__all__ = ["html_table", "figure_html", "image_html"]


def _cell(value: Any, kind: str, currency: str) -> tuple[str, bool]:
    """A table cell's text and whether it is numeric (right-aligned)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "", False
    if isinstance(value, pd.Timestamp | _dt.date):
        return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d"), False
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), False
    if kind == "id":  # as written: no thousands separators, never re-formatted
        return str(value), False
    if isinstance(value, int | np.integer):
        return f"{value:,}", True
    if isinstance(value, float | np.floating):
        if kind == "money":
            return f"{currency}{value:,.2f}", True
        if kind == "percent":
            return f"{value:.1%}", True
        if kind == "ratio":
            return f"{value:.1f}\u00d7", True
        return f"{value:,.3g}" if abs(float(value)) < 1000 else f"{value:,.0f}", True
    return str(value), False


def html_table(
    table: pd.DataFrame,
    currency: str = "$",
    kinds: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """A table as HTML: cells formatted by kind, numbers right-aligned, text escaped.

    Parameters
    ----------
    table
        The rows to show.
    currency
        Currency symbol of the amounts.
    kinds
        Column to kind: ``money``, ``percent``, ``ratio``, ``id`` (shown as written) or
        ``""``; by default ``customer_id`` is an id and the score columns' amounts and
        shares are money and percent.
    headers
        Column to header text (default: the column name).

    Returns
    -------
    str
        One ``<table>`` element.

    Examples
    --------
    >>> table = pd.DataFrame({"p_churn": [0.25], "lift": [3.14], "note": ["<b>"]})
    >>> html_table(table, kinds={"lift": "ratio"}, headers={"p_churn": "P(churn)"})
    '<table><thead><tr><th>P(churn)</th><th>lift</th><th>note</th></tr></thead><tbody><tr>\
<td class="num">25.0%</td><td class="num">3.1×</td><td>&lt;b&gt;</td></tr></tbody></table>'
    """
    kinds = dict(kinds or {})
    for col in table.columns:
        kinds.setdefault(
            col,
            "id" if col == "customer_id"
            else "money" if col in MONEY_COLUMNS else "percent" if col in PERCENT_COLUMNS else "",
        )
    head = "".join(f"<th>{html.escape(str((headers or {}).get(c, c)))}</th>" for c in table.columns)
    rows = []
    for record in table.itertuples(index=False, name=None):
        cells = []
        for col, value in zip(table.columns, record, strict=True):
            text, numeric = _cell(value, kinds[col], currency)
            css = ' class="num"' if numeric else ""
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def figure_html(fig: Figure, caption: str) -> str:
    """A matplotlib figure as an HTML figure, the PNG embedded as a data URI.

    Parameters
    ----------
    fig
        The figure.
    caption
        Its caption (also the image's alt text).

    Returns
    -------
    str
        One ``<figure>`` element.

    Examples
    --------
    >>> figure_html(Figure(figsize=(1, 1)), "Empty").startswith(
    ...     '<figure><img src="data:image/png;base64,')
    True
    """
    return image_html(figure_to_data_uri(fig), caption)


def image_html(uri: str, caption: str) -> str:
    """An image (a URI, e.g. a data URI) as an HTML figure with its caption.

    Parameters
    ----------
    uri
        The image's source.
    caption
        Its caption (also the image's alt text), escaped.

    Returns
    -------
    str
        One ``<figure>`` element.

    Examples
    --------
    >>> image_html("lift.png", "Lift & calibration")
    '<figure><img src="lift.png" alt="Lift &amp; calibration"><figcaption>Lift &amp; \
calibration</figcaption></figure>'
    """
    alt = html.escape(caption, quote=True)
    caption_html = f"<figcaption>{html.escape(caption)}</figcaption>"
    return f'<figure><img src="{uri}" alt="{alt}">{caption_html}</figure>'
