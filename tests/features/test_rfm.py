"""The BTYD summary equals lifetimes' on all of CDNOW, for days and weeks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from vipml.data.datasets import load_cdnow
from vipml.features.rfm import btyd_summary

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes.utils import summary_data_from_transaction_data


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow()


@pytest.mark.parametrize("freq", ["D", "W"])
def test_equals_lifetimes_on_cdnow(cdnow, freq):
    end = cdnow["timestamp"].max()
    ours = btyd_summary(cdnow, end, freq=freq)
    theirs = summary_data_from_transaction_data(
        cdnow, "customer_id", "timestamp", "revenue", observation_period_end=end, freq=freq
    ).sort_index()
    assert len(ours) == len(theirs) == 23_570
    assert (ours.index == theirs.index).all()
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[col].to_numpy(), theirs[col].to_numpy())
    np.testing.assert_allclose(ours["monetary_value"], theirs["monetary_value"], rtol=1e-12)


def test_calibration_cutoff_in_weeks_of_days(cdnow):
    cutoff = pd.Timestamp("1997-09-30")
    ours = btyd_summary(cdnow, cutoff, freq="D", time_unit="W")
    daily = summary_data_from_transaction_data(
        cdnow, "customer_id", "timestamp", "revenue", observation_period_end=cutoff, freq="D"
    ).sort_index()
    np.testing.assert_array_equal(ours["frequency"], daily["frequency"])
    np.testing.assert_allclose(ours["T"], daily["T"] / 7, rtol=1e-15)
    np.testing.assert_allclose(ours["recency"], daily["recency"] / 7, rtol=1e-15)


def test_returns_and_later_rows_are_ignored():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-06", "2024-02-01"]),
            "revenue": [10.0, 20.0, -20.0, 99.0],
            "is_return": [False, False, True, False],
        }
    )
    s = btyd_summary(tx, "2024-01-10")
    assert s.loc[1].tolist() == [1.0, 4.0, 9.0, 20.0]
