"""VipClassifier (LightGBM from a linear prior, calibrated) and the reasons module."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vipml.errors import ModelFormatError, NotFittedError, VipmlError
from vipml.model_columns import model_feature_names
from vipml.modeling.classifier import VipClassifier, derived_columns
from vipml.wording import PHRASES, join_reasons, phrase, top_reasons


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "days_since_last": rng.integers(0, 365, n).astype(float),
            "spend_12m": rng.gamma(2.0, 50.0, n),
            "trend_3m": rng.gamma(1.0, 1.0, n),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    logit = -2 + X["spend_12m"] / 60 + 0.8 * (X["region"] == "north") - X["days_since_last"] / 200
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return X, y.to_numpy()


@pytest.fixture(scope="module")
def data():
    X, y = _data(3000, 0)
    return X[:2000], y[:2000], X[2000:], y[2000:]


def _clf(**kw) -> VipClassifier:
    params = dict(n_estimators=60, num_threads=1, base_terms=(("spend_12m", "log1p"),))
    params.update(kw)
    return VipClassifier(**params)


def test_fit_predict_calibrated_and_informative(data):
    X, y, Xv, yv = data
    clf = _clf().fit(X, y, Xv, yv)
    p = clf.predict_proba(Xv)
    assert p.shape == (len(Xv),) and np.isfinite(p).all()
    assert ((p > 0) & (p < 1)).all()
    assert abs(p.mean() - yv.mean()) < 0.02  # Platt on the validation window
    assert clf.validation_["roc_auc"] > 0.75
    assert clf.categories_ == {"region": ["east", "north", "south"]}
    assert clf.tree_features_ == list(X.columns)


def test_same_seed_same_scores_other_seed_other_trees(data):
    X, y, Xv, yv = data
    p1 = _clf(seed=7).fit(X, y, Xv, yv).predict_proba(Xv)
    p2 = _clf(seed=7).fit(X, y, Xv, yv).predict_proba(Xv)
    p3 = _clf(seed=8).fit(X, y, Xv, yv).predict_proba(Xv)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, p3)


def test_contributions_sum_to_the_raw_score_and_credit_the_prior(data):
    X, y, Xv, yv = data
    clf = _clf(exclude_from_trees=("days_since_last",),
               base_terms=(("days_since_last", "log1p"), ("spend_12m", "log1p"))).fit(X, y, Xv, yv)
    contrib = clf.contributions(Xv)
    assert list(contrib.columns) == [*X.columns, "bias"]
    np.testing.assert_allclose(contrib.sum(axis=1), clf.decision_function(Xv), atol=1e-9)
    assert "days_since_last" not in clf.tree_features_
    # the excluded feature still explains scores through the prior
    assert contrib["days_since_last"].abs().max() > 0.1
    assert np.corrcoef(contrib["days_since_last"], -np.log1p(Xv["days_since_last"]))[0, 1] > 0.99


@pytest.mark.parametrize("method", ["isotonic", "none"])
def test_other_calibrations(data, method):
    X, y, Xv, yv = data
    clf = _clf(calibration=method).fit(X, y, Xv, yv)
    p = clf.predict_proba(Xv)
    assert ((p >= 0) & (p <= 1)).all()
    raw = clf.decision_function(Xv)
    order = np.argsort(raw)
    assert (np.diff(p[order]) >= -1e-12).all()  # monotone in the raw score
    assert clf.calibrator_["method"] == method


def test_class_weight_none_and_balanced_rank_alike(data):
    X, y, Xv, yv = data
    balanced = _clf().fit(X, y, Xv, yv)
    plain = _clf(class_weight="none").fit(X, y, Xv, yv)
    assert abs(balanced.validation_["roc_auc"] - plain.validation_["roc_auc"]) < 0.03


def test_round_trip_through_plain_data(data):
    import json

    X, y, Xv, yv = data
    clf = _clf().fit(X, y, Xv, yv)
    state = json.loads(json.dumps(clf.to_dict()))
    again = VipClassifier.from_dict(state, clf.booster_text())
    np.testing.assert_array_equal(again.predict_proba(Xv), clf.predict_proba(Xv))
    pd.testing.assert_frame_equal(again.contributions(Xv), clf.contributions(Xv))


def test_unseen_category_and_missing_column(data):
    X, y, Xv, yv = data
    clf = _clf().fit(X, y, Xv, yv)
    odd = Xv.assign(region="atlantis")
    assert np.isfinite(clf.predict_proba(odd)).all()
    with pytest.raises(VipmlError, match=r"1 feature column\(s\) missing \(trend_3m\)"):
        clf.predict_proba(Xv.drop(columns="trend_3m"))


def test_errors(data):
    X, y, Xv, yv = data
    with pytest.raises(NotFittedError, match="not fitted yet"):
        _clf().predict_proba(Xv)
    with pytest.raises(VipmlError, match="the training rows .* hold only negative examples"):
        _clf().fit(X, np.zeros(len(X), bool), Xv, yv)
    with pytest.raises(VipmlError, match="calibration='platt' is not one of"):
        _clf(calibration="platt").fit(X, y, Xv, yv)
    clf = _clf().fit(X, y, Xv, yv)
    with pytest.raises(ModelFormatError, match="LightGBM text is damaged"):
        VipClassifier.from_dict(clf.to_dict(), "not a model")
    state = clf.to_dict() | {"tree_features": ["a", "b", "c", "d"]}
    with pytest.raises(ModelFormatError, match="other features"):
        VipClassifier.from_dict(state, clf.booster_text())


def test_feature_names_and_derived_ratios():
    names = model_feature_names(["region"])
    assert names[-1] == "region" and len(names) == len(set(names))
    f = pd.DataFrame({"days_since_last": [30.0, 0.0], "mean_days_between": [10.0, 0.0],
                      "tenure_days": [59.0, 0.0], "revenue_total": [120.0, 5.0],
                      "orders": [4.0, 1.0]})
    d = derived_columns(f)
    assert d["overdue_ratio"].tolist() == [3.0, 0.0]
    assert d["idle_share"].tolist() == [0.5, 0.0]
    assert d["order_rate_monthly"].iloc[0] == pytest.approx(4 / (59 / 30.4375))
    assert d["spend_rate_monthly"].iloc[1] == 5.0  # the first month counts in full


# ---------------------------------------------------------------------------------- reasons


def test_every_feature_has_a_phrase_that_quotes_its_value():
    names = model_feature_names()
    missing = [n for n in names if n not in PHRASES]
    assert missing == []
    assert phrase("spend_12m", 1234.5) == "spent 1,234 in the last 12 months"
    assert phrase("days_since_last", 1) == "last purchase 1 day ago"
    assert phrase("trend_3m", 4.2) == "ordered at 4.2× their 12-month rate in the last 3 months"
    assert phrase("margin_rate", 0.3, {"margin_assumed": 1}) == (
        "30% margin on their purchases (assumed: no cost data)"
    )
    assert phrase("frequency", 0) == "has bought only once so far"
    assert phrase("region", "north") == "region is north"
    assert phrase("p_alive", float("nan")) == "p alive is nan"


def test_top_reasons_takes_the_strongest_positive_drivers_only():
    values = pd.DataFrame({"spend_12m": [500.0, 10.0], "orders_3m": [3, 0],
                           "days_since_last": [4, 200], "aov_mean": [80.0, 5.0]}, index=["a", "b"])
    contrib = pd.DataFrame({"spend_12m": [0.9, -1.0], "orders_3m": [0.2, -0.1],
                            "days_since_last": [0.5, 0.3], "aov_mean": [-0.1, -0.2],
                            "bias": [5.0, 5.0]}, index=["a", "b"])
    reasons = top_reasons(contrib, values)
    assert reasons.loc["a"].tolist() == [
        "spent 500 in the last 12 months",
        "last purchase 4 days ago",
        "3 orders in the last 3 months",
    ]
    assert reasons.loc["b"].tolist() == ["last purchase 200 days ago", "", ""]
    joined = join_reasons(reasons)
    assert joined.loc["a"].count("; ") == 2 and joined.loc["b"] == "last purchase 200 days ago"


def test_tree_contributions_equal_lightgbm_pred_contrib():
    """contributions() uses vipml's pattern TreeSHAP: the same numbers as LightGBM's own."""
    import numpy as np
    import pandas as pd

    from vipml.modeling.classifier import VipClassifier

    rng = np.random.default_rng(3)
    n = 3000
    X = pd.DataFrame(
        {
            "days_since_last": rng.integers(0, 365, n).astype(float),
            "spend_12m": rng.gamma(2.0, 50.0, n),
            "trend_3m": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    y = rng.random(n) < 1 / (1 + np.exp(2 - X["spend_12m"] / 80))
    clf = VipClassifier(n_estimators=60, num_threads=1, base_terms=(("spend_12m", "log1p"),))
    clf.fit(X[:2000], y[:2000], X[2000:], y[2000:])
    ours = clf.contributions(X)
    trees = clf.booster_.predict(clf.tree_matrix(X), pred_contrib=True)
    prior = ours.copy()
    prior.loc[:, :] = 0.0
    base = clf.base_
    z = (clf._base_matrix(X, base["terms"]) - base["mean"]) / base["scale"]
    prior["spend_12m"] = z[:, 0] * base["coef"][0]
    prior["bias"] = base["intercept"]
    np.testing.assert_allclose(ours.to_numpy() - prior.to_numpy(), trees, rtol=1e-9, atol=1e-9)


def test_a_shared_tree_matrix_gives_the_same_scores_and_a_wrong_one_is_refused():
    rng = np.random.default_rng(5)
    n = 1500
    X = pd.DataFrame(
        {
            "spend_12m": rng.gamma(2.0, 50.0, n),
            "region": rng.choice(["north", "south", None], n),
        }
    )
    y = rng.random(n) < 1 / (1 + np.exp(2 - X["spend_12m"] / 80))
    clf = VipClassifier(n_estimators=30, num_threads=1)
    clf.fit(X[:1000], y[:1000], X[1000:], y[1000:])
    other = VipClassifier(n_estimators=10, num_threads=1)
    other.fit(X[:1000], ~y[:1000], X[1000:], ~y[1000:])
    assert other.tree_input_key() == clf.tree_input_key()
    matrix = other.tree_matrix(X)
    np.testing.assert_array_equal(clf.predict_proba(X, matrix), clf.predict_proba(X))
    pd.testing.assert_frame_equal(clf.contributions(X, matrix), clf.contributions(X))
    with pytest.raises(VipmlError, match="tree_matrix"):
        clf.predict_proba(X, matrix[:10])
