"""Purchase and spend models: the published CDNOW tables, lifetimes' formulas, compression,
convergence and serialisation."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from vipml.data.datasets import load_cdnow
from vipml.errors import (
    ConfigError,
    ConvergenceError,
    ModelFormatError,
    NotFittedError,
    SchemaError,
)
from vipml.features.rfm import btyd_summary
from vipml.modeling.btyd import (
    PURCHASE_MODELS,
    BetaGeoModel,
    BtydWarning,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    make_purchase_model,
    model_from_dict,
    optimise,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import (
        BetaGeoFitter,
        GammaGammaFitter,
        ModifiedBetaGeoFitter,
        ParetoNBDFitter,
    )

LIFETIMES = {
    "bgnbd": BetaGeoFitter,
    "pareto_nbd": ParetoNBDFitter,
    "mbgnbd": ModifiedBetaGeoFitter,
}


def sig3(value: float) -> float:
    """``value`` rounded to three significant figures."""
    return float(f"{value:.3g}")


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    """CDNOW sample, calibration ending 1997-09-30, purchases per day, time in weeks."""
    return btyd_summary(load_cdnow(sample=True), "1997-09-30", freq="D", time_unit="W")


@pytest.fixture(scope="module")
def fitted(summary) -> dict[str, object]:
    models = {name: make_purchase_model(name).fit(summary) for name in PURCHASE_MODELS}
    models["gamma_gamma"] = GammaGammaModel().fit(summary)
    return models


def lifetimes_twin(model):
    """A lifetimes fitter carrying our parameters (its formulas, our numbers)."""
    twin = LIFETIMES[model.name]()
    twin.params_ = pd.Series(model.params_)
    return twin


# -- the published tables (Fader, Hardie & Lee 2005), reproduced by running the code -----------


def test_bgnbd_reproduces_the_paper(fitted, summary):
    model = fitted["bgnbd"]
    assert len(summary) == 2357
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert {k: sig3(v) for k, v in model.params_.items()} == {
        k: sig3(v) for k, v in published.items()
    }
    assert round(model.log_likelihood_, 1) == -9582.4
    assert model.penalizer_ == 0.0


def test_pareto_nbd_reproduces_the_paper(fitted):
    model = fitted["pareto_nbd"]
    published = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    assert {k: sig3(v) for k, v in model.params_.items()} == {
        k: sig3(v) for k, v in published.items()
    }
    assert round(model.log_likelihood_, 1) == -9595.0


def test_gamma_gamma_reproduces_the_paper(fitted):
    model = fitted["gamma_gamma"]
    assert model.n_customers_ == 946
    assert {k: sig3(v) for k, v in model.params_.items()} == {"p": 6.25, "q": 3.74, "gamma": 15.4}
    assert round(model.params_["gamma"], 2) == 15.44


def test_mbgnbd_and_gamma_gamma_agree_with_lifetimes_fits(fitted, summary):
    theirs = ModifiedBetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    for name, value in theirs.params_.items():
        assert fitted["mbgnbd"].params_[name] == pytest.approx(value, rel=1e-4)
    repeat = summary[summary["frequency"] > 0]
    gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    ours = fitted["gamma_gamma"].params_
    assert [ours["p"], ours["q"], ours["gamma"]] == pytest.approx(gg.params_.tolist(), rel=1e-4)


# -- predictions equal lifetimes' formulas --------------------------------------------------


@pytest.mark.parametrize("name", PURCHASE_MODELS)
def test_predictions_equal_lifetimes(fitted, summary, name):
    model = fitted[name]
    twin = lifetimes_twin(model)
    x, rec, T = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    for t in (0.5, 39.0, 260.0):
        ours = model.expected_purchases(summary, t)
        theirs = twin.conditional_expected_number_of_purchases_up_to_time(t, x, rec, T)
        np.testing.assert_allclose(ours.to_numpy(), theirs, rtol=1e-10)
        assert ours.index.equals(summary.index) and ours.name == "expected_purchases"
    np.testing.assert_allclose(
        model.p_alive(summary).to_numpy(), twin.conditional_probability_alive(x, rec, T), atol=1e-12
    )
    t = np.array([1.0, 10.0, 78.0])
    np.testing.assert_allclose(
        model.expected_purchases_new(t), twin.expected_number_of_purchases_up_to_time(t), rtol=1e-10
    )


def test_pareto_p_no_purchase_equals_lifetimes_conditional_pmf(fitted, summary):
    model = fitted["pareto_nbd"]
    twin = lifetimes_twin(model)
    some = summary.iloc[::9]
    for t in (2.0, 39.0):
        ours = model.p_no_purchase(some, t).to_numpy()
        theirs = [
            twin.conditional_probability_of_n_purchases_up_to_time(0, t, x, r, T)
            for x, r, T in zip(some["frequency"], some["recency"], some["T"], strict=True)
        ]
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd"])
def test_p_no_purchase_of_a_new_customer_equals_lifetimes_pmf(fitted, name):
    """A customer just acquired (x = recency = T = 0): P(N(t) = 0) of lifetimes."""
    model = fitted[name]
    twin = lifetimes_twin(model)
    new = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [0.0]})
    for t in (1.0, 13.0, 52.0):
        expected = twin.probability_of_n_purchases_up_to_time(t, 0)
        assert model.p_no_purchase(new, t).iloc[0] == pytest.approx(expected, rel=1e-12)


def _monte_carlo(name, params, x, tx, T, t, n=400_000, seed=0):
    """P(alive) and P(no purchase in t | history) by importance sampling from the prior."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    if name == "pareto_nbd":
        mu = rng.gamma(params["s"], 1 / params["beta"], n)
        base = x * np.log(lam)
        alive = np.exp(base - (lam + mu) * T)
        dead = np.exp(base) * mu / (lam + mu) * (np.exp(-(lam + mu) * tx) - np.exp(-(lam + mu) * T))
        silent = mu / (lam + mu) + lam / (lam + mu) * np.exp(-(lam + mu) * t)
    else:
        p = rng.beta(params["a"], params["b"], n)
        k = 1 if name == "mbgnbd" else 0
        alive = (1 - p) ** (x + k) * lam**x * np.exp(-lam * T)
        if name == "bgnbd" and x == 0:
            dead = np.zeros(n)
        else:
            dead = p * (1 - p) ** (x + k - 1) * lam**x * np.exp(-lam * tx)
        silent = np.exp(-lam * t)
    total = (alive + dead).sum()
    return alive.sum() / total, (dead + alive * silent).sum() / total


@pytest.mark.parametrize("name", PURCHASE_MODELS)
def test_p_no_purchase_matches_monte_carlo(fitted, name):
    """The closed forms against a numerical integration over the posterior."""
    model = fitted[name]
    histories = pd.DataFrame(
        {"frequency": [0.0, 1.0, 2.0, 4.0], "recency": [0.0, 3.0, 20.0, 35.0], "T": 38.0}
    )
    for t in (4.0, 39.0):
        p_alive = model.p_alive(histories).to_numpy()
        p_none = model.p_no_purchase(histories, t).to_numpy()
        for i, row in enumerate(histories.itertuples()):
            alive, none = _monte_carlo(name, model.params_, row.frequency, row.recency, row.T, t)
            assert p_alive[i] == pytest.approx(alive, abs=0.01)
            assert p_none[i] == pytest.approx(none, abs=0.01)


def test_p_no_purchase_behaves(fitted, summary):
    for name in PURCHASE_MODELS:
        model = fitted[name]
        alive = model.p_alive(summary).to_numpy()
        np.testing.assert_allclose(model.p_no_purchase(summary, 0.0), 1.0)
        previous = np.ones(len(summary))
        for t in (1.0, 10.0, 100.0, 1e5):
            now = model.p_no_purchase(summary, t).to_numpy()
            assert (now <= previous + 1e-12).all()
            assert (now >= 1 - alive - 1e-12).all()
            previous = now
        # for BG/NBD the one-time buyers are "alive", yet most will not buy in 39 weeks
        if name == "bgnbd":
            once = summary["frequency"].to_numpy() == 0
            silent = model.p_no_purchase(summary, 39.0).to_numpy()
            assert (alive[once] == 1).all() and (silent[once] > 0.8).all()


def test_horizon_per_customer_equals_one_horizon_at_a_time(fitted, summary):
    model = fitted["pareto_nbd"]
    t = np.where(summary["frequency"].to_numpy() > 2, 10.0, 39.0)
    both = model.expected_purchases(summary, t)
    for value in (10.0, 39.0):
        chosen = t == value
        one = model.expected_purchases(summary[chosen], value)
        np.testing.assert_allclose(both[chosen].to_numpy(), one.to_numpy(), rtol=1e-13)
        silent = model.p_no_purchase(summary, t)[chosen]
        np.testing.assert_allclose(silent, model.p_no_purchase(summary[chosen], value), rtol=1e-13)
    aligned = pd.Series(t, index=summary.index)[::-1]  # a Series is aligned on the index
    np.testing.assert_allclose(model.expected_purchases(summary, aligned), both, rtol=1e-13)


# -- compression --------------------------------------------------------------------------


@pytest.mark.parametrize("name", PURCHASE_MODELS)
def test_compressed_fit_equals_uncompressed(fitted, summary, name):
    compressed = fitted[name]
    plain = make_purchase_model(name, compress=False).fit(summary)
    assert compressed.n_unique_ == 1016 < plain.n_unique_ == 2357
    for key, value in plain.params_.items():
        assert compressed.params_[key] == pytest.approx(value, rel=1e-6)
    assert compressed.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-12)


def test_gamma_gamma_compressed_equals_uncompressed(fitted, summary):
    plain = GammaGammaModel(compress=False).fit(summary)
    for key, value in plain.params_.items():
        assert fitted["gamma_gamma"].params_[key] == pytest.approx(value, rel=1e-6)


@pytest.fixture(scope="module")
def simulated():
    from vipml.data.simulate import simulate

    sim = simulate(60_000, seed=3)
    return sim, btyd_summary(sim.transactions, sim.params["end"], freq="D", time_unit="W")


def test_warm_started_fit_on_many_histories_equals_plain_fit(simulated, monkeypatch):
    """Above 40,000 rows the fit starts from a sample: same optimum, compressed or not."""
    sim, summary = simulated
    compressed = BetaGeoModel().fit(summary)
    plain = BetaGeoModel(compress=False).fit(summary)
    assert plain.n_unique_ == 60_000 > 40_000
    for key, value in plain.params_.items():
        assert compressed.params_[key] == pytest.approx(value, rel=1e-6)
    # and it recovers the simulation's truth
    for key, value in sim.params["bgnbd"].items():
        assert compressed.params_[key] == pytest.approx(value, rel=0.15)
    # Gamma-Gamma sees only the ~31,000 repeat customers: lower the threshold to warm-start it
    monkeypatch.setattr(optimise, "WARM_START_ROWS", 10_000)
    gg = GammaGammaModel().fit(summary)
    gg_plain = GammaGammaModel(compress=False).fit(summary)
    assert gg.n_unique_ > 10_000
    for key, value in gg_plain.params_.items():
        assert gg.params_[key] == pytest.approx(value, rel=1e-6)


# -- convergence ----------------------------------------------------------------------------


def _no_dropout(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Poisson buyers who never leave: BG/NBD's dropout parameter a runs to 0."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(2.0, 1 / 4.0, n)
    T = rng.uniform(20, 52, n)
    x = rng.poisson(lam * T).astype(float)
    rec = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
    return pd.DataFrame({"frequency": x, "recency": rec, "T": T})


def test_runaway_fit_is_retried_with_a_penalizer_and_warns():
    data = _no_dropout()
    with pytest.warns(BtydWarning, match=r"BG/NBD: fit on 2,000 customers needed penalizer 0\.001"):
        model = BetaGeoModel().fit(data)
    assert model.penalizer_ == 0.001
    assert all(1e-6 < v < 1e6 for v in model.params_.values())
    assert (model.p_alive(data) > 0.9).mean() > 0.9  # nobody leaves


def test_convergence_error_names_customers_and_penalizers():
    with pytest.raises(
        ConvergenceError,
        match=r"on 2,000 customers \(2,000 distinct histories\) with penalizers 0:",
    ):
        BetaGeoModel(penalizers=(0.0,)).fit(_no_dropout())
    nobody = pd.DataFrame({"frequency": 0.0, "recency": 0.0, "T": np.arange(1.0, 301.0)})
    with pytest.raises(ConvergenceError, match=r"300 customers: none made a repeat purchase"):
        ParetoNBDModel().fit(nobody)
    with pytest.raises(ConvergenceError, match=r"Gamma-Gamma cannot be fitted on 0 customers"):
        GammaGammaModel().fit(nobody.assign(monetary_value=0.0))
    with pytest.raises(ConfigError, match="at least one penalizer"):
        BetaGeoModel(penalizers=()).fit(_no_dropout())


# -- input checks ---------------------------------------------------------------------------


def test_bad_summaries_are_rejected_with_counts_and_ids(summary):
    with pytest.raises(SchemaError, match=r"missing column T \(found: frequency, recency\)"):
        BetaGeoModel().fit(summary[["frequency", "recency"]])
    bad = summary.copy()
    bad.loc[[5, 7], "recency"] = 99.0
    with pytest.raises(
        SchemaError, match=r"recency > T for 2 of 2,357 customers \(customer_id 5, 7\)"
    ):
        BetaGeoModel().fit(bad)
    bad = summary.copy()
    bad.loc[3, "frequency"] = np.nan
    bad.loc[4, "frequency"] = 1.5
    with pytest.raises(SchemaError, match=r"frequency is missing, infinite or negative for 1 of"):
        BetaGeoModel().fit(bad)
    with pytest.raises(SchemaError, match=r"the summary has no customers"):
        BetaGeoModel().fit(summary.iloc[:0])


def test_unfitted_models_refuse_to_predict(summary):
    with pytest.raises(NotFittedError, match="call fit"):
        BetaGeoModel().p_alive(summary)
    with pytest.raises(NotFittedError, match="call fit"):
        GammaGammaModel().expected_spend(summary)
    with pytest.raises(ConfigError, match="'nbd' is not one of 'bgnbd', 'pareto_nbd', 'mbgnbd'"):
        make_purchase_model("nbd")


def test_predictions_are_clipped_never_nan(fitted, summary):
    model = ModifiedBetaGeoModel.from_dict({**fitted["mbgnbd"].to_dict()})
    model.params_ = {**model.params_, "a": 1.0}  # E[N] divides by a - 1: the math breaks down
    with pytest.warns(BtydWarning, match=r"expected_purchases: 2,357 of 2,357 values"):
        values = model.expected_purchases(summary, 10.0)
    assert np.isfinite(values).all() and (values >= 0).all()


# -- serialisation --------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*PURCHASE_MODELS, "gamma_gamma"])
def test_to_dict_round_trips_through_json(fitted, summary, name):
    model = fitted[name]
    loaded = model_from_dict(json.loads(json.dumps(model.to_dict())))
    assert type(loaded) is type(model)
    assert loaded.params_ == model.params_
    assert loaded.log_likelihood_ == model.log_likelihood_
    if name == "gamma_gamma":
        pd.testing.assert_series_equal(
            loaded.expected_spend(summary), model.expected_spend(summary)
        )
    else:
        pd.testing.assert_series_equal(
            loaded.expected_purchases(summary, 39), model.expected_purchases(summary, 39)
        )


def test_damaged_dicts_are_refused(fitted):
    good = fitted["bgnbd"].to_dict()
    with pytest.raises(ModelFormatError, match=r"missing parameter b \(expected r, alpha, a, b\)"):
        BetaGeoModel.from_dict({**good, "params": {"r": 1, "alpha": 1, "a": 1}})
    with pytest.raises(ModelFormatError, match=r"parameter a=-1\.0 must be a positive number"):
        BetaGeoModel.from_dict({**good, "params": {**good["params"], "a": -1}})
    with pytest.raises(ModelFormatError, match=r"the saved model is 'bgnbd', not 'pareto_nbd'"):
        ParetoNBDModel.from_dict(good)
    with pytest.raises(ModelFormatError, match="format_version 99"):
        BetaGeoModel.from_dict({**good, "format_version": 99})
    with pytest.raises(ModelFormatError, match="unknown BTYD model 'nbd'"):
        model_from_dict({**good, "model": "nbd"})
    gg = fitted["gamma_gamma"].to_dict()
    with pytest.raises(ModelFormatError, match="q must be > 1"):
        GammaGammaModel.from_dict({**gg, "params": {**gg["params"], "q": 0.5}})
    assert math.isfinite(BetaGeoModel.from_dict(good).log_likelihood_)


def test_bgnbd_expected_purchases_when_a_plus_b_is_below_one():
    # Fitted on a real retail log (Online Retail II): b < 1, so for customers without a repeat
    # purchase a + b + x - 1 < 0 and 2F1 < 0. lifetimes returns NaN there; the expectation is
    # the closed form itself, checked against a simulation of the BG/NBD process.
    params = {"r": 0.7327, "alpha": 9.3137, "a": 0.005714, "b": 0.82846}
    model = BetaGeoModel.from_dict(
        {"model": "bgnbd", "format_version": 1, "params": params, "n_customers": 1}
    )
    summary = pd.DataFrame({"frequency": [0.0, 0.0, 2.0], "recency": [0.0, 0.0, 5.0],
                            "T": [15.857, 40.0, 20.0]})
    got = model.expected_purchases(summary, 13.0).to_numpy()
    assert np.isfinite(got).all() and (got > 0).all()
    rng = np.random.default_rng(0)
    n = 200_000
    rate = rng.gamma(params["r"], 1 / (params["alpha"] + 15.857), n)
    drop = rng.beta(params["a"], params["b"], n)
    count, clock, alive = np.zeros(n), np.zeros(n), np.ones(n, dtype=bool)
    while alive.any():
        clock = clock + rng.exponential(1 / rate)
        bought = alive & (clock <= 13.0)
        count += bought
        alive = bought & (rng.random(n) > drop)
    assert got[0] == pytest.approx(count.mean(), rel=0.02)
    assert got[1] < got[0]  # a longer silence, a lower rate


@pytest.mark.parametrize("compress", [True, False])
def test_weighted_distinct_histories_fit_like_the_rows_repeated(fitted, summary, compress):
    """Issue 19: ``fit(distinct, weights=counts)`` is the fit on every customer (what the Spark
    path sends the driver, instead of expanding the counts)."""
    from vipml.errors import InvalidArgumentError
    from vipml.modeling.btyd import LifetimeValueModel

    columns = ["frequency", "recency", "T", "monetary_value"]
    distinct = summary[columns].value_counts().rename("customers").reset_index()
    counts = distinct["customers"].to_numpy()
    assert len(distinct) < len(summary) and counts.sum() == len(summary)
    for name in PURCHASE_MODELS:
        weighted = make_purchase_model(name, compress=compress).fit(distinct, weights=counts)
        assert weighted.n_customers_ == len(summary)
        for key, value in fitted[name].params_.items():
            assert weighted.params_[key] == pytest.approx(value, rel=1e-6), (name, key)
        assert weighted.log_likelihood_ == pytest.approx(fitted[name].log_likelihood_, rel=1e-9)
    gg = GammaGammaModel(compress=compress).fit(distinct, weights=counts)
    assert gg.n_customers_ == fitted["gamma_gamma"].n_customers_
    for key, value in fitted["gamma_gamma"].params_.items():
        assert gg.params_[key] == pytest.approx(value, rel=1e-6), key
    both = LifetimeValueModel("bgnbd").fit(distinct, weights=counts)
    assert both.purchase_model_.params_ == pytest.approx(fitted["bgnbd"].params_, rel=1e-6)
    # a customer count must be a whole number >= 0, one per row
    with pytest.raises(InvalidArgumentError, match="one whole number >= 0 per summary row"):
        GammaGammaModel().fit(distinct, weights=np.full(len(distinct), 0.5))
    with pytest.raises(InvalidArgumentError, match="1 value"):
        make_purchase_model("bgnbd").fit(distinct, weights=[3])
