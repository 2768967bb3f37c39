"""Lifetime value (revenue and profit CLV), model selection on a holdout and the report."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from vipml.btyd_report import compare_models, fit_report
from vipml.data.datasets import load_cdnow
from vipml.errors import ConfigError, ModelFormatError, NotFittedError
from vipml.features import calibration_holdout
from vipml.features.rfm import btyd_summary
from vipml.modeling.btyd import BtydWarning, LifetimeValueModel

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter

COLUMNS = ["expected_purchases", "p_alive", "p_no_purchase", "expected_spend", "clv", "clv_profit"]
LIFETIMES_MONTH_WEEKS = 4.345  # lifetimes' month when T is in weeks


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return load_cdnow(sample=True)


@pytest.fixture(scope="module")
def summary(tx) -> pd.DataFrame:
    return btyd_summary(tx, "1997-09-30", freq="D", time_unit="W")


@pytest.fixture(scope="module")
def ltv(summary) -> LifetimeValueModel:
    return LifetimeValueModel().fit(summary)


def _lifetimes_clv(bgf, ggf, summary, months, freq="W", scale=1.0):
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    return ggf.customer_lifetime_value(
        bgf,
        summary["frequency"],
        summary["recency"] * scale,
        summary["T"] * scale,
        summary["monetary_value"],
        time=months,
        discount_rate=0.01,
        freq=freq,
    )


def _twins(model: LifetimeValueModel, alpha_scale: float = 1.0):
    bgf = BetaGeoFitter()
    params = dict(model.purchase_model_.params_)
    params["alpha"] *= alpha_scale
    bgf.params_ = pd.Series(params)
    ggf = GammaGammaFitter()
    gg = model.gamma_gamma_.params_
    ggf.params_ = pd.Series({"p": gg["p"], "q": gg["q"], "v": gg["gamma"]})
    return bgf, ggf


def test_revenue_clv_equals_lifetimes_customer_lifetime_value(summary):
    ours = LifetimeValueModel(days_per_month=7 * LIFETIMES_MONTH_WEEKS).fit(summary)
    clv = ours.predict(summary, horizon_weeks=12 * LIFETIMES_MONTH_WEEKS)["clv"]
    # lifetimes' own fits and CLV: equal up to the fits' tolerance
    bgf = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    theirs = _lifetimes_clv(bgf, ggf, summary, 12)
    np.testing.assert_allclose(clv.to_numpy(), theirs.to_numpy(), rtol=1e-4)
    # lifetimes' formula with our parameters: equal to rounding
    theirs = _lifetimes_clv(*_twins(ours), summary, 12)
    np.testing.assert_allclose(clv.to_numpy(), theirs.to_numpy(), rtol=1e-10)
    assert clv.index.equals(summary.index)


def test_a_month_of_30_4375_days_equals_lifetimes_in_months(ltv, summary):
    """Time rescaled to months of 30.4375 days, lifetimes' freq='M' discounts every unit."""
    weeks_to_months = 7 / 30.4375
    ours = ltv.predict(summary, horizon_weeks=12 / weeks_to_months)["clv"]
    theirs = _lifetimes_clv(
        *_twins(ltv, alpha_scale=weeks_to_months), summary, 12, freq="M", scale=weeks_to_months
    )
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-10)


def test_predict_columns_are_complete_and_sane(ltv, summary):
    out = ltv.predict(summary, horizon_weeks=52)
    assert list(out.columns) == COLUMNS
    assert out.index.equals(summary.index)
    assert np.isfinite(out.to_numpy()).all() and (out.to_numpy() >= 0).all()
    assert out["p_alive"].max() <= 1 and out["p_no_purchase"].max() <= 1
    np.testing.assert_allclose(
        out["expected_purchases"], ltv.purchase_model_.expected_purchases(summary, 52), rtol=1e-12
    )
    np.testing.assert_allclose(out["p_alive"], ltv.purchase_model_.p_alive(summary), rtol=1e-12)
    np.testing.assert_allclose(
        out["expected_spend"], ltv.gamma_gamma_.expected_spend(summary), rtol=1e-12
    )
    # the more and the later a customer bought, the more valuable
    assert out["clv"].corr(summary["frequency"]) > 0.5


def test_without_discount_clv_is_expected_purchases_times_spend(summary):
    model = LifetimeValueModel(discount_rate_monthly=0.0).fit(summary)
    for weeks in (13.0, 26.1, 52.0):  # whole and partial months
        out = model.predict(summary, horizon_weeks=weeks)
        np.testing.assert_allclose(
            out["clv"], out["expected_purchases"] * out["expected_spend"], rtol=1e-10
        )


def test_discounting_by_month_with_a_partial_last_month(ltv, summary):
    month_weeks = 30.4375 / 7
    d = {m: ltv.discounted_purchases(summary, m * month_weeks) for m in (1, 1.5, 2)}
    assert (d[1] < d[1.5]).all() and (d[1.5] < d[2]).all()
    # the half month is discounted at its end, (1.01) ** 1.5
    e = {m: ltv.purchase_model_.expected_purchases(summary, m * month_weeks) for m in (1, 1.5)}
    np.testing.assert_allclose(d[1.5] - d[1], (e[1.5] - e[1]) / 1.01**1.5, rtol=1e-10)
    out = ltv.predict(summary, horizon_weeks=0.0)
    assert (out["clv"] == 0).all() and (out["expected_purchases"] == 0).all()
    assert (out["p_no_purchase"] == 1).all()


def test_profit_clv_formula_with_rates_per_customer(ltv, summary):
    rng = np.random.default_rng(1)
    n = len(summary)
    margin = pd.Series(rng.uniform(0.2, 0.6, n), index=summary.index)
    returns = pd.Series(rng.uniform(0.0, 0.3, n), index=summary.index)
    support = pd.Series(rng.uniform(0.0, 0.5, n), index=summary.index)
    shuffled = rng.permutation(n)  # Series are aligned on the summary's index
    out = ltv.predict(
        summary,
        39,
        margin_rate=margin.iloc[shuffled],
        return_rate=returns.iloc[shuffled],
        support_cost_rate=support.iloc[shuffled],
    )
    d = ltv.discounted_purchases(summary, 39)
    np.testing.assert_allclose(out["clv"], d * out["expected_spend"], rtol=1e-12)
    expected = d * (out["expected_spend"] * margin * (1 - returns) - support)
    np.testing.assert_allclose(out["clv_profit"], expected.clip(lower=0), rtol=1e-12)
    # scalar rates, and the default margin when none is given
    plain = ltv.predict(summary, 39, margin_rate=0.25)
    np.testing.assert_allclose(plain["clv_profit"], 0.25 * plain["clv"], rtol=1e-12)
    default = ltv.predict(summary, 39)
    np.testing.assert_allclose(default["clv_profit"], 0.3 * default["clv"], rtol=1e-12)


def test_never_nan_inf_or_negative_and_warns_with_counts(ltv, summary):
    weird = summary.copy()
    weird.loc[weird.index[weird["frequency"] > 0][:3], "monetary_value"] = -20.0  # net refunds
    support = pd.Series(0.0, index=summary.index)
    support.iloc[:10] = 1e6  # support costs far above any margin
    margin = pd.Series(0.3, index=summary.index)
    margin.iloc[10:12] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = ltv.predict(weird, 52, margin_rate=margin, return_rate=1.5, support_cost_rate=support)
    messages = [str(w.message) for w in caught if issubclass(w.category, BtydWarning)]
    assert any("monetary_value is negative for 3 of 2,357 customers" in m for m in messages)
    assert "margin_rate: 2 missing (set to 0.3) of 2,357 customers" in messages
    assert "return_rate: 2,357 outside [0, 1] (clipped) of 2,357 customers" in messages
    assert any("clv_profit: 10 of 2,357 customers cost more" in m for m in messages)
    values = out.to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    assert (out["clv_profit"] == 0).all()  # return rate clipped to 1: nothing is kept


def test_days_and_weeks_give_the_same_values(tx):
    weeks = btyd_summary(tx, "1997-09-30", freq="D", time_unit="W")
    days = btyd_summary(tx, "1997-09-30", freq="D", time_unit="D")
    by_week = LifetimeValueModel(time_unit="W").fit(weeks).predict(weeks, 52)
    by_day = LifetimeValueModel(time_unit="D").fit(days).predict(days, 52)
    pd.testing.assert_frame_equal(by_week, by_day, rtol=1e-5)


def test_days_against_weeks_is_flagged(ltv, tx, summary):
    days = btyd_summary(tx, "1997-09-30", freq="D", time_unit="D")
    with pytest.warns(BtydWarning, match=r"T runs to 272 here but to 38.8571 .* same time unit"):
        ltv.predict(days, 52)
    with pytest.warns(BtydWarning, match="same time unit"):
        ltv.purchase_model_.p_alive(days)
    loaded = LifetimeValueModel.from_dict(json.loads(json.dumps(ltv.to_dict())))
    with pytest.warns(BtydWarning, match="same time unit"):
        loaded.predict(days, 52)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ltv.predict(btyd_summary(tx, "1998-06-30", freq="D", time_unit="W"), 52)  # later cutoff


def test_round_trip_through_json(ltv, summary):
    loaded = LifetimeValueModel.from_dict(json.loads(json.dumps(ltv.to_dict())))
    pd.testing.assert_frame_equal(loaded.predict(summary, 26), ltv.predict(summary, 26))
    good = ltv.to_dict()
    with pytest.raises(ModelFormatError, match="missing key 'gamma_gamma'"):
        LifetimeValueModel.from_dict({k: v for k, v in good.items() if k != "gamma_gamma"})
    with pytest.raises(ModelFormatError, match="'purchase_model' holds a Gamma-Gamma model"):
        LifetimeValueModel.from_dict({**good, "purchase_model": good["gamma_gamma"]})
    with pytest.raises(ModelFormatError, match="time_unit 'M' is not one of"):
        LifetimeValueModel.from_dict({**good, "time_unit": "M"})


def test_settings_and_fitting_are_checked(summary):
    with pytest.raises(NotFittedError, match="call fit"):
        LifetimeValueModel().predict(summary, 52)
    with pytest.raises(ConfigError, match="time_unit 'M' is not one of 'W', 'D'"):
        LifetimeValueModel(time_unit="M").fit(summary)
    with pytest.raises(ConfigError, match="'nbd' is not one of"):
        LifetimeValueModel(purchase_model="nbd").fit(summary)


@pytest.mark.parametrize("name", ["pareto_nbd", "mbgnbd"])
def test_other_purchase_models_give_clv(summary, name):
    model = LifetimeValueModel(purchase_model=name, discount_rate_monthly=0.0).fit(summary)
    out = model.predict(summary, 52)
    assert model.purchase_model_.name == name
    np.testing.assert_allclose(
        out["clv"], out["expected_purchases"] * out["expected_spend"], rtol=1e-10
    )


# -- model selection on a holdout -------------------------------------------------------------


@pytest.fixture(scope="module")
def cal_holdout(tx) -> pd.DataFrame:
    return calibration_holdout(tx, "1997-09-30", pd.Timedelta(days=273), features="btyd")


def test_compare_models_on_the_cdnow_holdout(cal_holdout):
    result = compare_models(cal_holdout)
    table = result.table
    assert list(table.index) == ["bgnbd", "pareto_nbd", "mbgnbd"]
    assert (table["actual_purchases"] == cal_holdout["frequency_holdout"].sum()).all()
    assert table["actual_purchases"].iloc[0] == 1882  # weeks 40-78 of the paper
    for name, model in result.models.items():
        predicted = model.expected_purchases(cal_holdout, 39.0)
        assert table.at[name, "predicted_purchases"] == pytest.approx(predicted.sum())
        assert table.at[name, "mae"] == pytest.approx(
            (predicted - cal_holdout["frequency_holdout"]).abs().mean()
        )
    assert result.best == table["mae"].idxmin() == "pareto_nbd"
    assert table["best"].sum() == 1 and table.at[result.best, "best"]
    assert (table["aggregate_error"].abs() < 0.2).all()
    assert (table["correlation"] > 0.6).all()
    assert round(table.at["bgnbd", "log_likelihood"], 1) == -9582.4


def test_fit_report_is_json_and_matches_the_paper(tx):
    report = fit_report(tx, "1997-09-30", "1998-06-30")
    text = json.dumps(report, allow_nan=False)
    assert list(json.loads(text))[:3] == ["models", "gamma_gamma", "holdout"]
    bg = report["models"]["bgnbd"]
    assert {k: round(v, 3) for k, v in bg["params"].items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert report["gamma_gamma"]["customers"] == 946
    assert [row["model"] for row in report["holdout"]] == ["bgnbd", "pareto_nbd", "mbgnbd"]
    assert report["best"] == "pareto_nbd" and report["holdout_weeks"] == 39.0
    no_holdout = fit_report(tx, "1997-09-30")
    assert no_holdout["holdout"] == [] and no_holdout["best"] is None
    assert no_holdout["models"]["pareto_nbd"]["params"] == pytest.approx(
        report["models"]["pareto_nbd"]["params"], rel=1e-9
    )
