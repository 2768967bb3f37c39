"""The sheets of ``vip_list.xlsx``: a summary, one sheet per list, the VIP profile and the
treatment rules, with readable headers and each column's (or row's) number format.

Examples
--------
>>> number_formats("€")["P(churn)"], number_formats("€")["Predicted value (CLV)"]
('0.0%', '"€"#,##0.00')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from vipml.config import Config
from vipml.data.io import ROW_FORMATS
from vipml.plots.value import RULE_OF_THUMB
from vipml.report.content import ensure_segments, signals_present, vip_share
from vipml.report.names import (
    DATE_COLUMNS,
    HEADERS,
    MONEY_COLUMNS,
    PERCENT_COLUMNS,
    PROFILE_HEADERS,
    signal_name,
)
from vipml.segments import (
    LISTS,
    SCORE_COLUMNS,
    SEGMENT_LABELS,
    SEGMENTS,
    STATUS_COLUMNS,
    as_config,
    describe_vip_rule,
    marketer_lists,
    treatment_rules_table,
    value_concentration,
    vip_profile,
)

__all__ = ["spreadsheet_sheets", "number_formats"]

_SUMMARY_SHEET = "Summary"
_PROFILE_SHEET = "VIP profile"
_RULES_SHEET = "Treatment rules"


def _excel_money(currency: str) -> str:
    symbol = currency.replace('"', "")
    return f'"{symbol}"#,##0.00' if symbol else "#,##0.00"


def number_formats(currency: str) -> dict[str, str]:
    """Excel number formats of the spreadsheet's columns, by readable header.

    Parameters
    ----------
    currency
        Currency symbol of the amounts.

    Returns
    -------
    dict of str to str
        Header to Excel format (amounts, shares, dates, counts, the profile's means and
        indexes).

    Examples
    --------
    >>> formats = number_formats("$")
    >>> formats["Spend, last 12 months"], formats["VIP since"], formats["Customer ID"]
    ('"$"#,##0.00', 'yyyy-mm-dd', 'General')
    """
    formats = {HEADERS[c]: _excel_money(currency) for c in MONEY_COLUMNS}
    formats.update({HEADERS[c]: "0.0%" for c in PERCENT_COLUMNS})
    formats.update({HEADERS[c]: "yyyy-mm-dd" for c in DATE_COLUMNS})
    formats[HEADERS["orders_12m"]] = "#,##0"
    formats[HEADERS["days_since_last"]] = "#,##0"
    formats[HEADERS["expected_purchases"]] = "0.00"
    formats[HEADERS["customer_id"]] = "General"
    for key in ("vip", "predicted_vip", "everyone_else"):  # per row: see _profile_sheet
        formats[PROFILE_HEADERS[key]] = "#,##0.00"
    for key in ("vip_index", "predicted_vip_index"):
        formats[PROFILE_HEADERS[key]] = _INDEX_FORMAT
    formats["Order"] = "0"
    return formats


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
    out.loc[named, "attribute"] = [signal_name(str(a)) for a in profile.loc[named, "attribute"]]
    out = out.rename(columns=PROFILE_HEADERS)
    out.attrs[ROW_FORMATS] = {PROFILE_HEADERS[g]: formats for g in groups}
    return out


def _readable(table: pd.DataFrame) -> pd.DataFrame:
    """A list with readable headers and values (segment labels, yes / no)."""
    columns = [c for c in (*SCORE_COLUMNS, *STATUS_COLUMNS) if c in table.columns]
    out = table[columns].copy()
    if "segment" in out:
        out["segment"] = out["segment"].map(SEGMENT_LABELS).fillna(out["segment"])
    if "vip_now" in out:
        out["vip_now"] = np.where(out["vip_now"].to_numpy(dtype=bool), "yes", "no")
    for col in DATE_COLUMNS:
        if col in out:
            out[col] = pd.to_datetime(out[col]).dt.date.astype(object).where(out[col].notna())
    return out.rename(columns=HEADERS)


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
            vip_share(scores, value_col),
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

    Parameters
    ----------
    scores
        The scores table, segmented or not (:func:`~vipml.report.content.ensure_segments`).
    config
        The rules (and the currency); default :class:`vipml.config.Config`.
    attributes
        Optional customer attributes for the VIP profile.

    Returns
    -------
    dict of str to pandas.DataFrame
        The summary, one sheet per list, the VIP profile and the treatment rules; row number
        formats in ``attrs[ROW_FORMATS]`` where a sheet mixes them.

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
    scores = ensure_segments(scores, cfg)
    lists = marketer_lists(scores, cfg)
    profile = signals_present(vip_profile(scores, attributes))
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
