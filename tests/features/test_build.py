"""build_features: column contract, a slow pandas oracle on simulated data, leakage, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vipml.config import Config, config_from_dict
from vipml.data.simulate import Simulation, simulate
from vipml.errors import ConfigError, SchemaError
from vipml.features import (
    FEATURE_COLUMNS,
    INT_COLUMNS,
    btyd_summary,
    build_features,
    first_category,
    line_totals,
    profitable_lines,
    rank_lines,
)

CUTOFF = pd.Timestamp("2024-06-30")


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(3_000, seed=5)


@pytest.fixture(scope="module")
def feats(sim) -> pd.DataFrame:
    return build_features(sim.transactions, CUTOFF, sim.events)


def _tx(rows: list[tuple], **extra) -> pd.DataFrame:
    """Transactions from (customer_id, timestamp, revenue) tuples plus extra columns."""
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "revenue"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="mixed")
    for name, values in extra.items():
        frame[name] = values
    return frame


# --- contract ----------------------------------------------------------------------------


def test_columns_dtypes_and_finite(feats, sim):
    assert tuple(feats.columns) == FEATURE_COLUMNS
    assert len(set(FEATURE_COLUMNS)) == len(FEATURE_COLUMNS)
    for name in FEATURE_COLUMNS:
        expected = np.int64 if name in INT_COLUMNS else np.float64
        assert feats[name].dtype == expected, name
    assert np.isfinite(feats.to_numpy(dtype=np.float64)).all()
    assert feats.index.name == "customer_id" and feats.index.is_monotonic_increasing
    seen = sim.transactions.loc[sim.transactions["timestamp"] <= CUTOFF, "customer_id"]
    assert set(feats.index) == set(seen)


def test_btyd_block_equals_btyd_summary(sim, feats):
    expected = btyd_summary(sim.transactions, CUTOFF, freq="D", time_unit="W")
    pd.testing.assert_frame_equal(feats.loc[expected.index, list(expected.columns)], expected)
    weekly = config_from_dict({"btyd": {"freq": "W", "time_unit": "W"}})
    ours = build_features(sim.transactions, CUTOFF, config=weekly)
    expected = btyd_summary(sim.transactions, CUTOFF, freq="W")
    pd.testing.assert_frame_equal(ours.loc[expected.index, list(expected.columns)], expected)


def test_bad_windows_and_input_are_refused(sim):
    tx = sim.transactions
    with pytest.raises(ConfigError, match="windows_days"):
        build_features(tx, CUTOFF, config=config_from_dict({"features": {"windows_days": [91]}}))
    with pytest.raises(ConfigError, match="increasing"):
        build_features(
            tx, CUTOFF, config=config_from_dict({"features": {"windows_days": [182, 91, 365]}})
        )
    with pytest.raises(SchemaError, match="missing required column 'revenue'"):
        build_features(tx.drop(columns="revenue"), CUTOFF)
    with pytest.raises(SchemaError, match="not a datetime"):
        build_features(tx.assign(timestamp=tx["timestamp"].astype(str)), CUTOFF)


def test_empty_history_gives_an_empty_frame(sim):
    out = build_features(sim.transactions, "2000-01-01", sim.events)
    assert len(out) == 0 and tuple(out.columns) == FEATURE_COLUMNS


# --- a slow, obvious pandas oracle ------------------------------------------------------------


def _oracle(tx: pd.DataFrame, events: pd.DataFrame, cutoff: pd.Timestamp, cfg: Config):
    """Per-customer features the slow way (groupby and Python), for comparison."""
    end = cutoff.normalize() + pd.Timedelta(days=1)
    tx = tx[tx["timestamp"] < end].copy()
    events = events[events["timestamp"] < end]
    c = cutoff.normalize()
    tx["day"] = (c - tx["timestamp"].dt.normalize()).dt.days  # days before the cutoff
    ret = tx["is_return"] | (tx["revenue"] < 0)
    buy = tx[~ret]
    back = tx[ret]
    m = cfg.features.default_margin_rate
    tx["profit"] = tx["revenue"] - tx["cost"].fillna(tx["revenue"] * (1 - m))
    out = pd.DataFrame(index=pd.Index(sorted(tx["customer_id"].unique()), name="customer_id"))
    orders = buy.groupby(["customer_id", "order_id"]).agg(
        revenue=("revenue", "sum"), day=("day", "max")
    )
    g = orders.groupby(level="customer_id")
    out["orders"] = g.size()
    out["aov_mean"] = g["revenue"].mean()
    out["aov_median"] = g["revenue"].median()
    out["aov_max"] = g["revenue"].max()

    def gaps(days: pd.Series) -> list[int]:
        d = sorted(set(days), reverse=True)
        return [a - b for a, b in zip(d[:-1], d[1:], strict=True)]

    first = buy.groupby("customer_id")["day"].max()
    out["tenure_days"] = first
    out["purchase_days"] = buy.groupby("customer_id")["day"].nunique()
    gap_lists = buy.groupby("customer_id")["day"].apply(gaps)
    out["mean_days_between"] = gap_lists.map(lambda x: np.mean(x) if x else np.nan)
    out["median_days_between"] = gap_lists.map(lambda x: np.median(x) if x else np.nan)
    for col in ("mean_days_between", "median_days_between"):
        out[col] = out[col].fillna(out["tenure_days"])
    out["days_since_last"] = buy.groupby("customer_id")["day"].min()
    for suffix, w in zip(("3m", "6m", "12m"), cfg.features.windows_days, strict=True):
        inside = orders[orders["day"] < w].groupby(level="customer_id")
        out[f"orders_{suffix}"] = inside.size()
        out[f"spend_{suffix}"] = inside["revenue"].sum()
    out = out.fillna({c: 0 for c in out.columns if c.startswith(("orders", "spend"))})
    for suffix, w in zip(("3m", "6m"), cfg.features.windows_days[:2], strict=True):
        rate = out[f"orders_{suffix}"] / np.minimum(w, out["tenure_days"] + 1)
        long_rate = out["orders_12m"] / np.minimum(365, out["tenure_days"] + 1)
        out[f"trend_{suffix}"] = (rate / long_rate).where(out["orders_12m"] > 0, 1.0)
    out["revenue_total"] = buy.groupby("customer_id")["revenue"].sum()
    out["profit_total"] = tx.groupby("customer_id")["profit"].sum()
    out["profit_12m"] = tx[tx["day"] < 365].groupby("customer_id")["profit"].sum()
    out["margin_rate"] = tx[~ret].groupby("customer_id")["profit"].sum() / out["revenue_total"]
    disc = buy["revenue"] < buy["list_price"] - 0.005
    out["discount_share"] = buy[disc].groupby("customer_id")["revenue"].sum() / out["revenue_total"]
    out["full_price_share"] = (
        buy[~disc].groupby("customer_id")["revenue"].sum() / out["revenue_total"]
    )
    lines = tx[~ret].groupby("category").agg(p=("profit", "sum"), r=("revenue", "sum"))
    lines = lines[lines["r"] > 0]
    rate = (lines["p"] / lines["r"]).sort_values(ascending=False)
    top = list(rate.index[: max(1, math.ceil(cfg.features.top_lines_share * len(rate)))])
    in_top = buy[buy["category"].isin(top)]
    out["top_lines_share"] = in_top.groupby("customer_id")["revenue"].sum() / out["revenue_total"]
    out["n_categories"] = buy.groupby("customer_id")["category"].nunique()
    out["n_products"] = (
        buy.groupby("customer_id")["product_id"].nunique() if "product_id" in buy else 0
    )
    out = out.fillna({"discount_share": 0, "full_price_share": 0, "top_lines_share": 0})
    out["returns"] = back.groupby("customer_id")["order_id"].nunique()
    refunded = back.groupby("customer_id")["revenue"].sum().abs()
    out["refunded"] = refunded
    out = out.fillna({"returns": 0, "refunded": 0, "profit_12m": 0})
    out["return_rate_orders"] = out["returns"] / np.maximum(out["orders"], out["returns"])
    out["return_rate_value"] = out["refunded"] / np.maximum(out["revenue_total"], out["refunded"])
    out["net_revenue"] = out["revenue_total"] - out["refunded"]
    tickets = events[events["kind"] == "support_ticket"].groupby("customer_id")
    out["support_tickets"] = tickets.size()
    out["support_cost"] = tickets["cost"].sum()
    out = out.fillna({"support_tickets": 0, "support_cost": 0})
    out["net_profit"] = out["profit_total"] - out["support_cost"]
    for column, kind in (("referrals", "referral"), ("reviews", "review"), ("ugc", "ugc")):
        out[column] = events[events["kind"] == kind].groupby("customer_id").size()
    engaged = events[events["kind"].isin(["referral", "review", "ugc"])]
    last = engaged.groupby("customer_id")["timestamp"].max().dt.normalize()
    out["days_since_engagement"] = (c - last).dt.days
    out = out.fillna({"referrals": 0, "reviews": 0, "ugc": 0})
    out["days_since_engagement"] = out["days_since_engagement"].fillna(out["tenure_days"])
    return out.drop(columns="refunded")


def test_every_family_matches_a_slow_pandas_oracle(sim, feats):
    # customers with purchases (return-only customers are tested on their own below)
    expected = _oracle(sim.transactions, sim.events, CUTOFF, Config())
    expected = expected[expected["orders"] > 0]
    ours = feats.loc[expected.index]
    assert len(expected) > 2_000
    for name in expected.columns:
        np.testing.assert_allclose(
            ours[name].to_numpy(dtype=float),
            expected[name].to_numpy(dtype=float),
            rtol=1e-9,
            atol=1e-9,
            err_msg=name,
        )
    # every column but the BTYD block is covered by the oracle
    assert set(FEATURE_COLUMNS) - set(expected.columns) == {
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "margin_assumed",
    }


def test_oracle_with_other_windows_and_margin(sim):
    cfg = config_from_dict({"features": {"windows_days": [30, 60, 365], "top_lines_share": 0.5}})
    tx = sim.transactions.assign(cost=sim.transactions["cost"].where(lambda s: s.index % 3 > 0))
    ours = build_features(tx, CUTOFF, sim.events, cfg)
    expected = _oracle(tx, sim.events, CUTOFF, cfg)
    expected = expected[expected["orders"] > 0]
    for name in ("trend_3m", "orders_6m", "profit_total", "margin_rate", "top_lines_share"):
        np.testing.assert_allclose(
            ours.loc[expected.index, name], expected[name], rtol=1e-9, atol=1e-9, err_msg=name
        )
    assert ours["margin_assumed"].eq(1).mean() > 0.5


# --- leakage ---------------------------------------------------------------------------------


def test_rows_after_the_cutoff_change_nothing(sim, feats):
    """Append orders, returns and events after the cutoff (new customers, a new category,
    rows at the very first instant of the next day): no feature may move."""
    tx, ev = sim.transactions, sim.events
    before_tx = tx[tx["timestamp"] < CUTOFF + pd.Timedelta(days=1)]
    before_ev = ev[ev["timestamp"] < CUTOFF + pd.Timedelta(days=1)]
    assert len(before_tx) < len(tx) and len(before_ev) < len(ev)
    base = build_features(before_tx, CUTOFF, before_ev)
    pd.testing.assert_frame_equal(base, feats)

    next_day = CUTOFF + pd.Timedelta(days=1)
    extra_tx = pd.DataFrame(
        {
            "customer_id": [1, 2, 10**7, 3, 1],
            "order_id": [10**9, 10**9 + 1, 10**9 + 2, 10**9 + 3, 10**9],
            "timestamp": [
                next_day,
                next_day,
                next_day,
                next_day + pd.Timedelta(days=40),
                next_day + pd.Timedelta(hours=5),
            ],
            "revenue": [1e6, 50.0, 20.0, -30.0, -1e6],
            "cost": [1.0, 10.0, 5.0, -3.0, -1.0],
            "list_price": [1e6, 90.0, 20.0, -30.0, -1e6],
            "quantity": [1.0, 1.0, 1.0, -1.0, -1.0],
            "category": ["yachts", "vinyl", "books", "vinyl", "yachts"],
            "is_return": [False, False, False, True, True],
        }
    )
    extra_ev = pd.DataFrame(
        {
            "customer_id": [1, 2, 10**7],
            "timestamp": [next_day, next_day + pd.Timedelta(days=3), next_day],
            "kind": ["support_ticket", "review", "referral"],
            "cost": [1000.0, 0.0, 0.0],
        }
    )
    leaky = build_features(
        pd.concat([before_tx, extra_tx], ignore_index=True),
        CUTOFF,
        pd.concat([before_ev, extra_ev], ignore_index=True),
    )
    pd.testing.assert_frame_equal(leaky, base)
    shuffled = before_tx.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(build_features(shuffled, CUTOFF, before_ev), base)


def test_the_cutoff_day_itself_is_included():
    tx = _tx([(1, "2024-01-01", 10.0), (1, "2024-01-10 23:59:59", 5.0)])
    f = build_features(tx, "2024-01-10")
    assert f.loc[1, "orders"] == 2 and f.loc[1, "days_since_last"] == 0
    f = build_features(tx, "2024-01-09 12:00")
    assert f.loc[1, "orders"] == 1


# --- edge cases ------------------------------------------------------------------------------


def test_single_purchase_customer_fills():
    tx = _tx([(7, "2024-01-01 10:00", 40.0)])
    f = build_features(tx, "2024-01-31").loc[7]
    assert f["frequency"] == 0 and f["recency"] == 0 and f["monetary_value"] == 0
    assert f["T"] == pytest.approx(30 / 7)
    assert f["orders"] == 1 and f["purchase_days"] == 1
    assert f["tenure_days"] == 30
    assert f["mean_days_between"] == f["median_days_between"] == f["days_since_last"] == 30
    assert f["aov_mean"] == f["aov_median"] == f["aov_max"] == 40
    assert f["trend_3m"] == 1.0 and f["trend_6m"] == 1.0
    assert f["margin_rate"] == pytest.approx(0.3) and f["margin_assumed"] == 1
    assert f["full_price_share"] == 0 and f["discount_share"] == 0
    assert f["top_lines_share"] == 0 and f["n_categories"] == 0
    assert f["returns"] == 0 and f["return_rate_orders"] == 0 and f["net_revenue"] == 40
    assert f["days_since_engagement"] == 30


def test_several_orders_on_one_day():
    tx = _tx(
        [(1, "2024-01-01 09:00", 10.0), (1, "2024-01-01 18:00", 30.0), (1, "2024-01-08", 20.0)]
    )
    f = build_features(tx, "2024-01-15").loc[1]
    assert f["orders"] == 3 and f["purchase_days"] == 2
    assert f["frequency"] == 1 and f["monetary_value"] == 20  # one repeat day
    assert f["mean_days_between"] == 7 and f["median_days_between"] == 7
    assert f["aov_mean"] == 20 and f["aov_median"] == 20 and f["aov_max"] == 30
    # as order lines of one order: one order of 40, then one of 20
    lines = tx.assign(order_id=[5, 5, 6])
    g = build_features(lines, "2024-01-15").loc[1]
    assert g["orders"] == 2 and g["aov_mean"] == 30 and g["aov_max"] == 40
    assert g["frequency"] == 1 and g["monetary_value"] == 20


def test_interleaved_order_lines_are_grouped_by_order_id():
    tx = _tx(
        [
            (1, "2024-01-01 09:00", 10.0),
            (1, "2024-01-01 09:05", 30.0),
            (1, "2024-01-01 09:10", 5.0),
            (1, "2024-01-02", 1.0),
        ],
        order_id=[1, 2, 1, 1],
    )
    f = build_features(tx, "2024-01-15").loc[1]
    assert f["orders"] == 2
    assert f["aov_max"] == 30 and f["aov_median"] == pytest.approx(23.0)  # 16 and 30


def test_zero_and_negative_revenue_rows():
    tx = _tx([(1, "2024-01-01", 0.0), (1, "2024-01-05", 50.0), (1, "2024-01-07", -20.0)])
    f = build_features(tx, "2024-01-15").loc[1]
    assert f["orders"] == 2 and f["frequency"] == 1  # the $0 order is a purchase
    assert f["aov_mean"] == 25 and f["revenue_total"] == 50
    assert f["returns"] == 1 and f["net_revenue"] == 30  # negative revenue = a refund
    assert f["return_rate_orders"] == 0.5 and f["return_rate_value"] == pytest.approx(0.4)
    assert f["profit_total"] == pytest.approx(0.3 * 30)
    # a refund recorded with a positive amount and is_return=True counts the same
    flagged = tx.assign(revenue=[0.0, 50.0, 20.0], is_return=[False, False, True])
    pd.testing.assert_series_equal(build_features(flagged, "2024-01-15").loc[1], f)


def test_customer_whose_only_activity_is_a_return():
    tx = _tx(
        [(1, "2024-01-01", 30.0), (2, "2024-01-03", -25.0)],
        is_return=[False, True],
        cost=[10.0, -10.0],
        category=["a", "b"],
    )
    ev = pd.DataFrame(
        {
            "customer_id": [2],
            "timestamp": pd.to_datetime(["2024-01-04"]),
            "kind": ["support_ticket"],
            "cost": [7.0],
        }
    )
    f = build_features(tx, "2024-01-17", ev)
    assert list(f.index) == [1, 2]
    r = f.loc[2]
    assert r["orders"] == 0 and r["frequency"] == 0 and r["recency"] == 0
    assert r["T"] == 2.0  # weeks since the first row
    assert r["tenure_days"] == 14 and r["days_since_last"] == 14
    assert r["mean_days_between"] == 14 and r["aov_mean"] == 0
    assert r["returns"] == 1 and r["return_rate_orders"] == 1 and r["return_rate_value"] == 1
    assert r["revenue_total"] == 0 and r["net_revenue"] == -25
    assert r["profit_total"] == -15 and r["net_profit"] == -22 and r["support_tickets"] == 1
    assert r["trend_3m"] == 1 and r["n_categories"] == 0 and r["margin_rate"] == 0
    assert np.isfinite(f.to_numpy(dtype=float)).all()
    assert first_category(tx, "2024-01-17").to_dict() == {1: "a", 2: "unknown"}


def test_string_ids_give_the_same_features(sim, feats):
    tx = sim.transactions.assign(customer_id=sim.transactions["customer_id"].map("c{:05d}".format))
    ev = sim.events.assign(customer_id=sim.events["customer_id"].map("c{:05d}".format))
    out = build_features(tx, CUTOFF, ev)
    assert list(out.index) == [f"c{i:05d}" for i in feats.index]
    np.testing.assert_array_equal(out.to_numpy(), feats.to_numpy())


def test_trend_is_one_for_a_steady_buyer_of_any_age():
    days = pd.date_range("2022-01-01", "2024-06-30", freq="7D")
    young = pd.date_range("2024-05-01", "2024-06-30", freq="7D")
    slowing = pd.date_range("2023-07-01", "2024-03-01", freq="7D")
    tx = pd.concat(
        [
            _tx([(1, d, 10.0) for d in days]),
            _tx([(2, d, 10.0) for d in young]),
            _tx([(3, d, 10.0) for d in slowing]),
        ]
    )
    f = build_features(tx, "2024-06-30")
    assert f.loc[1, "trend_3m"] == pytest.approx(1.0, abs=0.05)
    assert f.loc[1, "trend_6m"] == pytest.approx(1.0, abs=0.05)
    assert f.loc[2, "trend_3m"] == 1.0 and f.loc[2, "trend_6m"] == 1.0
    assert f.loc[3, "trend_3m"] == 0.0 and f.loc[3, "trend_6m"] < 0.5


def test_profitable_lines_and_first_category():
    tx = _tx(
        [
            (1, "2024-01-02 12:00", 10.0),
            (1, "2024-01-02 08:00", 10.0),
            (2, "2024-01-03", 100.0),
            (2, "2024-01-04", 10.0),
        ],
        cost=[5.0, 9.0, 90.0, 2.0],
        category=["toys", "books", "tv", "art"],
    )
    # margin rates: art 0.8, toys 0.5, tv 0.1, books 0.1 -> ceil(0.3 * 4) = 2 lines
    assert profitable_lines(tx, "2024-01-31") == ["art", "toys"]
    f = build_features(tx, "2024-01-31")
    assert f.loc[1, "top_lines_share"] == 0.5 and f.loc[2, "top_lines_share"] == pytest.approx(
        10 / 110
    )
    assert f["n_categories"].tolist() == [2, 2]
    # the first purchase is the earliest timestamp, not the first row
    assert first_category(tx, "2024-01-31").tolist() == ["books", "tv"]
    assert first_category(tx.drop(columns="category"), "2024-01-31").tolist() == [
        "unknown",
        "unknown",
    ]


def test_chunks_of_customers_give_the_same_features(sim, feats):
    """Split the customers in three: summed line totals rank the same profitable lines, and
    every chunk's features equal the whole log's (what chunked and Spark scoring rely on)."""
    tx, ev = sim.transactions, sim.events
    chunks = [tx[tx["customer_id"] % 3 == k] for k in range(3)]
    totals = line_totals(chunks[0], CUTOFF)
    for chunk in chunks[1:]:
        totals = totals.add(line_totals(chunk, CUTOFF), fill_value=0.0)
    lines = rank_lines(totals, Config().features.top_lines_share)
    assert lines == profitable_lines(tx, CUTOFF) and len(lines) == 2
    parts = [
        build_features(chunk, CUTOFF, ev[ev["customer_id"] % 3 == k], profitable_lines=lines)
        for k, chunk in enumerate(chunks)
    ]
    pd.testing.assert_frame_equal(pd.concat(parts).sort_index(), feats, rtol=1e-12)


def test_product_breadth_counts_distinct_products_bought():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 3],
            "timestamp": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-02", "2024-03-01"]
            ),
            "revenue": [5.0, 7.0, 5.0, -5.0, 3.0, 9.0],
            "product_id": ["A", "B", "A", "C", None, "A"],
        }
    )
    f = build_features(tx, "2024-01-31")
    # customer 1 bought A twice and B (C was only returned); a missing product is one product
    assert f["n_products"].tolist() == [2, 1]
    assert build_features(tx.drop(columns="product_id"), "2024-01-31")["n_products"].sum() == 0
