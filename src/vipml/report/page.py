"""The report as one self-contained HTML page: :func:`report_html`.

Plots are embedded as data URIs (value concentration with the top 10% / 1% shares against the
rule of thumb, segment sizes, the VIP profile, and the backtest lift chart and calibration
curve when given), with tables and a preview of each list.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vipml.config import Config
from vipml.modeling.backtest import MODEL_NAME
from vipml.plots.value import (
    RULE_OF_THUMB,
    lorenz_figure,
    segment_sizes_figure,
    vip_profile_figure,
)
from vipml.report.content import ensure_segments, signals_present, vip_share
from vipml.report.html_blocks import figure_html, html_table, image_html
from vipml.report.names import HEADERS, PROFILE_HEADERS, signal_name
from vipml.segments import (
    LISTS,
    SEGMENT_LABELS,
    SEGMENTS,
    as_config,
    describe_vip_rule,
    marketer_lists,
    profile_attributes_used,
    segment_summary,
    treatment_rules_table,
    value_concentration,
    vip_profile,
)

__all__ = ["report_html"]

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


_TARGET_LABELS = {"future_vip": "future VIP", "churn": "churn"}
_BASELINE_LABELS = {
    "spend_12m": "rule: 12-month spend",
    "btyd_expected_value": "BTYD expected value",
    "days_since_last": "rule: days since last purchase",
    "btyd_1_minus_p_alive": "BTYD 1 - P(alive)",
    "btyd_p_no_purchase": "BTYD P(no purchase)",
    "rank_average": "rank-average of two rules",
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
            parts.append(figure_html(item, label))
        elif isinstance(item, bytes) and item.startswith(_PNG_MAGIC):
            uri = "data:image/png;base64," + base64.b64encode(item).decode("ascii")
            parts.append(image_html(uri, label))
        elif isinstance(item, pd.DataFrame):
            parts.append(f"<h3>{html.escape(label)}</h3>" + html_table(item, currency))
        else:
            walk(str(name), item)
    if metrics:
        table = pd.DataFrame(metrics, columns=["metric", "value"])
        table["value"] = [v if isinstance(v, int | float) else str(v) for v in table["value"]]
        parts.append("<h3>metrics</h3>" + html_table(table, currency))
    return "".join(parts)


def _readable_signals(profile: pd.DataFrame) -> pd.DataFrame:
    """The profile with the value signals under their readable names (:data:`SIGNAL_NAMES`)."""
    out = profile.copy()
    signal = (out["kind"] == "signal").to_numpy()
    out.loc[signal, "attribute"] = [signal_name(a) for a in out.loc[signal, "attribute"]]
    return out


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
        html_table(table, currency, kinds=kinds),
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

    Parameters
    ----------
    scores
        The scores table, segmented or not (:func:`~vipml.report.content.ensure_segments`).
    config
        The rules (and the currency); default :class:`vipml.config.Config`.
    backtest
        Optional: names to matplotlib Figures (the lift chart and calibration curve of
        :mod:`vipml.plots.classifier`) or PNG bytes, DataFrames (shown as tables), a
        :meth:`~vipml.modeling.backtest.BacktestResult.to_dict` summary, or metrics (nested
        mappings of numbers, shown as one table).
    attributes
        Optional customer attributes for the VIP profile.
    preview_rows
        Rows shown of each list.

    Returns
    -------
    str
        The HTML page.

    Examples
    --------
    >>> scores = pd.DataFrame({
    ...     "customer_id": [1, 2, 3], "spend_12m": [900.0, 400.0, 0.0],
    ...     "profit_12m": [300.0, 120.0, 0.0], "orders_12m": [5, 3, 0],
    ...     "days_since_last": [3, 20, 400], "p_alive": [0.9, 0.8, 0.1],
    ...     "expected_purchases": [3.0, 1.5, 0.0], "clv": [600.0, 200.0, 0.0],
    ...     "clv_profit": [200.0, 60.0, 0.0], "p_future_vip": [0.8, 0.6, 0.0],
    ...     "p_churn": [0.7, 0.2, 0.95], "reasons": ["", "", ""]})
    >>> page = report_html(scores, {"vip": {"currency": "€"}}, preview_rows=2)
    >>> page.startswith("<!DOCTYPE html>"), "<h2>Value concentration</h2>" in page
    (True, True)
    """
    cfg = as_config(config)
    scores = ensure_segments(scores, cfg)
    cur = cfg.vip.currency
    value_col = scores.attrs.get("value_column", "spend_12m")
    orders_col = "orders_12m"
    conc = value_concentration(scores, value=value_col, orders=orders_col)
    lists = marketer_lists(scores, cfg)
    profile = _readable_signals(signals_present(vip_profile(scores, attributes)))
    summary = segment_summary(scores)
    as_of = scores.attrs.get("as_of")
    rule = scores.attrs.get("vip_rule") or describe_vip_rule(cfg, scores.attrs.get("vip_threshold"))
    esc = html.escape

    vips_share = vip_share(scores, value_col)
    cards = [("Customers scored", f"{len(scores):,}")]
    cards += [
        (LISTS[key], f"{len(lists[key]):,}")
        for key in ("vips_by_tier", "at_risk_vips", "lapsed_vips", "predicted_vips",
                    "near_vips", "dormant_high_potential")
    ]
    cards.append(("VIPs' share of 12-month spend", f"{vips_share:.0%}"))
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
        f"5&times;). VIPs, by the VIP rule, hold {vips_share:.1%} of it "
        "(the segments table below).</p>",
        figure_html(lorenz_figure(scores, value=value_col, orders=orders_col, currency=cur),
             "Lorenz curve with the top 10% and top 1% shares"),
        html_table(
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
        figure_html(segment_sizes_figure(scores), "Segment sizes and their share of value"),
        html_table(
            summary.drop(columns="segment"), cur, headers=_SUMMARY_HEADERS,
            kinds={
                "share_of_customers": "percent", "share_of_spend": "percent",
                "share_of_clv": "percent", "mean_p_future_vip": "percent",
                "mean_p_churn": "percent", "clv": "money",
            },
        ),
        "<p>" + esc(_predicted_vip_rule(scores, cfg)) + "</p>",
        "<h3>Tiers</h3>" + html_table(tier_rows, cur, kinds={"from": "money"}),
        "<h2>VIP profile</h2><p>Who the VIPs and predicted VIPs are, against everyone else: "
        + _profile_lead(profile)
        + "the means of the value signals. An index above 1 means over-represented (or more "
        "of it).</p>",
        figure_html(vip_profile_figure(profile), "VIP profile"),
        html_table(_profile_display(profile), cur, headers=PROFILE_HEADERS),
        "<h2>Treatments</h2><p>The first configured rule that matches a customer gives the "
        "suggested treatment; a rule that offers a discount never applies to a full-price "
        "buyer. One row per rule that matched someone, with one customer's text as the "
        "example (all rules are in vip_list.xlsx).</p>",
        html_table(treatments, cur, headers={"order": "rule", "example": "example text"}),
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
            + html_table(table[cols].head(preview_rows), cur, headers=HEADERS)
        )
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>VIP report {esc(str(as_of or ''))}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
