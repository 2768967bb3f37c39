"""calibration_holdout: equal to lifetimes on CDNOW, true to the simulator's future, leak-free."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from vipml.config import config_from_dict
from vipml.data.datasets import load_cdnow
from vipml.data.simulate import simulate
from vipml.errors import ConfigError
from vipml.features import (
    BTYD_COLUMNS,
    FEATURE_COLUMNS,
    HOLDOUT_COLUMNS,
    build_features,
    calibration_holdout,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes.utils import calibration_and_holdout_data

SHARED = {
    "frequency_cal": "frequency",
    "recency_cal": "recency",
    "T_cal": "T",
    "monetary_value_cal": "monetary_value",
    "frequency_holdout": "frequency_holdout",
    "monetary_value_holdout": "monetary_value_holdout",
    "duration_holdout": "duration_holdout",
}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow()


@pytest.mark.parametrize("freq", ["D", "W"])
def test_equals_lifetimes_calibration_and_holdout_on_cdnow(cdnow, freq):
    cal_end, obs_end = pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = calibration_and_holdout_data(
            cdnow,
            "customer_id",
            "timestamp",
            cal_end,
            obs_end,
            freq=freq,
            monetary_value_col="revenue",
        ).sort_index()
    cfg = config_from_dict({"btyd": {"freq": freq, "time_unit": freq}})
    for features in ("all", "btyd"):
        ours = calibration_holdout(cdnow, cal_end, obs_end - cal_end, config=cfg, features=features)
        assert len(ours) == len(theirs) == 23_570
        assert (ours.index == theirs.index).all()
        for their_name, our_name in SHARED.items():
            np.testing.assert_allclose(
                ours[our_name].to_numpy(),
                theirs[their_name].to_numpy(),
                rtol=1e-12,
                err_msg=our_name,
            )
    assert ours["frequency_holdout"].sum() > 5_000  # the comparison is not vacuous


def test_default_units_are_days_counted_in_weeks(cdnow):
    out = calibration_holdout(cdnow, "1997-09-30", "39W")
    assert (out["duration_holdout"] == 39.0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        daily = calibration_and_holdout_data(
            cdnow,
            "customer_id",
            "timestamp",
            "1997-09-30",
            "1998-06-30",
            freq="D",
            monetary_value_col="revenue",
        ).sort_index()
    later = pd.Timestamp("1997-09-30") + pd.Timedelta(weeks=39)
    assert later == pd.Timestamp("1998-06-30")
    np.testing.assert_array_equal(out["frequency_holdout"], daily["frequency_holdout"])
    np.testing.assert_allclose(out["T"], daily["T_cal"] / 7)


def test_columns_and_feature_block(cdnow):
    out = calibration_holdout(cdnow, "1997-09-30", "26W")
    assert tuple(out.columns) == FEATURE_COLUMNS + HOLDOUT_COLUMNS
    pd.testing.assert_frame_equal(out[list(FEATURE_COLUMNS)], build_features(cdnow, "1997-09-30"))
    btyd = calibration_holdout(cdnow, "1997-09-30", "26W", features="btyd")
    assert tuple(btyd.columns) == BTYD_COLUMNS + HOLDOUT_COLUMNS
    pd.testing.assert_frame_equal(btyd, out[list(btyd.columns)])
    assert out["holdout_purchases"].dtype == np.int64
    assert np.isfinite(out.to_numpy(dtype=float)).all()


def test_outcomes_equal_the_simulators_future():
    sim = simulate(4_000, seed=21)
    tx = pd.concat([sim.transactions, sim.future_transactions], ignore_index=True)
    cutoff = pd.Timestamp(sim.params["end"]) - pd.Timedelta(days=1)  # `end` is a midnight
    out = calibration_holdout(
        tx, cutoff, pd.Timedelta(days=sim.params["horizon_days"]), events=sim.events
    )
    truth = sim.truth.set_index("customer_id").loc[out.index]
    np.testing.assert_array_equal(out["holdout_purchases"], truth["future_purchases"])
    np.testing.assert_allclose(out["holdout_revenue"], truth["future_revenue"], atol=1e-9)
    # the simulation's future events are not in `events`: add their support cost back
    np.testing.assert_allclose(
        out["holdout_profit"], truth["future_profit"] + truth["future_support_cost"], atol=1e-9
    )
    assert (out["holdout_purchases"] > 0).sum() > 300
    assert (out["frequency_holdout"] <= out["holdout_purchases"]).all()


def test_holdout_support_cost_and_missing_cost():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-06", "2024-01-20"]),
            "revenue": [10.0, 100.0, -40.0, 50.0],
            "cost": [5.0, 60.0, -24.0, np.nan],
            "is_return": [False, False, True, False],
        }
    )
    ev = pd.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-07", "2024-02-07"]),
            "kind": ["support_ticket"] * 3,
            "cost": [1.0, 2.0, 4.0],
        }
    )
    out = calibration_holdout(tx, "2024-01-01", "3W", events=ev).loc[1]
    assert out["holdout_purchases"] == 2 and out["frequency_holdout"] == 2
    assert out["holdout_revenue"] == 110  # 100 - 40 + 50
    assert out["holdout_profit"] == pytest.approx((100 - 60) - (40 - 24) + 50 * 0.3 - 2.0)
    assert out["monetary_value_holdout"] == 75  # mean of the purchase rows
    assert out["support_cost"] == 1.0  # the calibration side sees only the first ticket


def test_horizon_is_parsed_and_checked(cdnow):
    a = calibration_holdout(cdnow, "1997-09-30", "26W", features="btyd")
    b = calibration_holdout(cdnow, "1997-09-30", pd.Timedelta(days=182), features="btyd")
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ConfigError, match="horizon"):
        calibration_holdout(cdnow, "1997-09-30", "soon")
    with pytest.raises(ConfigError, match="positive"):
        calibration_holdout(cdnow, "1997-09-30", pd.Timedelta(days=-3))
    with pytest.raises(ConfigError, match="'all', 'btyd'"):
        calibration_holdout(cdnow, "1997-09-30", "26W", features="rfm")  # type: ignore[arg-type]
