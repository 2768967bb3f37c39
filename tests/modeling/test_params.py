"""Every vipml estimator follows scikit-learn: parameters from ``__init__``, ``set_params``,
and ``sklearn.base.clone`` gives an unfitted copy with the same parameters."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pandas as pd
import pytest
from sklearn.base import clone

import vipml.modeling
from vipml.data.datasets import load_cdnow
from vipml.errors import InvalidArgumentError, NotFittedError
from vipml.features.rfm import btyd_summary
from vipml.modeling.btyd import (
    BetaGeoModel,
    GammaGammaModel,
    LifetimeValueModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from vipml.modeling.classifier import VipClassifier
from vipml.modeling.params import Params, check_is_fitted

ESTIMATORS = [
    VipClassifier,
    GammaGammaModel,
    LifetimeValueModel,
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_parameters_come_from_the_signature_and_clone_works(cls):
    names = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
    estimator = cls()
    assert list(estimator.get_params()) == names
    copy = clone(estimator)
    assert type(copy) is cls and copy is not estimator
    assert copy.get_params() == estimator.get_params()
    first = names[0]
    assert estimator.set_params(**{first: estimator.get_params()[first]}) is estimator
    with pytest.raises(InvalidArgumentError, match="has no parameter 'nope'"):
        estimator.set_params(nope=1)


def test_a_clone_of_a_fitted_model_is_unfitted():
    summary = btyd_summary(load_cdnow(sample=True), "1997-09-30")
    model = LifetimeValueModel(discount_rate_monthly=0.02).fit(summary)
    copy = clone(model)
    assert copy.get_params()["discount_rate_monthly"] == 0.02
    assert not hasattr(copy, "purchase_model_") and not hasattr(copy, "gamma_gamma_")
    assert copy.fit(summary).predict(summary, 26.0)["clv"].equals(
        model.predict(summary, 26.0)["clv"]
    )


def _estimators_defined_in_modeling() -> set[type]:
    """Every class of vipml.modeling with a ``fit`` method (walking every submodule)."""
    found = set()
    for info in pkgutil.walk_packages(vipml.modeling.__path__, "vipml.modeling."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and obj.__module__ == info.name
                and callable(getattr(obj, "fit", None))
            ):
                found.add(obj)
    return found


def test_every_estimator_is_tested_and_uses_params():
    found = _estimators_defined_in_modeling()
    # the purchase models' common base is abstract (no likelihood): its subclasses are tested
    concrete = {cls for cls in found if cls.__name__ != "PurchaseModel"}
    assert concrete == set(ESTIMATORS)
    assert all(issubclass(cls, Params) for cls in found)


SUMMARY = pd.DataFrame(
    {"frequency": [0, 2], "recency": [0.0, 5.0], "T": [9.0, 8.0], "monetary_value": [0, 9.0]}
)
UNFITTED_CALLS = {
    VipClassifier: lambda m: m.predict_proba(pd.DataFrame({"a": [1.0]})),
    GammaGammaModel: lambda m: m.expected_spend(SUMMARY),
    LifetimeValueModel: lambda m: m.predict(SUMMARY, 4.0),
    BetaGeoModel: lambda m: m.p_alive(SUMMARY),
    ModifiedBetaGeoModel: lambda m: m.expected_purchases(SUMMARY, 4.0),
    ParetoNBDModel: lambda m: m.to_dict(),
}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_an_unfitted_estimator_raises_the_one_not_fitted_error(cls):
    with pytest.raises(NotFittedError, match=f"this {cls.__name__} is not fitted yet: call fit"):
        UNFITTED_CALLS[cls](cls())


def test_check_is_fitted_names_the_estimator_and_the_fix():
    model = BetaGeoModel()
    with pytest.raises(NotFittedError, match="this BetaGeoModel is not fitted yet: load it"):
        check_is_fitted(model, ["params_"], how="load it")
    model.params_ = {}
    check_is_fitted(model, "params_")
