"""The marketer lists (one per segment worth acting on), the segment summary and the value
concentration."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from vipml.config import Config
from vipml.segments.status import value_columns
from vipml.segments.vocabulary import (
    CHURN_SEGMENTS,
    SCORE_COLUMNS,
    SEGMENT_LABELS,
    SEGMENTS,
    STATUS_COLUMNS,
    as_config,
    require_segments,
)

logger = logging.getLogger(__name__)


def marketer_lists(
    scores: pd.DataFrame, config: Config | Mapping[str, Any] | None = None
) -> dict[str, pd.DataFrame]:
    """The lists a marketer acts on, keyed as :data:`LISTS`.

    ``vips_by_tier``: every VIP now (at-risk and lapsed ones included), top tier first, then by
    value; ``predicted_vips``: by ``p_future_vip``; ``near_vips``: smallest gap first;
    ``at_risk_vips``: by value at stake (``clv``); ``lapsed_vips``: by 12-month value;
    ``dormant_high_potential``: by ``clv``. Each list has the :data:`SCORE_COLUMNS` first.
    On the at-risk and lapsed lists ``reasons`` gives the churn reasons (``churn_reasons``,
    where the scores have them): why the customer may be lost, not why they may grow.

    Parameters
    ----------
    scores
        The output of :func:`assign_segments`.
    config
        A :class:`Config`, plain nested settings, or ``None`` for the defaults.

    Returns
    -------
    dict of str to pandas.DataFrame
        One table per list name of :data:`LISTS`.

    Examples
    --------
    >>> from vipml.segments import assign_segments
    >>> scores = assign_segments(pd.DataFrame({
    ...     "customer_id": [1, 2, 3], "spend_12m": [900.0, 100.0, 10.0],
    ...     "profit_12m": [300.0, 30.0, 3.0], "orders_12m": [5, 2, 1],
    ...     "days_since_last": [3, 40, 300], "p_alive": [0.9, 0.8, 0.3],
    ...     "expected_purchases": [3.0, 1.0, 0.1], "clv": [600.0, 60.0, 2.0],
    ...     "clv_profit": [200.0, 20.0, 0.6], "p_future_vip": [0.8, 0.6, 0.0],
    ...     "p_churn": [0.7, 0.2, 0.9], "reasons": ["", "", ""]}))
    >>> {name: table["customer_id"].tolist() for name, table in marketer_lists(scores).items()}
    {'vips_by_tier': [1], 'predicted_vips': [2], 'near_vips': [], 'at_risk_vips': [1], \
'lapsed_vips': [], 'dormant_high_potential': []}
    """
    require_segments(scores)
    cfg = as_config(config)
    value_col, clv_col = value_columns(cfg.vip)
    value_col = scores.attrs.get("value_column", value_col)
    clv_col = scores.attrs.get("clv_column", clv_col)
    columns = [c for c in (*SCORE_COLUMNS, *STATUS_COLUMNS) if c in scores.columns]
    columns += [c for c in scores.columns if c not in columns]
    rank = {t.name: i for i, t in enumerate(cfg.vip.tiers)}

    def pick(mask: pd.Series, by: list[str], ascending: list[bool]) -> pd.DataFrame:
        table = scores.loc[mask.to_numpy(dtype=bool), columns]
        return table.sort_values(by, ascending=ascending, kind="stable").reset_index(drop=True)


    vips = scores.loc[scores["vip_now"].to_numpy(dtype=bool), columns].copy()
    vips["_rank"] = vips["tier"].map(rank).fillna(len(rank))
    vips = vips.sort_values(["_rank", value_col], ascending=[True, False], kind="stable")
    segment = scores["segment"]
    return {
        "vips_by_tier": vips.drop(columns="_rank").reset_index(drop=True),
        "predicted_vips": pick(
            segment == "predicted_vip", ["p_future_vip", clv_col], [False, False]
        ),
        "near_vips": pick(segment == "near_vip", ["gap_to_vip", clv_col], [True, False]),
        "at_risk_vips": with_churn_reasons(
            pick(segment == "at_risk_vip", [clv_col, "p_churn"], [False, False])
        ),
        "lapsed_vips": with_churn_reasons(
            pick(segment == "lapsed_vip", [value_col, clv_col], [False, False])
        ),
        "dormant_high_potential": pick(
            segment == "dormant_high_potential", [clv_col, "days_since_last"], [False, True]
        ),
    }


def with_churn_reasons(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the ``reasons`` of its at-risk and lapsed rows (:data:`CHURN_SEGMENTS`)
    replaced by their ``churn_reasons`` where those were written: why the customer may be
    lost, not why they may grow. Tables without ``churn_reasons`` are returned as they are.

    Parameters
    ----------
    table
        A segmented scores table or list.

    Returns
    -------
    pandas.DataFrame
        The table, with churn reasons on the churn segments' rows.

    Examples
    --------
    >>> t = pd.DataFrame({"segment": ["vip", "lapsed_vip"], "reasons": ["a", "b"],
    ...                   "churn_reasons": ["x", "y"]})
    >>> with_churn_reasons(t)["reasons"].tolist()
    ['a', 'y']
    """
    if "churn_reasons" not in table or "reasons" not in table or table.empty:
        return table
    churn = table["segment"].isin(CHURN_SEGMENTS) & (
        table["churn_reasons"].fillna("").astype(str) != ""
    )
    if not churn.any():
        return table
    out = table.copy()
    out["reasons"] = out["reasons"].where(~churn, out["churn_reasons"])
    return out


def segment_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Customers, value and risk per segment (in :data:`SEGMENTS` order, then a total row).

    Columns: ``segment``, ``label``, ``customers``, ``share_of_customers``, ``spend_12m``,
    ``share_of_spend``, ``clv``, ``share_of_clv``, ``mean_p_future_vip``, ``mean_p_churn``.

    Parameters
    ----------
    scores
        The output of :func:`assign_segments`.

    Returns
    -------
    pandas.DataFrame
        One row per segment, then the ``all`` row.

    Examples
    --------
    >>> from vipml.segments import INPUT_COLUMNS, assign_segments
    >>> scores = assign_segments(pd.DataFrame({c: [0.0] * 3 for c in INPUT_COLUMNS}).assign(
    ...     customer_id=[1, 2, 3], spend_12m=[900.0, 100.0, 10.0], reasons=""))
    >>> summary = segment_summary(scores).set_index("segment")
    >>> int(summary.loc["lapsed_vip", "customers"]), int(summary.loc["all", "customers"])
    (1, 3)
    """
    require_segments(scores)
    grouped = scores.groupby("segment", sort=False).agg(
        customers=("customer_id", "size"),
        spend_12m=("spend_12m", "sum"),
        clv=("clv", "sum"),
        mean_p_future_vip=("p_future_vip", "mean"),
        mean_p_churn=("p_churn", "mean"),
    )
    table = grouped.reindex(list(SEGMENTS)).fillna(0.0)
    table["customers"] = table["customers"].astype(np.int64)
    total = pd.DataFrame(
        {
            "customers": [len(scores)],
            "spend_12m": [scores["spend_12m"].sum()],
            "clv": [scores["clv"].sum()],
            "mean_p_future_vip": [scores["p_future_vip"].mean() if len(scores) else 0.0],
            "mean_p_churn": [scores["p_churn"].mean() if len(scores) else 0.0],
        },
        index=["all"],
    )
    table = pd.concat([table, total])
    for col, share in (
        ("customers", "share_of_customers"),
        ("spend_12m", "share_of_spend"),
        ("clv", "share_of_clv"),
    ):
        denominator = float(total[col].iloc[0])
        table[share] = table[col] / denominator if denominator else 0.0
    table = table.rename_axis("segment").reset_index()
    table.insert(1, "label", table["segment"].map({**SEGMENT_LABELS, "all": "All customers"}))
    return table[
        [
            "segment", "label", "customers", "share_of_customers", "spend_12m", "share_of_spend",
            "clv", "share_of_clv", "mean_p_future_vip", "mean_p_churn",
        ]
    ]


def value_concentration(
    scores: pd.DataFrame, value: str = "spend_12m", orders: str = "orders_12m"
) -> dict[str, float]:
    """How concentrated value is among customers with value in the window.

    The top 10% and top 1% (at least one customer each) by ``value``: their share of the total,
    and their value per order against the rest's (the field's rule of thumb: about 3x for the
    top 10% and 5x for the top 1%). Also the Gini coefficient.

    Parameters
    ----------
    scores
        One row per customer.
    value
        The value column.
    orders
        The order count column (each customer counts one order when it is missing).

    Returns
    -------
    dict of str to float
        ``customers``, ``total``, ``top10_share``, ``top10_order_value_ratio``, the same for
        ``top1`` and ``gini``.

    Examples
    --------
    >>> scores = pd.DataFrame({"spend_12m": [100.0] * 9 + [900.0], "orders_12m": [1] * 9 + [3]})
    >>> c = value_concentration(scores)
    >>> round(c["top10_share"], 2), round(c["top10_order_value_ratio"], 1)
    (0.5, 3.0)
    """
    v = scores[value].to_numpy(dtype=np.float64)
    o = scores[orders].to_numpy(dtype=np.float64) if orders in scores else np.ones_like(v)
    keep = v > 0
    v, o = v[keep], o[keep]
    order = np.argsort(-v, kind="stable")
    v, o = v[order], o[order]
    n, total = len(v), float(v.sum())
    out: dict[str, float] = {"customers": float(n), "total": total}
    for name, pct in (("top10", 0.10), ("top1", 0.01)):
        k = max(1, math.ceil(pct * n - 1e-9)) if n else 0
        top_v, rest_v = v[:k].sum(), v[k:].sum()
        top_o, rest_o = o[:k].sum(), o[k:].sum()
        out[f"{name}_customers"] = float(k)
        out[f"{name}_share"] = float(top_v / total) if total else 0.0
        top_aov = top_v / top_o if top_o else 0.0
        rest_aov = rest_v / rest_o if rest_o else 0.0
        out[f"{name}_order_value_ratio"] = float(top_aov / rest_aov) if rest_aov else 0.0
        out[f"{name}_value_ratio"] = (
            float((top_v / k) / (rest_v / (n - k))) if n > k and rest_v else 0.0
        )
    if n:
        ascending = v[::-1]
        cum = np.cumsum(ascending)
        out["gini"] = float((n + 1 - 2 * (cum.sum() / cum[-1])) / n) if cum[-1] else 0.0
    else:
        out["gini"] = 0.0
    return out


# --------------------------------------------------------------------------- VIP profile


