"""Every vipml estimator follows scikit-learn: parameters from ``__init__``, ``set_params``,
and ``sklearn.base.clone`` gives an unfitted copy with the same parameters."""

from __future__ import annotations

import inspect

import pytest
from sklearn.base import clone

from vipml.data.datasets import load_cdnow
from vipml.errors import InvalidArgumentError
from vipml.features.rfm import btyd_summary
from vipml.modeling.btyd import (
    BetaGeoModel,
    GammaGammaModel,
    LifetimeValueModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from vipml.modeling.classifier import VipClassifier

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
