"""Scores tables built from real data, for the segment, report and `vipml lists` tests.

The value columns (spend, profit, orders, days since last purchase, full-price share, returns,
support tickets) are computed from the transactions; the model columns are plausible stand-ins
built from those features with textbook formulas (BG/NBD P(alive) and P(no purchase in 26 weeks)
at fixed parameters, CLV = expected purchases x order value), not hard-coded outputs.
Load it with ``load_helper()`` from a test module (tests are not a package).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipml.data.datasets import load_cdnow
from vipml.data.simulate import simulate
from vipml.features.rfm import btyd_summary
from vipml.segments import customer_attributes

_R, _ALPHA, _A, _B = 0.25, 4.0, 0.8, 2.5
HORIZON_WEEKS = 26.0


def scores_from_transactions(
    tx: pd.DataFrame,
    cutoff: pd.Timestamp,
    events: pd.DataFrame | None = None,
    margin_rate: float = 0.3,
) -> pd.DataFrame:
    """One row per customer seen up to ``cutoff``, with the scorer's columns."""
    cutoff = pd.Timestamp(cutoff)
    tx = tx[tx["timestamp"] <= cutoff]
    is_return = tx["is_return"].to_numpy(bool) if "is_return" in tx else np.zeros(len(tx), bool)
    cost = tx["cost"] if "cost" in tx else tx["revenue"] * (1 - margin_rate)
    tx = tx.assign(_profit=tx["revenue"] - cost, _order=~is_return)
    in_window = tx["timestamp"] > cutoff - pd.Timedelta(days=365)
    in_3m = tx["timestamp"] > cutoff - pd.Timedelta(days=91)
    ids = pd.Index(sorted(tx["customer_id"].unique()), name="customer_id")
    win = tx[in_window].groupby("customer_id")
    orders = tx[tx["_order"]]
    out = pd.DataFrame(index=ids)
    out["spend_12m"] = win["revenue"].sum().reindex(ids, fill_value=0.0)
    out["profit_12m"] = win["_profit"].sum().reindex(ids, fill_value=0.0)
    out["orders_12m"] = (
        tx[in_window & tx["_order"]].groupby("customer_id").size().reindex(ids, fill_value=0)
    )
    last = orders.groupby("customer_id")["timestamp"].max().reindex(ids)
    out["days_since_last"] = (cutoff.normalize() - last.dt.normalize()).dt.days.astype(float)
    out["aov_mean"] = orders.groupby("customer_id")["revenue"].mean().reindex(ids, fill_value=0)
    spend_3m = tx[in_3m].groupby("customer_id")["revenue"].sum().reindex(ids, fill_value=0.0)
    out["trend_3m"] = np.where(out["spend_12m"] > 0, 4 * spend_3m / out["spend_12m"], 0.0)
    if "list_price" in tx:
        full = orders["revenue"] >= orders["list_price"] - 1e-9
        paid = orders.groupby("customer_id")["revenue"].sum().reindex(ids, fill_value=0.0)
        at_full = orders[full].groupby("customer_id")["revenue"].sum().reindex(ids, fill_value=0)
        out["full_price_share"] = np.where(paid > 0, at_full / paid.where(paid > 0, 1), 1.0)
        out["discount_share"] = 1.0 - out["full_price_share"]
    n_orders = orders.groupby("customer_id").size().reindex(ids, fill_value=0)
    out["orders"] = n_orders
    if "is_return" in tx:
        n_returns = tx[~tx["_order"]].groupby("customer_id").size().reindex(ids, fill_value=0)
        out["return_rate_orders"] = np.where(n_orders > 0, n_returns / n_orders.clip(lower=1), 0)
    if events is not None:
        tickets = events[(events["kind"] == "support_ticket") & (events["timestamp"] <= cutoff)]
        out["support_tickets"] = tickets.groupby("customer_id").size().reindex(ids, fill_value=0)

    summary = btyd_summary(tx, cutoff, freq="D", time_unit="W").reindex(ids)
    x, t_x, big_t = summary["frequency"], summary["recency"], summary["T"]
    ratio = ((_ALPHA + big_t) / (_ALPHA + t_x)) ** (_R + x)
    odds = np.where(x > 0, _A / (_B + x - 1) * ratio, 0.0)
    out["p_alive"] = 1.0 / (1.0 + odds)
    rate = (_R + x) / (_ALPHA + big_t)
    out["expected_purchases"] = out["p_alive"] * rate * HORIZON_WEEKS
    value = np.where(summary["monetary_value"] > 0, summary["monetary_value"], out["aov_mean"])
    out["clv"] = out["expected_purchases"] * value
    margin = np.where(
        out["spend_12m"] > 0, (out["profit_12m"] / out["spend_12m"].where(out["spend_12m"] > 0, 1)),
        margin_rate,
    )
    out["clv_profit"] = out["clv"] * np.clip(margin, 0.0, 1.0)
    no_purchase = ((_ALPHA + big_t) / (_ALPHA + big_t + HORIZON_WEEKS)) ** (_R + x)
    out["p_churn"] = (1 - out["p_alive"]) + out["p_alive"] * no_purchase
    signal = np.log1p(out["clv"]) - np.log1p(out["clv"]).quantile(0.93)
    out["p_future_vip"] = 1.0 / (1.0 + np.exp(-2.5 * signal))
    out["reasons"] = (
        "spent $" + out["spend_12m"].round(0).astype(int).astype(str) + " in the last 12 months; "
        + out["orders_12m"].astype(str) + " orders; last purchase "
        + out["days_since_last"].astype(int).astype(str) + " days ago"
    )
    out = out.reset_index()
    out.attrs["cutoff"] = cutoff.strftime("%Y-%m-%d")
    return out


def simulated_scores(n_customers: int = 5000, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores and attributes (channel, region, first category) of a simulated log."""
    sim = simulate(n_customers, seed=seed)
    cutoff = pd.Timestamp(sim.params["end"])
    scores = scores_from_transactions(sim.transactions, cutoff, sim.events)
    attributes = customer_attributes(sim.transactions, sim.customers.drop(columns="signup_date"))
    return scores, attributes


def cdnow_scores(cutoff: str = "1997-12-31") -> pd.DataFrame:
    """Scores of every CDNOW customer at ``cutoff`` (no cost: a 30% margin is assumed)."""
    return scores_from_transactions(load_cdnow(), pd.Timestamp(cutoff))
