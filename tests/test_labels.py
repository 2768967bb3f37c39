"""Labels: future VIP and churn from (cutoff, cutoff + horizon] only."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from vipml.config import config_from_dict
from vipml.data.datasets import load_cdnow
from vipml.errors import SchemaError
from vipml.features import build_features
from vipml.labels import (
    IncompleteHorizonWarning,
    churn,
    churn_eligible,
    future_value,
    future_vip,
    known_customers,
    make_labels,
)

pytestmark = pytest.mark.filterwarnings("ignore::vipml.labels.IncompleteHorizonWarning")


def _tx(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "revenue"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="mixed")
    return frame


def test_window_is_cutoff_exclusive_and_horizon_inclusive():
    tx = _tx(
        [
            (1, "2024-01-31 23:59", 10.0),  # on the cutoff day: the past
            (1, "2024-02-01 00:00", 5.0),  # first instant of the window
            (2, "2024-01-10", 1.0),
            (2, "2024-02-28 18:00", 7.0),  # last day of a 4-week window
            (3, "2024-01-15", 1.0),
            (3, "2024-02-29 00:00", 99.0),  # the day after the window
        ]
    )
    value = future_value(tx, "2024-01-31", "4W")
    assert value.to_dict() == {1: 5.0, 2: 7.0, 3: 0.0}
    labels = make_labels(tx, "2024-01-31", "4W")
    assert labels["future_purchases"].to_dict() == {1: 1, 2: 1, 3: 0}
    assert labels["churn"].to_dict() == {1: False, 2: False, 3: True}


def test_customers_known_at_cutoff_only():
    tx = _tx([(1, "2024-01-01", 1.0), (2, "2024-02-10", 50.0)])
    assert known_customers(tx, "2024-01-31").tolist() == [1]
    assert future_vip(tx, "2024-01-31", "4W").index.tolist() == [1]


def test_top_pct_vip_needs_positive_value_and_counts_ties():
    rows = [(i, "2024-01-01", 1.0) for i in range(20)]
    future = [(0, "2024-02-05", 100.0), (1, "2024-02-05", 100.0), (2, "2024-02-05", 50.0)]
    tx = _tx(rows + future)
    vip = future_vip(tx, "2024-01-31", "4W")  # top 10% of 20 = 2 customers
    assert vip[vip].index.tolist() == [0, 1]
    tie = _tx(rows + future + [(3, "2024-02-06", 100.0)])
    vip = future_vip(tie, "2024-01-31", "4W")
    assert vip[vip].index.tolist() == [0, 1, 3]  # three-way tie at the threshold
    quiet = _tx(rows + [(0, "2024-02-05", 10.0)])
    vip = future_vip(quiet, "2024-01-31", "4W")
    assert vip[vip].index.tolist() == [0]  # buyers of nothing are never VIPs


def test_fixed_amount_and_top_pct_settings():
    tx = _tx([(i, "2024-01-01", 1.0) for i in range(10)] + [
        (i, "2024-02-05", 10.0 * i) for i in range(10)
    ])
    cfg = config_from_dict({"labels": {"vip_fixed_amount": 55.0}})
    vip = future_vip(tx, "2024-01-31", "4W", cfg)
    assert vip[vip].index.tolist() == [6, 7, 8, 9]
    cfg = config_from_dict({"labels": {"vip_top_pct": 0.3}})
    vip = future_vip(tx, "2024-01-31", "4W", cfg)
    assert vip[vip].index.tolist() == [7, 8, 9]


def test_value_is_profit_when_cost_known_and_returns_subtract():
    tx = _tx(
        [(1, "2024-01-01", 10.0), (1, "2024-02-02", 100.0), (1, "2024-02-09", -40.0),
         (2, "2024-01-01", 10.0), (2, "2024-02-02", 100.0)]
    )
    tx["cost"] = [5.0, 60.0, -24.0, 5.0, np.nan]
    tx["is_return"] = [False, False, True, False, False]
    value = future_value(tx, "2024-01-31", "4W")
    # customer 1: (100 - 60) - (40 - 24); customer 2: cost missing -> default margin 30%
    assert value.loc[1] == pytest.approx(24.0)
    assert value.loc[2] == pytest.approx(30.0)
    assert make_labels(tx, "2024-01-31", "4W").loc[1, "future_purchases"] == 1
    revenue_only = future_value(tx.drop(columns="cost"), "2024-01-31", "4W")
    assert revenue_only.to_dict() == {1: 60.0, 2: 100.0}


def test_churn_only_for_recently_active_customers():
    tx = _tx(
        [(1, "2023-01-05", 5.0), (2, "2023-12-20", 5.0), (3, "2023-12-20", 5.0),
         (3, "2024-02-01", 5.0)]
    )
    eligible = churn_eligible(tx, "2024-01-31", config_from_dict({"labels": {
        "churn_active_days": 90}}))
    assert eligible.to_dict() == {1: False, 2: True, 3: True}
    cfg = config_from_dict({"labels": {"churn_active_days": 90}})
    assert churn(tx, "2024-01-31", "4W", cfg).to_dict() == {1: False, 2: True, 3: False}
    # with the default 365 days, customer 1 (a year and a month ago) is still inactive
    assert churn(tx, "2024-01-31", "4W").loc[1] == np.False_


def test_a_return_is_not_a_purchase_for_churn():
    tx = _tx([(1, "2024-01-05", 50.0), (1, "2024-02-03", -50.0)])
    assert churn(tx, "2024-01-31", "4W").loc[1]


def test_incomplete_window_warns():
    tx = _tx([(1, "2024-01-05", 50.0), (1, "2024-02-03", 20.0)])
    with pytest.warns(IncompleteHorizonWarning, match="the data end on 2024-02-03, 25 days"):
        make_labels(tx, "2024-01-31", "4W")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_labels(tx, "2024-01-31", "4W", warn=False)


def test_missing_column_is_a_schema_error():
    with pytest.raises(SchemaError, match="missing required column 'revenue'"):
        make_labels(pd.DataFrame({"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-01"])}),
                    "2024-01-31", "4W")


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow(sample=True)


def test_labels_ignore_rows_after_the_window_and_before_cutoff_values(cdnow):
    """Appending rows after cutoff + horizon, or changing amounts before the cutoff, changes
    no future value; appending rows after the cutoff changes no feature."""
    cutoff, horizon = pd.Timestamp("1997-09-30"), "13W"
    base = make_labels(cdnow, cutoff, horizon, warn=False)
    later = cdnow.sample(500, random_state=0).assign(
        timestamp=lambda d: d["timestamp"] + pd.Timedelta(days=400)
    )
    appended = pd.concat([cdnow, later], ignore_index=True)
    pd.testing.assert_frame_equal(make_labels(appended, cutoff, horizon, warn=False), base)

    past = cdnow["timestamp"] <= cutoff
    doubled = cdnow.assign(revenue=np.where(past, cdnow["revenue"] * 2, cdnow["revenue"]))
    changed = make_labels(doubled, cutoff, horizon, warn=False)
    pd.testing.assert_series_equal(changed["future_value"], base["future_value"])
    pd.testing.assert_series_equal(changed["future_vip"], base["future_vip"])

    features = build_features(cdnow, cutoff)
    after = cdnow.sample(500, random_state=1).assign(
        timestamp=lambda d: cutoff + pd.Timedelta(days=1) + (d["timestamp"] - d["timestamp"].min())
    )
    pd.testing.assert_frame_equal(
        build_features(pd.concat([cdnow, after], ignore_index=True), cutoff), features
    )


def test_cdnow_vip_share_is_ten_percent(cdnow):
    labels = make_labels(cdnow, "1997-09-30", "26W")
    assert len(labels) == 2357
    vip = labels["future_vip"]
    assert 236 <= vip.sum() <= 240  # ceil(10% of 2,357), plus ties at the threshold
    assert labels.loc[vip, "future_value"].min() > labels.loc[~vip, "future_value"].max() > 0
    assert labels["churn"].mean() == pytest.approx(1 - (labels["future_purchases"] > 0).mean())
