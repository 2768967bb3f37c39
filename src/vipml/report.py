"""What marketers receive: ``vip_list.csv``, ``vip_list.xlsx`` and a self-contained ``report.html``.

:func:`write_lists` takes the scores (segmented by :func:`vipml.segments.assign_segments`, or
segmented here when they are not yet) and writes, each atomically:

* ``vip_list.csv``: every customer on a list (all but the ``regular`` segment), with
  :data:`vipml.segments.SCORE_COLUMNS` then the status columns (``vip_since``, ``vip_until``,
  read back by the next fixed-mode run);
* ``vip_list.xlsx``: a summary sheet, one sheet per list (VIPs by tier, predicted VIPs,
  near-VIPs, at-risk VIPs, dormant high-potential), the VIP profile and the treatment rules,
  with readable headers, numbers as numbers in currency / percent / count formats, and a
  frozen header row with an autofilter on every sheet;
* in both, text a spreadsheet would read as a formula (a customer id ``=HYPERLINK(...)``)
  stays text (:mod:`vipml.data.cells`);
* ``report.html``: one file, plots embedded as data URIs (value concentration with the top
  10% / 1% shares against the rule of thumb, segment sizes, the VIP profile, and the backtest
  lift chart and calibration curve when given), tables, and a preview of each list.

Examples
--------
>>> import tempfile, pathlib
>>> scores = pd.DataFrame({
...     "customer_id": [1, 2, 3, 4], "spend_12m": [900.0, 400.0, 100.0, 0.0],
...     "profit_12m": [300.0, 120.0, 30.0, 0.0], "orders_12m": [5, 3, 1, 0],
...     "days_since_last": [3, 20, 90, 400], "p_alive": [0.9, 0.8, 0.6, 0.1],
...     "expected_purchases": [3.0, 1.5, 0.5, 0.0], "clv": [600.0, 200.0, 40.0, 0.0],
...     "clv_profit": [200.0, 60.0, 12.0, 0.0], "p_future_vip": [0.8, 0.6, 0.1, 0.0],
...     "p_churn": [0.7, 0.2, 0.5, 0.95], "reasons": ["big spender", "", "", ""]})
>>> paths = write_lists(scores, pathlib.Path(tempfile.mkdtemp()))
>>> sorted(p.name for p in paths.values())
['report.html', 'vip_list.csv', 'vip_list.xlsx']
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vipml.config import Config
from vipml.data.io import ROW_FORMATS, write_excel, write_table, write_text
from vipml.modeling.backtest import MODEL_NAME
from vipml.plots import figure_to_data_uri
from vipml.plots.value import (
    RULE_OF_THUMB,
    lorenz_figure,
    segment_sizes_figure,
    vip_profile_figure,
)
from vipml.segments import (
    LISTS,
    SCORE_COLUMNS,
    SEGMENT_LABELS,
    SEGMENTS,
    STATUS_COLUMNS,
    as_config,
    assign_segments,
    describe_vip_rule,
    marketer_lists,
    profile_attributes_used,
    segment_summary,
    treatment_rules_table,
    value_concentration,
    vip_profile,
    with_churn_reasons,
)

__all__ = [
    "HEADERS", "OUTPUT_FILES", "SIGNAL_NAMES", "write_lists", "report_html", "spreadsheet_sheets"
]

logger = logging.getLogger(__name__)

#: The files :func:`write_lists` writes, by key.
OUTPUT_FILES = {"csv": "vip_list.csv", "xlsx": "vip_list.xlsx", "html": "report.html"}

#: Readable column headers of the spreadsheet and the report.
HEADERS = {
    "customer_id": "Customer ID",
    "spend_12m": "Spend, last 12 months",
    "profit_12m": "Profit, last 12 months",
    "orders_12m": "Orders, last 12 months",
    "days_since_last": "Days since last purchase",
    "p_alive": "P(still active)",
    "expected_purchases": "Expected purchases",
    "clv": "Predicted value (CLV)",
    "clv_profit": "Predicted profit (CLV)",
    "p_future_vip": "P(future VIP)",
    "p_churn": "P(churn)",
    "vip_now": "VIP now",
    "tier": "Tier",
    "segment": "Segment",
    "gap_to_vip": "Still needed to reach VIP",
    "reasons": "Why this customer",
    "treatment": "Suggested treatment",
    "next_tier": "Next tier",
    "gap_to_next_tier": "Still needed for the next tier",
    "vip_since": "VIP since",
    "vip_until": "Status held until",
}
_MONEY = ("spend_12m", "profit_12m", "clv", "clv_profit", "gap_to_vip", "gap_to_next_tier")
_PERCENT = ("p_alive", "p_future_vip", "p_churn")
_DATES = ("vip_since", "vip_until")
_PROFILE_HEADERS = {
    "kind": "Kind",
    "attribute": "Attribute",
    "value": "Value",
    "statistic": "Statistic",
    "vip": "VIPs now",
    "predicted_vip": "Predicted VIPs",
    "everyone_else": "Everyone else",
    "vip_index": "VIP index (vs everyone else)",
    "predicted_vip_index": "Predicted-VIP index",
}
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SUMMARY_HEADERS = {
    "label": "Segment",
    "customers": "Customers",
    "share_of_customers": "Share of customers",
    "spend_12m": "Spend, last 12 months",
    "share_of_spend": "Share of spend",
    "clv": "Predicted value (CLV)",
    "share_of_clv": "Share of CLV",
    "mean_p_future_vip": "Mean P(future VIP)",
    "mean_p_churn": "Mean P(churn)",
}
_SUMMARY_SHEET = "Summary"
_PROFILE_SHEET = "VIP profile"
_RULES_SHEET = "Treatment rules"


def _excel_money(currency: str) -> str:
    symbol = currency.replace('"', "")
    return f'"{symbol}"#,##0.00' if symbol else "#,##0.00"


def _number_formats(currency: str) -> dict[str, str]:
    formats = {HEADERS[c]: _excel_money(currency) for c in _MONEY}
    formats.update({HEADERS[c]: "0.0%" for c in _PERCENT})
    formats.update({HEADERS[c]: "yyyy-mm-dd" for c in _DATES})
    formats[HEADERS["orders_12m"]] = "#,##0"
    formats[HEADERS["days_since_last"]] = "#,##0"
    formats[HEADERS["expected_purchases"]] = "0.00"
    formats[HEADERS["customer_id"]] = "General"
    for key in ("vip", "predicted_vip", "everyone_else"):  # per row: see _profile_sheet
        formats[_PROFILE_HEADERS[key]] = "#,##0.00"
    for key in ("vip_index", "predicted_vip_index"):
        formats[_PROFILE_HEADERS[key]] = _INDEX_FORMAT
    formats["Order"] = "0"
    return formats


#: Readable names of the value signals of :func:`vipml.segments.vip_profile`.
SIGNAL_NAMES = {
    **{c: HEADERS[c] for c in ("spend_12m", "profit_12m", "orders_12m", "days_since_last",
                               "clv", "clv_profit", "p_alive", "p_churn")},
    "customers": "Customers",
    "aov_mean": "Average order value",
    "full_price_share": "Share of spend at full price",
    "discount_share": "Share of spend on discount",
    "top_lines_share": "Share of spend in the most profitable lines",
    "n_products": "Different products bought",
    "return_rate_orders": "Share of orders with a return",
    "support_tickets": "Support tickets",
    "referrals": "Customers referred",
    "trend_3m": "Order rate, last 3 months vs last 12 months",
}
_MONEY_SIGNALS = ("spend_12m", "profit_12m", "aov_mean", "clv", "clv_profit")
_SHARE_SIGNALS = (
    "p_alive", "p_churn", "full_price_share", "discount_share", "top_lines_share",
    "return_rate_orders",
)
_RATE_SIGNALS = ("trend_3m",)
_COUNT_FORMAT = "#,##0"
_MEAN_COUNT_FORMAT = "#,##0.0"
_PERCENT_FORMAT = "0.0%"
_INDEX_FORMAT = "0.00"
_RATIO_FORMAT = '0.0"x"'


def _signal_name(signal: str) -> str:
    """A value signal's readable name.

    >>> _signal_name("spend_12m"), _signal_name("loyalty_points")
    ('Spend, last 12 months', 'Loyalty points')
    """
    return SIGNAL_NAMES.get(signal, signal.replace("_", " ").capitalize())


def _signal_format(signal: str, currency: str) -> str:
    """The number format of a value signal's group means."""
    if signal in _MONEY_SIGNALS:
        return _excel_money(currency)
    if signal in _SHARE_SIGNALS:
        return _PERCENT_FORMAT
    if signal in _RATE_SIGNALS:
        return _INDEX_FORMAT
    return _MEAN_COUNT_FORMAT


def _profile_sheet(profile: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The VIP profile sheet: counts as integers, shares as percentages, each signal's means
    in its own format (``attrs[ROW_FORMATS]``), signals by their readable names.

    >>> profile = pd.DataFrame({
    ...     "kind": ["count", "signal"], "attribute": ["customers", "spend_12m"],
    ...     "value": ["all", ""], "statistic": ["count", "mean"], "vip": [12.0, 950.5],
    ...     "predicted_vip": [3.0, 400.0], "everyone_else": [85.0, 80.0],
    ...     "vip_index": [float("nan"), 11.9], "predicted_vip_index": [float("nan"), 5.0]})
    >>> sheet = _profile_sheet(profile, "$")
    >>> sheet["VIPs now"].tolist(), sheet["Attribute"].tolist()
    ([12, 950.5], ['Customers', 'Spend, last 12 months'])
    >>> sheet.attrs[ROW_FORMATS]["VIPs now"]
    ['#,##0', '"$"#,##0.00']
    """
    groups = ["vip", "predicted_vip", "everyone_else"]
    out = profile.astype({g: object for g in groups})
    counts = (profile["statistic"] == "count").to_numpy()
    for g in groups:
        out.loc[counts, g] = [int(round(v)) for v in profile.loc[counts, g]]
    formats = [
        _COUNT_FORMAT if stat == "count"
        else _PERCENT_FORMAT if stat == "share"
        else _signal_format(str(attr), currency)
        for stat, attr in zip(profile["statistic"], profile["attribute"], strict=True)
    ]
    named = (profile["kind"] != "attribute").to_numpy()
    out.loc[named, "attribute"] = [_signal_name(str(a)) for a in profile.loc[named, "attribute"]]
    out = out.rename(columns=_PROFILE_HEADERS)
    out.attrs[ROW_FORMATS] = {_PROFILE_HEADERS[g]: formats for g in groups}
    return out


def _readable(table: pd.DataFrame) -> pd.DataFrame:
    """A list with readable headers and values (segment labels, yes / no)."""
    columns = [c for c in (*SCORE_COLUMNS, *STATUS_COLUMNS) if c in table.columns]
    out = table[columns].copy()
    if "segment" in out:
        out["segment"] = out["segment"].map(SEGMENT_LABELS).fillna(out["segment"])
    if "vip_now" in out:
        out["vip_now"] = np.where(out["vip_now"].to_numpy(dtype=bool), "yes", "no")
    for col in _DATES:
        if col in out:
            out[col] = pd.to_datetime(out[col]).dt.date.astype(object).where(out[col].notna())
    return out.rename(columns=HEADERS)


def _ensure_segments(
    scores: pd.DataFrame, config: Config | Mapping[str, Any] | None
) -> pd.DataFrame:
    if all(c in scores.columns for c in ("vip_now", "tier", "segment", "gap_to_vip", "treatment")):
        return scores
    return assign_segments(scores, config)


def _summary(
    scores: pd.DataFrame, cfg: Config, concentration: Mapping[str, float]
) -> pd.DataFrame:
    """The summary sheet: the rules in force and the headline numbers.

    Values are what they are: counts integers, amounts and shares numbers, the date a date,
    rules text; each row's number format is in ``attrs[ROW_FORMATS]``.

    >>> scores = pd.DataFrame({"segment": ["vip", "regular", "regular"]})
    >>> scores.attrs.update(as_of="2024-12-31", vip_threshold=400.0, vip_rule="VIP = ...")
    >>> concentration = {"top10_share": 0.5, "top1_share": 0.2,
    ...                  "top10_order_value_ratio": 3.1, "top1_order_value_ratio": 5.4}
    >>> table = _summary(scores, as_config(None), concentration)
    >>> formats = table.attrs[ROW_FORMATS]["Value"]
    >>> for item, value, fmt in list(zip(table["Item"], table["Value"], formats))[:4]:
    ...     print(f"{item}: {value!r} {fmt}")
    Scores as of: datetime.date(2024, 12, 31) yyyy-mm-dd
    Customers scored: 3 #,##0
    VIP rule: 'VIP = ...' None
    VIP threshold at this run: 400.0 "$"#,##0.00
    """
    money = _excel_money(cfg.vip.currency)
    threshold = scores.attrs.get("vip_threshold")
    rows: list[tuple[str, Any, str | None]] = [
        ("Scores as of", *_summary_date(scores.attrs.get("as_of"))),
        ("Customers scored", len(scores), _COUNT_FORMAT),
        ("VIP rule", str(scores.attrs.get("vip_rule") or describe_vip_rule(cfg, threshold)), None),
    ]
    if threshold is not None:
        rows.append(("VIP threshold at this run", float(threshold), money))
    for name, bound in (scores.attrs.get("tier_bounds") or {}).items():
        rows.append((f"Tier {name} from", float(bound), money))
    for seg in SEGMENTS:
        count = int((scores["segment"] == seg).sum())
        rows.append((f"{SEGMENT_LABELS[seg]} customers", count, _COUNT_FORMAT))
    value_col = scores.attrs.get("value_column", "spend_12m")
    if value_col in scores and "vip_now" in scores:
        rows.append((
            "VIPs (at-risk and lapsed included): share of 12-month spend",
            _vip_share(scores, value_col),
            _PERCENT_FORMAT,
        ))
    for top in ("10", "1"):
        rows.append((
            f"Top {top}% of the customers who spent: share of 12-month spend",
            float(concentration[f"top{top}_share"]),
            _PERCENT_FORMAT,
        ))
    for top, thumb in (("10", RULE_OF_THUMB["top10"]), ("1", RULE_OF_THUMB["top1"])):
        rows.append((
            f"Top {top}%: spend per order vs the rest (rule of thumb ~{thumb:g}x)",
            float(concentration[f"top{top}_order_value_ratio"]),
            _RATIO_FORMAT,
        ))
    table = pd.DataFrame(
        {"Item": [r[0] for r in rows], "Value": pd.Series([r[1] for r in rows], dtype=object)}
    )
    table.attrs[ROW_FORMATS] = {"Value": [r[2] for r in rows]}
    return table


def _summary_date(value: Any) -> tuple[Any, str | None]:
    """The "Scores as of" value and format: a date when it reads as one, else the text.

    >>> _summary_date("2024-12-31"), _summary_date(None)
    ((datetime.date(2024, 12, 31), 'yyyy-mm-dd'), ('not given', None))
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return "not given", None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return str(value), None
    return ("not given", None) if pd.isna(stamp) else (stamp.date(), "yyyy-mm-dd")


def spreadsheet_sheets(
    scores: pd.DataFrame,
    config: Config | Mapping[str, Any] | None = None,
    attributes: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The sheets of ``vip_list.xlsx``, by name, with readable headers.

    Examples
    --------
    >>> scores = pd.DataFrame({
    ...     "customer_id": [1, 2], "spend_12m": [900.0, 10.0], "profit_12m": [300.0, 3.0],
    ...     "orders_12m": [5, 1], "days_since_last": [3, 200], "p_alive": [0.9, 0.3],
    ...     "expected_purchases": [3.0, 0.1], "clv": [600.0, 2.0], "clv_profit": [200.0, 0.6],
    ...     "p_future_vip": [0.8, 0.0], "p_churn": [0.2, 0.9], "reasons": ["", ""]})
    >>> list(spreadsheet_sheets(scores))  # doctest: +NORMALIZE_WHITESPACE
    ['Summary', 'VIPs by tier', 'Predicted VIPs', 'Near-VIPs', 'At-risk VIPs', 'Lapsed VIPs',
     'Dormant high-potential', 'VIP profile', 'Treatment rules']
    """
    cfg = as_config(config)
    scores = _ensure_segments(scores, cfg)
    lists = marketer_lists(scores, cfg)
    profile = _signals_present(vip_profile(scores, attributes))
    sheets = {_SUMMARY_SHEET: _summary(scores, cfg, value_concentration(scores))}
    for key, name in LISTS.items():
        sheets[name] = _readable(lists[key])
    sheets[_PROFILE_SHEET] = _profile_sheet(profile, cfg.vip.currency)
    rules = treatment_rules_table(cfg, scores)
    rules["segment"] = rules["segment"].map({**SEGMENT_LABELS, "any": "Any"})
    rules["offers_discount"] = np.where(rules["offers_discount"].to_numpy(bool), "yes", "no")
    sheets[_RULES_SHEET] = rules.rename(
        columns={
            "order": "Order",
            "segment": "Segment",
            "when": "When",
            "treatment": "Treatment",
            "offers_discount": "Offers a discount",
            "customers": "Customers",
            "example": "Example text",
        }
    )
    return sheets


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2733;line-height:1.45;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #dde4ee;padding-bottom:.2rem;margin-top:2.2rem}
.muted{color:#5b6774}.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{background:#f4f6f9;border-radius:8px;padding:.7rem 1rem;min-width:150px}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.86rem}
th,td{border-bottom:1px solid #e3e8ef;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#dde4ee}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;margin:.5rem 0}figure{margin:1rem 0}
figcaption{color:#5b6774;font-size:.85rem}
"""


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
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}", True
    return str(value), False


def _html_table(
    table: pd.DataFrame,
    currency: str = "$",
    kinds: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    kinds = dict(kinds or {})
    for col in table.columns:
        kinds.setdefault(
            col,
            "id" if col == "customer_id"
            else "money" if col in _MONEY else "percent" if col in _PERCENT else "",
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


def _profile_display(profile: pd.DataFrame) -> pd.DataFrame:
    """The profile with shares as percentages, counts as integers, means and indexes rounded."""
    out = profile.astype({c: object for c in profile.columns if c not in ("kind", "attribute")})
    groups = ["vip", "predicted_vip", "everyone_else"]
    for i, row in profile.iterrows():
        for g in groups:
            v = row[g]
            if row["statistic"] == "share":
                out.at[i, g] = f"{v:.1%}"
            elif row["statistic"] == "count":
                out.at[i, g] = f"{int(v):,}"
            else:
                out.at[i, g] = f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        for g in ("vip_index", "predicted_vip_index"):
            v = row[g]
            out.at[i, g] = "" if not np.isfinite(v) else f"{v:.2f}\u00d7"
    return out.drop(columns="kind")


def _img(fig: Figure, caption: str) -> str:
    return _img_uri(figure_to_data_uri(fig), caption)


def _img_uri(uri: str, caption: str) -> str:
    alt = html.escape(caption, quote=True)
    caption_html = f"<figcaption>{html.escape(caption)}</figcaption>"
    return f'<figure><img src="{uri}" alt="{alt}">{caption_html}</figure>'


_TARGET_LABELS = {"future_vip": "future VIP", "churn": "churn"}
_BASELINE_LABELS = {
    "spend_12m": "rule: 12-month spend",
    "btyd_expected_value": "BTYD expected value",
    "days_since_last": "rule: days since last purchase",
    "btyd_1_minus_p_alive": "BTYD 1 - P(alive)",
    "btyd_p_no_purchase": "BTYD P(no purchase)",
}
_BACKTEST_METRICS = {
    "roc_auc": "ROC AUC",
    "average_precision": "average precision",
    "precision_top_decile": "precision, top 10%",
    "lift_top_decile": "lift, top 10%",
}


def _backtest_section(backtest: Mapping[str, Any] | Figure | pd.DataFrame, currency: str) -> str:
    """Figures (lift chart, calibration curve, ...), tables and metrics of a backtest."""
    if isinstance(backtest, Figure | pd.DataFrame):
        backtest = {"backtest": backtest}
    parts: list[str] = []
    metrics: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            metrics.append((prefix, value))

    for name, item in backtest.items():
        label = str(name).replace("_", " ")
        if isinstance(item, Mapping) and {"metrics", "beats_baselines"} <= set(item):
            parts.insert(0, _backtest_summary(item, currency))
        elif isinstance(item, Figure):
            parts.append(_img(item, label))
        elif isinstance(item, bytes) and item.startswith(_PNG_MAGIC):
            uri = "data:image/png;base64," + base64.b64encode(item).decode("ascii")
            parts.append(_img_uri(uri, label))
        elif isinstance(item, pd.DataFrame):
            parts.append(f"<h3>{html.escape(label)}</h3>" + _html_table(item, currency))
        else:
            walk(str(name), item)
    if metrics:
        table = pd.DataFrame(metrics, columns=["metric", "value"])
        table["value"] = [v if isinstance(v, int | float) else str(v) for v in table["value"]]
        parts.append("<h3>metrics</h3>" + _html_table(table, currency))
    return "".join(parts)


def _signals_present(profile: pd.DataFrame) -> pd.DataFrame:
    """The profile without the value signals the data do not have (zero or missing for
    everyone, e.g. the full-price share of a log without list prices)."""
    groups = [g for g in ("vip", "predicted_vip", "everyone_else") if g in profile]
    values = profile[groups].apply(pd.to_numeric, errors="coerce").fillna(0.0)
    empty = (profile["kind"] == "signal").to_numpy() & (values == 0).all(axis=1).to_numpy()
    return profile.loc[~empty].reset_index(drop=True)


def _readable_signals(profile: pd.DataFrame) -> pd.DataFrame:
    """The profile with the value signals under their readable names (:data:`SIGNAL_NAMES`)."""
    out = profile.copy()
    signal = (out["kind"] == "signal").to_numpy()
    out.loc[signal, "attribute"] = [_signal_name(a) for a in out.loc[signal, "attribute"]]
    return out


def _vip_share(scores: pd.DataFrame, value_col: str) -> float:
    """The VIPs' (at-risk and lapsed ones included) share of the total value: the sum of the
    VIP rows' shares in the segments table."""
    value = scores[value_col].to_numpy(dtype=np.float64)
    total = value[value > 0].sum()
    vip = scores["vip_now"].to_numpy(dtype=bool)
    return float(value[vip & (value > 0)].sum() / total) if total > 0 else 0.0


def _predicted_vip_rule(scores: pd.DataFrame, cfg: Config) -> str:
    """The predicted-VIP rule in force, with its figures at this run."""
    seg = cfg.segments
    text = (
        f"Predicted VIPs: the top {seg.predicted_vip_top_pct:.0%} of non-VIPs by P(future "
        f"VIP), each at least {seg.predicted_vip_min_lift:g}× the non-VIPs' mean"
    )
    base, bar = scores.attrs.get("predicted_vip_base_rate"), scores.attrs.get(
        "predicted_vip_min_p"
    )
    if base is not None and bar is not None and np.isfinite(base) and np.isfinite(bar):
        text += f" ({base:.1%}): P(future VIP) at least {bar:.1%} at this run"
    return text + "."


def _backtest_summary(summary: Mapping[str, Any], currency: str) -> str:
    """A backtest's :meth:`~vipml.modeling.backtest.BacktestResult.to_dict` as a small table
    (the model against each baseline) and the predicted-VIP list's check."""
    rows = []
    for target, entry in summary["metrics"].items():
        scored = [(MODEL_NAME, entry), *(entry.get("baselines") or {}).items()]
        for name, values in scored:
            rows.append({
                "target": _TARGET_LABELS.get(target, target),
                "score": "vipml model" if name == MODEL_NAME else _BASELINE_LABELS.get(
                    name, name.replace("_", " ")),
                **{label: values.get(key) for key, label in _BACKTEST_METRICS.items()},
            })
    table = pd.DataFrame(rows)
    kinds = {label: "ratio" if key == "lift_top_decile" else "percent" if key ==
             "precision_top_decile" else "" for key, label in _BACKTEST_METRICS.items()}
    out = [
        f"<p>Trained with the data up to {html.escape(str(summary.get('cutoff')))}, judged on "
        f"the {html.escape(str(summary.get('horizon')))} after it.</p>",
        _html_table(table, currency, kinds=kinds),
    ]
    check = (summary.get("info") or {}).get("predicted_vip_list")
    if check and check.get("customers"):
        out.append(
            "<p>"
            + html.escape(
                f"The predicted-VIP list at that cutoff held {int(check['customers']):,} of "
                f"{int(check['non_vips']):,} non-VIPs: {check['precision']:.1%} of them became "
                f"VIPs, against {check['spend_12m_precision']:.1%} of as many non-VIPs with the "
                f"highest 12-month spend and {check['base_rate']:.1%} of all non-VIPs."
            )
            + "</p>"
        )
    return "".join(out)


def _profile_lead(profile: pd.DataFrame) -> str:
    """'shares by country and first category, and ' for the attributes the profile compares."""
    names = [html.escape(a.replace("_", " ")) for a in profile_attributes_used(profile)]
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"shares by {listed}, and "


def report_html(
    scores: pd.DataFrame,
    config: Config | Mapping[str, Any] | None = None,
    backtest: Mapping[str, Any] | Figure | pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
    preview_rows: int = 15,
) -> str:
    """The report as one self-contained HTML page (images as data URIs, CSS inline).

    ``backtest`` maps names to matplotlib Figures (the lift chart and calibration curve of
    :mod:`vipml.plots.classifier`) or PNG bytes, DataFrames (shown as tables) or metrics
    (nested mappings of numbers, shown as one table).
    """
    cfg = as_config(config)
    scores = _ensure_segments(scores, cfg)
    cur = cfg.vip.currency
    value_col = scores.attrs.get("value_column", "spend_12m")
    orders_col = "orders_12m"
    conc = value_concentration(scores, value=value_col, orders=orders_col)
    lists = marketer_lists(scores, cfg)
    profile = _readable_signals(_signals_present(vip_profile(scores, attributes)))
    summary = segment_summary(scores)
    as_of = scores.attrs.get("as_of")
    rule = scores.attrs.get("vip_rule") or describe_vip_rule(cfg, scores.attrs.get("vip_threshold"))
    esc = html.escape

    vip_share = _vip_share(scores, value_col)
    cards = [("Customers scored", f"{len(scores):,}")]
    cards += [
        (LISTS[key], f"{len(lists[key]):,}")
        for key in ("vips_by_tier", "at_risk_vips", "lapsed_vips", "predicted_vips",
                    "near_vips", "dormant_high_potential")
    ]
    cards.append(("VIPs' share of 12-month spend", f"{vip_share:.0%}"))
    card_html = "".join(f'<div class="card">{esc(k)}<b>{esc(v)}</b></div>' for k, v in cards)

    rule_rows = pd.DataFrame(
        {
            "group": ["top 10%", "top 1%"],
            "customers": [int(conc["top10_customers"]), int(conc["top1_customers"])],
            "share of spend": [conc["top10_share"], conc["top1_share"]],
            "spend per customer vs the rest": [
                conc["top10_value_ratio"], conc["top1_value_ratio"],
            ],
            "spend per order vs the rest": [
                conc["top10_order_value_ratio"], conc["top1_order_value_ratio"],
            ],
            "rule of thumb (per order)": [RULE_OF_THUMB["top10"], RULE_OF_THUMB["top1"]],
        }
    )
    tiers = scores.attrs.get("tier_bounds") or {}
    tier_rows = pd.DataFrame(
        {
            "tier": list(tiers),
            "from": list(tiers.values()),
            "VIPs": [int((scores["tier"] == t).sum()) for t in tiers],
        }
    )
    treatments = treatment_rules_table(cfg, scores)
    treatments = treatments.loc[treatments["customers"] > 0]
    treatments["segment"] = treatments["segment"].map({**SEGMENT_LABELS, "any": "Any segment"})
    treatments = treatments[["order", "segment", "when", "customers", "example"]]
    preview_cols = [
        "customer_id", "tier", value_col, "clv", "p_future_vip", "p_churn", "gap_to_vip",
        "reasons", "treatment",
    ]

    sections = [
        f"<h1>VIP report</h1><p class='muted'>Scores as of {esc(str(as_of or 'date not given'))}"
        f" &middot; {len(scores):,} customers &middot; {esc(rule)}</p>",
        f'<div class="cards">{card_html}</div>',
        "<h2>Value concentration</h2>"
        f"<p>Among the {int(conc['customers']):,} customers who spent in the last 12 months: "
        "how much of that spend the most valuable bring, against the field's rule of thumb "
        "(the top 10% spend about 3&times; more per order than the rest, the top 1% about "
        f"5&times;). VIPs, by the VIP rule, hold {_vip_share(scores, value_col):.1%} of it "
        "(the segments table below).</p>",
        _img(lorenz_figure(scores, value=value_col, orders=orders_col, currency=cur),
             "Lorenz curve with the top 10% and top 1% shares"),
        _html_table(
            rule_rows, cur,
            kinds={
                "share of spend": "percent",
                "spend per customer vs the rest": "ratio",
                "spend per order vs the rest": "ratio",
                "rule of thumb (per order)": "ratio",
            },
        ),
        "<h2>Segments</h2><p>One segment per customer, first match wins: "
        + esc(", ".join(SEGMENT_LABELS[s] for s in SEGMENTS)) + ".</p>",
        _img(segment_sizes_figure(scores), "Segment sizes and their share of value"),
        _html_table(
            summary.drop(columns="segment"), cur, headers=_SUMMARY_HEADERS,
            kinds={
                "share_of_customers": "percent", "share_of_spend": "percent",
                "share_of_clv": "percent", "mean_p_future_vip": "percent",
                "mean_p_churn": "percent", "clv": "money",
            },
        ),
        "<p>" + esc(_predicted_vip_rule(scores, cfg)) + "</p>",
        "<h3>Tiers</h3>" + _html_table(tier_rows, cur, kinds={"from": "money"}),
        "<h2>VIP profile</h2><p>Who the VIPs and predicted VIPs are, against everyone else: "
        + _profile_lead(profile)
        + "the means of the value signals. An index above 1 means over-represented (or more "
        "of it).</p>",
        _img(vip_profile_figure(profile), "VIP profile"),
        _html_table(_profile_display(profile), cur, headers=_PROFILE_HEADERS),
        "<h2>Treatments</h2><p>The first configured rule that matches a customer gives the "
        "suggested treatment; a rule that offers a discount never applies to a full-price "
        "buyer. One row per rule that matched someone, with one customer's text as the "
        "example (all rules are in vip_list.xlsx).</p>",
        _html_table(treatments, cur, headers={"order": "rule", "example": "example text"}),
    ]
    if backtest is not None:
        sections.append(
            "<h2>Backtest</h2><p>Out-of-time evaluation: the model trained before a past cutoff "
            "and judged on what happened after it.</p>" + _backtest_section(backtest, cur)
        )
    for key, name in LISTS.items():
        table = lists[key]
        cols = [c for c in preview_cols if c in table.columns]
        sections.append(
            f"<h2>{esc(name)}</h2><p class='muted'>{len(table):,} customers; the first "
            f"{min(preview_rows, len(table))} shown (all of them are in vip_list.xlsx).</p>"
            + _html_table(table[cols].head(preview_rows), cur, headers=HEADERS)
        )
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>VIP report {esc(str(as_of or ''))}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


# --------------------------------------------------------------------------- files


_CSV_DECIMALS = {
    **{c: 2 for c in _MONEY}, **{c: 4 for c in _PERCENT}, "expected_purchases": 3,
}


def _csv_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Every listed customer; at-risk and lapsed VIPs with their churn reasons."""
    listed = scores[scores["segment"] != "regular"]
    columns = [c for c in (*SCORE_COLUMNS, *STATUS_COLUMNS) if c in listed.columns]
    out = with_churn_reasons(listed)[columns].copy()
    for col, decimals in _CSV_DECIMALS.items():  # amounts to the cent, no float noise
        if col in out:
            out[col] = out[col].astype(np.float64).round(decimals)
    for col in _DATES:
        if col in out:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d").fillna("")
    return out.reset_index(drop=True)


def write_lists(
    scores: pd.DataFrame,
    out_dir: str | Path,
    config: Config | Mapping[str, Any] | None = None,
    backtest: Mapping[str, Any] | Figure | pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write ``vip_list.csv``, ``vip_list.xlsx`` and ``report.html`` into ``out_dir``.

    Parameters
    ----------
    scores
        The scores table. When it already carries ``vip_now``, ``tier``, ``segment``,
        ``gap_to_vip`` and ``treatment`` those are used as they are (the scorer may have applied
        a previous run's fixed-term statuses); otherwise they are assigned here with ``config``.
    out_dir
        Folder for the three files (created if needed). Each file is written atomically.
    config
        The rules (and the currency, tier order); default :class:`vipml.config.Config`.
    backtest
        Optional: Figures (lift chart, calibration curve), tables or metrics to show.
    attributes
        Optional customer attributes (``customer_id``, ``acquisition_channel``, ``region``,
        ``first_category``, ...) for the VIP profile.

    Returns
    -------
    dict
        ``{"csv": path, "xlsx": path, "html": path}``.
    """
    cfg = as_config(config)
    scores = _ensure_segments(scores, cfg)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": write_table(_csv_table(scores), out_dir / OUTPUT_FILES["csv"]),
        "xlsx": write_excel(
            spreadsheet_sheets(scores, cfg, attributes),
            out_dir / OUTPUT_FILES["xlsx"],
            number_formats=_number_formats(cfg.vip.currency),
        ),
        "html": write_text(
            report_html(scores, cfg, backtest, attributes), out_dir / OUTPUT_FILES["html"]
        ),
    }
    logger.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths
