"""Parameter covariance of the BTYD fits: ``variance_matrix_`` and ``standard_errors_``
against lifetimes' (BG/NBD, MBG/NBD, Gamma-Gamma) and an independent numerical Hessian
(Pareto/NBD, whose lifetimes fitter has no standard errors)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from vipml.modeling.btyd import (
    BetaGeoModel,
    BtydWarning,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    purchase,
)
from vipml.modeling.btyd.optimise import variance_matrix

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    from lifetimes.datasets import (
        load_cdnow_summary,
        load_cdnow_summary_data_with_monetary_value,
    )


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """lifetimes' CDNOW summary: 2,357 customers, time in weeks."""
    return load_cdnow_summary(index_col=[0])


def _check_covariance(model) -> None:
    names = list(model.params_)
    vm = model.variance_matrix_
    assert list(vm.index) == names and list(vm.columns) == names
    assert np.allclose(vm.to_numpy(), vm.to_numpy().T, rtol=0, atol=0)
    assert np.linalg.eigvalsh(vm.to_numpy()).min() > 0
    se = model.standard_errors_
    assert list(se.index) == names
    assert np.allclose(se.to_numpy(), np.sqrt(np.diag(vm.to_numpy())), rtol=1e-15)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(BetaGeoModel, BetaGeoFitter), (ModifiedBetaGeoModel, ModifiedBetaGeoFitter)],
    ids=["bgnbd", "mbgnbd"],
)
def test_standard_errors_match_lifetimes(cdnow, ours, theirs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = theirs().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    model = ours().fit(cdnow)
    _check_covariance(model)
    expected = reference.standard_errors_.to_numpy()
    assert model.standard_errors_.to_numpy() == pytest.approx(expected, rel=1e-4)
    # lifetimes' off-diagonal terms scale by one parameter twice; the diagonal is comparable
    assert np.diag(model.variance_matrix_) == pytest.approx(
        np.diag(reference.variance_matrix_), rel=2e-4
    )


def test_gamma_gamma_standard_errors_match_lifetimes():
    data = load_cdnow_summary_data_with_monetary_value()
    data = data[data["frequency"] > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = GammaGammaFitter().fit(data["frequency"], data["monetary_value"])
    model = GammaGammaModel().fit(data)
    _check_covariance(model)
    expected = reference.standard_errors_.to_numpy()  # p, q, v (our gamma)
    assert model.standard_errors_.to_numpy() == pytest.approx(expected, rel=1e-4)


def test_pareto_covariance_is_the_inverse_numerical_hessian(cdnow):
    """Central differences of lifetimes' own Pareto/NBD log-likelihood in natural parameters."""
    model = ParetoNBDModel().fit(cdnow)
    _check_covariance(model)
    x, rec, T = (cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    weights = np.ones(len(x))

    def nll(theta: np.ndarray) -> float:  # total negative log-likelihood (weights' mean is 1)
        return float(ParetoNBDFitter._negative_log_likelihood(theta, x, rec, T, weights, 0.0))

    theta = np.array(list(model.params_.values()))
    h = 1e-3 * theta
    k = len(theta)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            hess[i, j] = (
                nll(theta + ei + ej) - nll(theta + ei - ej) - nll(theta - ei + ej)
                + nll(theta - ei - ej)
            ) / (4 * h[i] * h[j])
    expected = np.linalg.inv((hess + hess.T) / 2)
    assert np.sqrt(np.diag(expected)) == pytest.approx(model.standard_errors_.to_numpy(), rel=2e-3)
    assert model.variance_matrix_.to_numpy() == pytest.approx(
        expected, rel=5e-3, abs=1e-3 * np.sqrt(np.outer(np.diag(expected), np.diag(expected))).max()
    )


def test_a_singular_hessian_gives_nan_with_a_warning(cdnow, monkeypatch):
    with pytest.warns(BtydWarning, match="singular"):
        out = variance_matrix(np.zeros((2, 2)), 100, {"r": 1.0, "alpha": 2.0}, "BG/NBD")
    assert out.isna().all().all() and list(out.index) == ["r", "alpha"]
    monkeypatch.setattr(purchase, "log_param_hessian", lambda fun, z, analytic: np.ones((4, 4)))
    with pytest.warns(BtydWarning, match="BG/NBD: the Hessian"):
        model = BetaGeoModel().fit(cdnow)
    assert model.standard_errors_.isna().all()
    assert model.params_["r"] == pytest.approx(0.243, abs=1e-3)  # the fit itself is unchanged


def test_covariance_is_not_saved_and_not_required(cdnow):
    model = BetaGeoModel().fit(cdnow)
    loaded = BetaGeoModel.from_dict(model.to_dict())
    assert "variance_matrix" not in str(model.to_dict())
    assert not hasattr(loaded, "standard_errors_")
    assert loaded.p_alive(cdnow).equals(model.p_alive(cdnow))


def test_confidence_intervals_hold_the_estimate_and_agree_with_lifetimes(cdnow):
    """The 95% intervals are taken on the log scale: positive, around the estimate, and close
    to lifetimes' linear ``coef +- 1.96 se`` where the standard error is small."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    model = BetaGeoModel().fit(cdnow)
    ci = model.confidence_intervals_
    assert list(ci.columns) == ["lower", "upper"] and list(ci.index) == list(model.params_)
    theta = pd.Series(model.params_)
    assert (ci["lower"] > 0).all() and (ci["lower"] < theta).all() and (theta < ci["upper"]).all()
    # log-scale: the estimate is the geometric middle, and the width follows the error
    assert np.sqrt(ci["lower"] * ci["upper"]).to_numpy() == pytest.approx(theta.to_numpy())
    relative = model.standard_errors_ / theta
    summary = reference.summary
    for name in relative[relative < 0.1].index:  # r and alpha here (5% and 9%)
        assert ci.at[name, "lower"] == pytest.approx(summary.at[name, "lower 95% bound"], rel=0.02)
        assert ci.at[name, "upper"] == pytest.approx(summary.at[name, "upper 95% bound"], rel=0.02)
    assert len(relative[relative < 0.1]) >= 2
    gg = GammaGammaModel().fit(load_cdnow_summary_data_with_monetary_value().query("frequency > 0"))
    assert (gg.confidence_intervals_["lower"] < pd.Series(gg.params_)).all()
