"""Backtest metrics, the result object and the lift / calibration plots."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vipml.modeling.backtest import (
    BASELINES,
    METRICS,
    RANK_AVERAGE,
    BacktestResult,
    apply_isotonic,
    calibration_table,
    discovery_table,
    evaluate,
    fit_isotonic,
    lift_table,
    rank_average_score,
    score_metrics,
    top_share_precision,
)
from vipml.plots import figure_to_png
from vipml.plots.classifier import calibration_curve, lift_chart


def test_top_decile_precision_shares_ties_in_proportion():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    assert top_share_precision(y, np.arange(10.0)[::-1]) == 1.0
    # four customers tie for the single top-decile place; one of them is positive
    tied = np.array([5, 5, 1, 5, 5, 0, 0, 0, 0, 0], dtype=float)
    assert top_share_precision(y, tied) == pytest.approx(0.25)
    assert top_share_precision(y, np.zeros(10)) == pytest.approx(0.2)


def test_metrics_of_a_perfect_and_a_useless_score():
    rng = np.random.default_rng(0)
    y = rng.random(1000) < 0.2
    perfect = score_metrics(y, y.astype(float), y.astype(float))
    assert perfect["roc_auc"] == 1.0 and perfect["average_precision"] == 1.0
    assert perfect["precision_top_decile"] == 1.0
    assert perfect["lift_top_decile"] == pytest.approx(1 / y.mean())
    assert perfect["brier"] == 0.0
    flat = score_metrics(y, np.zeros(1000))
    assert flat["roc_auc"] == 0.5 and np.isnan(flat["brier"])
    assert flat["lift_top_decile"] == pytest.approx(1.0)


def test_lift_and_calibration_tables():
    rng = np.random.default_rng(1)
    p = rng.random(2000)
    y = rng.random(2000) < p
    lift = lift_table(y, p)
    assert len(lift) == 10 and lift["customers"].sum() == 2000
    assert lift["lift"].iloc[0] > 1.7 > 0.3 > lift["lift"].iloc[-1]
    assert lift["cumulative_capture"].iloc[-1] == 1.0
    cal = calibration_table(y, p)
    assert np.abs(cal["predicted"] - cal["observed"]).max() < 0.08


def test_isotonic_map_is_monotone_and_clipped():
    mapping = fit_isotonic(np.array([1.0, 2, 3, 4]), np.array([0, 0, 1, 1]))
    out = apply_isotonic(mapping, np.array([-5.0, 1.5, 3.5, 99]))
    assert out.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert json.loads(json.dumps(mapping)) == mapping


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    rng = np.random.default_rng(2)
    n = 3000
    truth = rng.random(n)
    pred = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "p_future_vip": truth + rng.normal(0, 0.1, n),
            "spend_12m": truth + rng.normal(0, 0.5, n),
            "expected_value": truth + rng.normal(0, 0.3, n),
            "p_churn": 1 - truth + rng.normal(0, 0.1, n),
            "days_since_last": 1 - truth + rng.normal(0, 0.4, n),
            "p_alive": truth + rng.normal(0, 0.6, n),
            "p_no_purchase": 1 - truth + rng.normal(0, 0.5, n),
            "churn_eligible": rng.random(n) < 0.9,
        }
    )
    pred["future_vip"] = truth > 0.9
    pred["churn"] = pred["churn_eligible"] & (truth < 0.6)
    pred["p_future_vip"] = pred["p_future_vip"].clip(0, 1)
    pred["p_churn"] = pred["p_churn"].clip(0, 1)
    return BacktestResult(evaluate(pred), pred, pd.Timestamp("2024-06-30"), "26W", {"x": 1})


def test_evaluate_table_and_verdict(result):
    table = result.table
    expected = [("future_vip", "lightgbm")] + [("future_vip", b) for b in BASELINES["future_vip"]]
    expected += [("future_vip", RANK_AVERAGE), ("churn", "lightgbm")]
    expected += [("churn", b) for b in BASELINES["churn"]] + [("churn", RANK_AVERAGE)]
    assert list(table.index) == expected
    assert list(table.columns) == [*METRICS, "customers", "positives"]
    # churn is judged on eligible customers only
    eligible = int(result.predictions["churn_eligible"].sum())
    assert (table.loc["churn", "customers"] == eligible).all()
    assert result.beats_baselines() == {"future_vip": True, "churn": True}
    worse = result.table.copy()
    worse.loc[("churn", "lightgbm"), "average_precision"] = 0.1
    assert BacktestResult(worse, result.predictions, result.cutoff, "26W").beats_baselines() == {
        "future_vip": True, "churn": False}


def test_metrics_dict_flattens_to_the_promote_metric_name(result):
    metrics = result.metrics()
    assert metrics["future_vip"]["average_precision"] == pytest.approx(
        result.table.loc[("future_vip", "lightgbm"), "average_precision"]
    )
    assert set(metrics["churn"]["baselines"]) == {*BASELINES["churn"], RANK_AVERAGE}
    data = json.loads(result.to_json())
    assert data["cutoff"] == "2024-06-30" and data["horizon"] == "26W"
    assert data["beats_baselines"] == {"future_vip": True, "churn": True}
    # Brier of an uncalibrated baseline is NaN -> null in JSON
    assert data["metrics"]["future_vip"]["baselines"]["spend_12m"]["brier"] is None
    assert "lightgbm" in result.format_table()


def test_plots_render(result):
    for fig in (lift_chart(result), calibration_curve(result)):
        assert len(fig.axes) == 2
        assert figure_to_png(fig).startswith(b"\x89PNG")
    labels = [t.get_text() for t in lift_chart(result).axes[0].get_legend().get_texts()]
    assert labels == ["spend_12m", "btyd_expected_value", "LightGBM"]


def test_rank_average_is_the_mean_of_the_two_rules_percentile_ranks():
    """future VIP: spend ranks 1..4, expected value ranks 2,1,4,3 -> mean rank / 4; a missing
    value ranks last; churn averages days since last and P(no purchase), not P(alive)."""
    frame = pd.DataFrame({
        "spend_12m": [10.0, 20.0, 30.0, 40.0],
        "expected_value": [2.0, 1.0, 4.0, 3.0],
        "days_since_last": [5.0, 50.0, 500.0, np.nan],
        "p_no_purchase": [0.1, 0.3, 0.2, 0.9],
        "p_alive": [0.0, 0.0, 0.0, 0.0],
    })
    assert rank_average_score(frame, "future_vip").tolist() == [0.375, 0.375, 0.875, 0.875]
    # days: NaN lowest -> ranks 2,3,4,1; p_no_purchase ranks 1,3,2,4
    assert rank_average_score(frame, "churn").tolist() == [0.375, 0.75, 0.75, 0.625]


def test_rank_average_row_sits_between_or_near_its_rules(result):
    table = result.table
    for target, rules in (("future_vip", ["spend_12m", "btyd_expected_value"]),
                          ("churn", ["days_since_last", "btyd_p_no_purchase"])):
        row = table.loc[(target, RANK_AVERAGE)]
        for metric in ("roc_auc", "average_precision"):
            low = min(table.loc[(target, r), metric] for r in rules)
            high = max(table.loc[(target, r), metric] for r in rules)
            assert low - 0.05 <= row[metric] <= high + 0.05, (target, metric)


def test_discovery_counts_only_the_customers_not_vips_now(result):
    pred = result.predictions.assign(vip_now=np.arange(len(result.predictions)) % 4 == 0)
    table = discovery_table(pred)
    others = pred.loc[~pred["vip_now"]]
    assert list(table.index.get_level_values("score")) == [
        "lightgbm", *BASELINES["future_vip"], RANK_AVERAGE]
    assert (table["customers"] == len(others)).all()
    assert (table["positives"] == int(others["future_vip"].sum())).all()
    with_discovery = BacktestResult(result.table, pred, result.cutoff, "26W", discovery=table)
    data = json.loads(with_discovery.to_json())
    found = data["metrics"]["future_vip"]["discovery"]
    assert set(found) == {"lightgbm", *BASELINES["future_vip"], RANK_AVERAGE}
    assert found["lightgbm"]["customers"] == len(others)
    assert "discovery (customers not VIPs at the cutoff)" in with_discovery.format_table()
