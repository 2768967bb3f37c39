"""Tests of the simulator: determinism, time windows, consistency, BG/NBD recovery, files."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from vipml.data.io import read_table
from vipml.data.simulate import CHANNELS, Simulation, save_simulation, simulate
from vipml.errors import ConfigError

FRAMES = ("transactions", "events", "customers", "truth", "future_transactions")


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(5_000, seed=7)


@pytest.fixture(scope="module")
def big() -> Simulation:
    return simulate(100_000, seed=11)


def test_same_seed_gives_identical_frames() -> None:
    one, two = simulate(2_000, seed=3), simulate(2_000, seed=3)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))
    assert one.params == two.params


def test_different_seed_gives_different_frames() -> None:
    one, two = simulate(2_000, seed=3), simulate(2_000, seed=4)
    assert not one.transactions.equals(two.transactions)
    assert not np.allclose(one.truth["lambda_"], two.truth["lambda_"])


def test_columns_and_dtypes(sim: Simulation) -> None:
    tx = sim.transactions
    assert list(tx.columns) == [
        "customer_id", "order_id", "timestamp", "revenue", "cost", "list_price", "quantity",
        "category", "is_return",
    ]
    assert tx["customer_id"].dtype == np.int64 and tx["order_id"].dtype == np.int64
    assert tx["timestamp"].dtype == "datetime64[ns]"
    for col in ("revenue", "cost", "list_price", "quantity"):
        assert tx[col].dtype == np.float64
    assert tx["is_return"].dtype == bool
    assert pd.api.types.is_string_dtype(tx["category"])
    assert set(sim.events["kind"]) == {"support_ticket", "referral", "review", "ugc"}
    assert list(sim.customers.columns) == [
        "customer_id", "acquisition_channel", "region", "signup_date",
    ]
    assert sim.truth["customer_id"].is_unique and len(sim.truth) == 5_000


def test_output_passes_the_data_contract(sim: Simulation) -> None:
    from vipml.data.schema import validate_customers, validate_events, validate_transactions

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a duplicate-row warning
        assert len(validate_transactions(sim.transactions)) == len(sim.transactions)
        assert len(validate_events(sim.events)) == len(sim.events)
        assert len(validate_customers(sim.customers)) == len(sim.customers)


def test_transactions_stay_inside_the_window(sim: Simulation) -> None:
    start, end = pd.Timestamp(sim.params["start"]), pd.Timestamp(sim.params["end"])
    horizon_end = end + pd.Timedelta(days=sim.params["horizon_days"])
    assert sim.transactions["timestamp"].between(start, end).all()
    assert sim.events["timestamp"].between(start, end).all()
    future = sim.future_transactions["timestamp"]
    assert len(future) > 0 and ((future > end) & (future <= horizon_end)).all()
    future_orders = sim.future_transactions.loc[~sim.future_transactions["is_return"]]
    assert not set(future_orders["order_id"]) & set(sim.transactions["order_id"])


def test_births_fall_in_the_acquisition_period() -> None:
    s = simulate(3_000, seed=2, acquisition_days=30)
    first = s.transactions.groupby("customer_id")["timestamp"].min()
    days = (first.dt.normalize() - pd.Timestamp("2023-01-01")).dt.days
    assert days.min() == 0 and days.max() == 30  # days [start, start + 30], both ends included
    signup = s.customers.set_index("customer_id")["signup_date"]
    assert (first.dt.normalize() == signup.loc[first.index]).all()


def test_ids_are_consistent_across_tables(sim: Simulation) -> None:
    ids = set(sim.customers["customer_id"])
    assert ids == set(sim.truth["customer_id"])
    assert set(sim.transactions["customer_id"]) == ids  # everyone buys at least once
    assert set(sim.events["customer_id"]) <= ids
    assert set(sim.future_transactions["customer_id"]) <= ids
    orders = pd.concat([sim.transactions, sim.future_transactions])
    purchases = orders[~orders["is_return"]]
    assert purchases["order_id"].is_unique
    returns = orders[orders["is_return"]]
    assert returns["order_id"].is_unique
    matched = returns.merge(purchases, on="order_id", suffixes=("", "_order"))
    assert len(matched) == len(returns)
    assert (matched["customer_id"] == matched["customer_id_order"]).all()
    assert (matched["timestamp"] > matched["timestamp_order"]).all()
    np.testing.assert_allclose(matched["revenue"], -matched["revenue_order"])
    np.testing.assert_allclose(matched["cost"], -matched["cost_order"])


def test_money_columns_follow_the_rules(sim: Simulation) -> None:
    orders = sim.transactions[~sim.transactions["is_return"]]
    returns = sim.transactions[sim.transactions["is_return"]]
    assert (orders["revenue"] > 0).all() and (returns["revenue"] < 0).all()
    assert (returns["cost"] <= 0).all()
    assert (orders["revenue"] <= orders["list_price"]).all()
    assert (orders["quantity"] >= 1).all()
    margin = {k: v["margin"] for k, v in sim.params["categories"].items()}
    expected = (orders["list_price"] * (1 - orders["category"].map(margin))).round(2)
    np.testing.assert_allclose(orders["cost"], expected, atol=0.011)
    # discount-only customers always buy 20-40% off
    flags = sim.truth.set_index("customer_id")["discount_only"]
    only = orders[orders["customer_id"].map(flags)]
    off = 1 - only["revenue"] / only["list_price"]
    assert off.between(0.195, 0.405).all()
    assert 0.10 < flags.mean() < 0.20


def test_truth_summarises_the_future(sim: Simulation) -> None:
    fut = sim.future_transactions
    truth = sim.truth.set_index("customer_id")
    counts = fut[~fut["is_return"]].groupby("customer_id").size()
    got = truth["future_purchases"]
    assert (got.loc[counts.index] == counts).all() and got.drop(counts.index).eq(0).all()
    net = fut.groupby("customer_id")["revenue"].sum().reindex(truth.index, fill_value=0.0)
    np.testing.assert_allclose(truth["future_revenue"], net, atol=1e-6)
    # customers who dropped out before the end never buy again
    dead = truth.index[~truth["alive_at_end"]]
    assert truth.loc[dead, "future_purchases"].eq(0).all()
    assert (truth.loc[dead, "dropout_time"] <= pd.Timestamp(sim.params["end"])).all()
    assert truth.loc[truth["alive_at_end"], "dropout_time"].isna().sum() > 0


def test_bgnbd_fit_recovers_true_parameters(big: Simulation) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter
        from lifetimes.utils import summary_data_from_transaction_data

    tx = big.transactions[~big.transactions["is_return"]]
    summary = summary_data_from_transaction_data(
        tx, "customer_id", "timestamp", observation_period_end=big.params["end"], freq="D"
    )
    summary["recency"] = summary["recency"] / 7.0
    summary["T"] = summary["T"] / 7.0
    triples = summary.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = BetaGeoFitter(penalizer_coef=0).fit(
            triples["frequency"], triples["recency"], triples["T"], weights=triples["n"]
        )
    true = big.params["bgnbd"]
    for name, value in true.items():
        assert fitter.params_[name] == pytest.approx(value, rel=0.15), (name, fitter.params_)


def test_channel_differences_are_real(big: Simulation) -> None:
    orders = big.transactions[~big.transactions["is_return"]].merge(
        big.customers, on="customer_id"
    )
    spend = orders.groupby("acquisition_channel")["revenue"].mean()
    factor = pd.Series({k: v["spend_factor"] for k, v in CHANNELS.items()})
    # referral > organic > email > paid_search > social > marketplace, as documented
    assert list(spend.sort_values().index) == list(factor.sort_values().index)
    ratio = spend["referral"] / spend["marketplace"]
    assert ratio == pytest.approx(factor["referral"] / factor["marketplace"], rel=0.15)
    discounted = (orders["revenue"] < orders["list_price"]).groupby(
        orders["acquisition_channel"]
    ).mean()
    assert discounted.idxmax() == "marketplace"
    profit = (orders["revenue"] - orders["cost"]).groupby(orders["acquisition_channel"]).mean()
    assert profit["referral"] > 3 * profit["marketplace"]
    # channel never touches purchasing: the mean purchase rate is the same across channels
    lam = big.truth["lambda_"].groupby(big.customers["acquisition_channel"]).mean()
    assert lam.max() / lam.min() < 1.3


def test_save_simulation_round_trips(tmp_path, sim: Simulation) -> None:
    paths = save_simulation(sim, tmp_path / "sim.parquet")
    assert paths["transactions"] == tmp_path / "sim.parquet"
    assert paths["events"] == tmp_path / "sim_events.parquet"
    assert paths["params"] == tmp_path / "sim_params.json"
    for name, frame in [
        ("transactions", sim.transactions),
        ("events", sim.events),
        ("customers", sim.customers),
        ("truth", sim.truth),
        ("future", sim.future_transactions),
    ]:
        back = read_table(paths[name])
        pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert json.loads(paths["params"].read_text())["bgnbd"] == sim.params["bgnbd"]


def test_save_simulation_as_csv(tmp_path) -> None:
    small = simulate(100, seed=0)
    paths = save_simulation(small, tmp_path / "out" / "sim.csv")
    assert sorted(p.name for p in paths.values()) == [
        "sim.csv", "sim_customers.csv", "sim_events.csv", "sim_future.csv", "sim_params.json",
        "sim_truth.csv",
    ]
    back = read_table(paths["transactions"])
    assert len(back) == len(small.transactions)
    assert (pd.to_datetime(back["timestamp"]) == small.transactions["timestamp"]).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_customers": 0}, "n_customers"),
        ({"r": -1.0}, "r=-1.0"),
        ({"end": "2022-01-01"}, "end must be after start"),
        ({"acquisition_days": 10_000}, "acquisition_days"),
    ],
)
def test_bad_arguments_raise(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        simulate(**kwargs)
